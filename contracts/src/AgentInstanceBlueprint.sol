// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {AgentJobs} from "./AgentJobs.sol";
import {AgentInstanceViews} from "./AgentInstanceViews.sol";
import {AgentResultCodec} from "./AgentResultCodec.sol";

/// @title AgentInstanceBlueprint
/// @notice Blueprint service manager (BSM) for verifiable agent instances: every operator of a service
///         runs one sandbox; this contract records each operator's sidecar endpoint, attestation hash,
///         per-call result hashes and VES stream anchors, so a customer can compare N independent
///         results on chain.
/// @dev This contract holds the Tangle hooks. Storage layout and its mutators: `AgentInstanceState`;
///      views: `AgentInstanceViews`; input/output decoding helpers (the hooks' try/catch
///      self-calls): `AgentResultCodec`.
///
///      Tangle core calls `onJobResult` try-style and ignores reverts (DESIGN decision 2), so
///      `onJobResult` never reverts for a refused result: it records nothing and emits `ResultRejected`.
///      Outputs are decoded through an external self-call wrapped in try/catch, and only the canonical
///      encoding `abi.encode(<Result struct>)` (DESIGN decision 3) is accepted.
contract AgentInstanceBlueprint is AgentInstanceViews, AgentResultCodec {
    /// @dev The identity of one result submission (keeps the result paths below the stack limit).
    struct Call {
        uint64 serviceId;
        uint8 job;
        uint64 callId;
        address operator;
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Service lifecycle hooks
    // ═════════════════════════════════════════════════════════════════════════

    /// @notice Records the requested operators (deduplicated) for `requestId`.
    /// @dev Costs ~70k + ~24k gas per operator: Tangle core's 500k hook budget fits 16 operators.
    function onRequest(
        uint64 requestId,
        address requester,
        address[] calldata operators,
        bytes calldata,
        uint64,
        address,
        uint256
    ) external payable override onlyFromTangle {
        uint64 iid = _newInstance();
        Instance storage inst = _instances[iid];
        for (uint256 i = 0; i < operators.length; ++i) {
            _addMember(inst, operators[i]);
        }
        _requestInstance[requestId] = iid;
        emit ServiceRequestRecorded(requestId, requester, inst.memberCount);
    }

    /// @notice A rejected request can never activate: forget its operator set.
    function onReject(address, uint64 requestId) external override onlyFromTangle {
        delete _requestInstance[requestId];
    }

    /// @notice Moves the request's operators to `serviceId` and records owner and permitted callers.
    function onServiceInitialized(
        uint64,
        uint64 requestId,
        uint64 serviceId,
        address owner,
        address[] calldata callers,
        uint64
    ) external override onlyFromTangle {
        uint64 iid = _requestInstance[requestId];
        if (iid == 0) iid = _newInstance(); // defensive: request unknown (cannot happen via Tangle core)
        delete _requestInstance[requestId];
        _liveInstance[serviceId] = iid;
        Instance storage inst = _instances[iid];
        inst.owner = owner;
        for (uint256 i = 0; i < callers.length; ++i) {
            inst.callers.push(callers[i]);
        }
        emit ServiceInitialized(serviceId, requestId, owner, inst.memberCount);
    }

    /// @notice Clears the service's live state: operators, endpoints, counts. Result history stays
    ///         readable through `getJobResultHashes` / `getConsensus`.
    function onServiceTermination(uint64 serviceId, address owner) external override onlyFromTangle {
        uint64 iid = _liveInstance[serviceId];
        if (iid == 0) return;
        delete _liveInstance[serviceId];
        _terminatedInstance[serviceId] = iid;
        emit ServiceTerminated(serviceId, owner);
    }

    /// @notice Adds a dynamically joining operator to the service.
    function onOperatorJoined(uint64 serviceId, address operator, uint16) external override onlyFromTangle {
        uint64 iid = _liveInstance[serviceId];
        if (iid == 0) {
            // Activation was not recorded (its hook is best-effort on Tangle core): start tracking now.
            if (_terminatedInstance[serviceId] != 0) return;
            iid = _newInstance();
            _liveInstance[serviceId] = iid;
        }
        if (_addMember(_instances[iid], operator)) emit OperatorJoined(serviceId, operator);
    }

    /// @notice Removes a leaving operator and its sandbox endpoint.
    function onOperatorLeft(uint64 serviceId, address operator) external override onlyFromTangle {
        uint64 iid = _liveInstance[serviceId];
        if (iid == 0) return;
        Instance storage inst = _instances[iid];
        Operator storage op = inst.ops[operator];
        if (!op.member) return;
        if (op.provisioned) _clearEndpoint(inst, op);
        op.member = false;
        inst.memberCount -= 1;
        emit OperatorLeft(serviceId, operator);
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Jobs
    // ═════════════════════════════════════════════════════════════════════════

    /// @notice PROVISION, DEPROVISION, PROMPT and TASK need one result from every operator of the
    ///         service (DESIGN decision 1); the other jobs need one.
    function getRequiredResultCount(uint64 serviceId, uint8 job) external view override returns (uint32 required) {
        if (
            job == AgentJobs.PROVISION || job == AgentJobs.DEPROVISION || job == AgentJobs.PROMPT
                || job == AgentJobs.TASK
        ) {
            uint32 n = _instances[_liveInstance[serviceId]].memberCount;
            return n == 0 ? 1 : n;
        }
        return 1;
    }

    /// @notice Refuses (reverts) job calls this manager can tell are useless: unknown service or job,
    ///         any job but PROVISION while no operator is provisioned, and malformed or empty inputs.
    function onJobCall(uint64 serviceId, uint8 job, uint64, bytes calldata inputs)
        external
        payable
        override
        onlyFromTangle
    {
        uint64 iid = _liveInstance[serviceId];
        if (iid == 0) revert ServiceNotActive(serviceId);
        if (job >= AgentJobs.JOB_COUNT) revert UnknownJob(job);
        if (job != AgentJobs.PROVISION && _instances[iid].provisionedCount == 0) {
            revert NoProvisionedOperator(serviceId);
        }
        string memory invalidField;
        try this.validateJobInputs(job, inputs) returns (string memory field) {
            invalidField = field;
        } catch {
            revert MalformedJobInputs(job);
        }
        if (bytes(invalidField).length != 0) revert InvalidJobInput(job, invalidField);
    }

    /// @notice Records an operator's result. Never reverts for a bad result (Tangle core would ignore
    ///         the revert anyway): every refusal records nothing and emits `ResultRejected`.
    function onJobResult(uint64 serviceId, uint8 job, uint64 callId, address operator, bytes32, bytes calldata outputs)
        external
        payable
        override
        onlyFromTangle
    {
        Call memory c = Call(serviceId, job, callId, operator);
        uint64 iid = _liveInstance[serviceId];
        if (iid == 0) return _reject(c, RejectReason.ServiceNotActive);
        if (job >= AgentJobs.JOB_COUNT) return _reject(c, RejectReason.UnknownJob);
        Instance storage inst = _instances[iid];
        Operator storage op = inst.ops[operator];
        if (!op.member) return _reject(c, RejectReason.NotServiceOperator);
        if (job != AgentJobs.PROVISION && !op.provisioned) return _reject(c, RejectReason.NotProvisioned);
        mapping(uint256 => bytes32) storage slot = inst.results[callId];
        if (slot[op.ordinal] != bytes32(0)) return _reject(c, RejectReason.Duplicate);

        if (job == AgentJobs.PROVISION) {
            _recordProvision(c, inst, op, slot, outputs);
        } else {
            _recordResult(c, inst, op, slot, outputs);
        }
    }

    /// @dev PROVISION: store the endpoint and the attestation hash.
    function _recordProvision(
        Call memory c,
        Instance storage inst,
        Operator storage op,
        mapping(uint256 => bytes32) storage slot,
        bytes calldata outputs
    ) private {
        AgentJobs.ProvisionResult memory r;
        bytes32 h;
        try this.decodeProvisionResult(outputs) returns (AgentJobs.ProvisionResult memory decoded, bytes32 hash) {
            (r, h) = (decoded, hash);
        } catch {
            return _reject(c, RejectReason.MalformedOutput);
        }
        if (
            bytes(r.sandboxId).length == 0 || bytes(r.sidecarUrl).length == 0 || r.sealedAccess.length == 0
                || r.sidecarPublicKey == bytes32(0)
        ) {
            return _reject(c, RejectReason.InvalidProvision);
        }
        _storeEndpoint(inst, op, r);
        slot[op.ordinal] = h;
        emit OperatorResultSubmitted(c.serviceId, c.job, c.callId, c.operator, h);
        emit OperatorProvisioned(
            c.serviceId, c.operator, r.sandboxId, r.sidecarUrl, r.sshPort, r.sidecarPublicKey, op.attestationHash
        );
    }

    /// @dev Every job but PROVISION: record the hash; DEPROVISION clears the endpoint; EXEC and
    ///      SNAPSHOT anchor the VES head they carry.
    function _recordResult(
        Call memory c,
        Instance storage inst,
        Operator storage op,
        mapping(uint256 => bytes32) storage slot,
        bytes calldata outputs
    ) private {
        bytes32 resultHash;
        bool success;
        uint64 sequence;
        bytes32 stateRoot;
        try this.inspectResult(c.job, outputs) returns (bytes32 h, bool ok, uint64 seq, bytes32 root) {
            (resultHash, success, sequence, stateRoot) = (h, ok, seq, root);
        } catch {
            return _reject(c, RejectReason.MalformedOutput);
        }

        if (c.job == AgentJobs.DEPROVISION) {
            if (!success) return _reject(c, RejectReason.ReportedFailure);
            _clearEndpoint(inst, op);
            slot[op.ordinal] = resultHash;
            emit OperatorResultSubmitted(c.serviceId, c.job, c.callId, c.operator, resultHash);
            emit OperatorDeprovisioned(c.serviceId, c.operator);
            return;
        }

        // EXEC / SNAPSHOT carry the VES head; (0, 0) means the result carries none.
        bool anchor =
            (c.job == AgentJobs.EXEC || c.job == AgentJobs.SNAPSHOT) && (sequence != 0 || stateRoot != bytes32(0));
        if (anchor) {
            uint64 anchored = op.vesSequence;
            if (sequence < anchored) return _reject(c, RejectReason.StaleAnchor);
            if (sequence == anchored && stateRoot != op.vesStateRoot) return _reject(c, RejectReason.AnchorConflict);
            op.vesSequence = sequence;
            op.vesStateRoot = stateRoot;
        }
        slot[op.ordinal] = resultHash;
        emit OperatorResultSubmitted(c.serviceId, c.job, c.callId, c.operator, resultHash);
        if (anchor) emit StreamAnchored(c.serviceId, c.operator, c.callId, sequence, stateRoot);
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Internals
    // ═════════════════════════════════════════════════════════════════════════

    function _reject(Call memory c, RejectReason reason) private {
        emit ResultRejected(c.serviceId, c.job, c.callId, c.operator, reason);
    }
}
