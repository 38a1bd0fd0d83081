// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {TestBase, Cheats} from "./TestBase.sol";
import {AgentJobs} from "../../src/AgentJobs.sol";
import {AgentInstanceBlueprint} from "../../src/AgentInstanceBlueprint.sol";
import {IAgentInstanceBlueprint} from "../../src/interfaces/IAgentInstanceBlueprint.sol";

/// @dev Shared set-up for the BSM tests: a BSM bound to a stand-in Tangle core address, sample
///      requests/results, and helpers that drive the hooks the way Tangle core does.
abstract contract BsmFixture is TestBase {
    AgentInstanceBlueprint internal bsm;

    address internal constant TANGLE = address(0x7A11);
    address internal constant BP_OWNER = address(0xB0B);
    address internal constant CUSTOMER = address(0xC0FFEE);
    address internal constant STRANGER = address(0xBAD);
    uint64 internal constant BLUEPRINT_ID = 3;

    address internal op1 = vm.addr(0xA1);
    address internal op2 = vm.addr(0xA2);
    address internal op3 = vm.addr(0xA3);
    address internal op4 = vm.addr(0xA4);

    function _deployBound() internal returns (AgentInstanceBlueprint b) {
        b = new AgentInstanceBlueprint();
        vm.prank(TANGLE);
        b.onBlueprintCreated(BLUEPRINT_ID, BP_OWNER, TANGLE);
    }

    function _ops3() internal view returns (address[] memory ops) {
        ops = new address[](3);
        (ops[0], ops[1], ops[2]) = (op1, op2, op3);
    }

    function _one(address a) internal pure returns (address[] memory l) {
        l = new address[](1);
        l[0] = a;
    }

    // ── Lifecycle drivers (as Tangle core) ─────────────────────────────────────

    function _request(uint64 requestId, address[] memory operators) internal {
        vm.prank(TANGLE);
        bsm.onRequest(requestId, CUSTOMER, operators, "", 0, address(0), 0);
    }

    function _initialize(uint64 requestId, uint64 serviceId) internal {
        vm.prank(TANGLE);
        bsm.onServiceInitialized(BLUEPRINT_ID, requestId, serviceId, CUSTOMER, _one(CUSTOMER), 0);
    }

    /// @dev Request + activation of a service with `operators`.
    function _service(uint64 serviceId, address[] memory operators) internal {
        uint64 requestId = serviceId + 100;
        _request(requestId, operators);
        _initialize(requestId, serviceId);
    }

    function _join(uint64 serviceId, address op) internal {
        vm.prank(TANGLE);
        bsm.onOperatorJoined(serviceId, op, 10_000);
    }

    function _leave(uint64 serviceId, address op) internal {
        vm.prank(TANGLE);
        bsm.onOperatorLeft(serviceId, op);
    }

    function _terminate(uint64 serviceId) internal {
        vm.prank(TANGLE);
        bsm.onServiceTermination(serviceId, CUSTOMER);
    }

    function _jobCall(uint64 serviceId, uint8 job, uint64 callId, bytes memory inputs) internal {
        vm.prank(TANGLE);
        bsm.onJobCall(serviceId, job, callId, inputs);
    }

    function _result(uint64 serviceId, uint8 job, uint64 callId, address op, bytes memory outputs) internal {
        vm.prank(TANGLE);
        bsm.onJobResult(serviceId, job, callId, op, keccak256("inputs"), outputs);
    }

    /// @dev Submits a result and asserts it was refused with `reason` and that nothing was recorded
    ///      for (serviceId, callId).
    function _expectRejected(
        uint64 serviceId,
        uint8 job,
        uint64 callId,
        address op,
        bytes memory outputs,
        IAgentInstanceBlueprint.RejectReason reason
    ) internal {
        (address[] memory before,) = bsm.getJobResultHashes(serviceId, callId);
        vm.recordLogs();
        _result(serviceId, job, callId, op, outputs);
        Cheats.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "a refused result emits exactly one event");
        assertEq(logs[0].topics[0], IAgentInstanceBlueprint.ResultRejected.selector, "ResultRejected topic");
        assertEq(uint256(logs[0].topics[1]), serviceId, "ResultRejected.serviceId");
        assertEq(uint256(logs[0].topics[2]), callId, "ResultRejected.callId");
        assertEq(address(uint160(uint256(logs[0].topics[3]))), op, "ResultRejected.operator");
        (uint8 loggedJob, IAgentInstanceBlueprint.RejectReason loggedReason) =
            abi.decode(logs[0].data, (uint8, IAgentInstanceBlueprint.RejectReason));
        assertEq(loggedJob, job, "ResultRejected.job");
        assertEq(uint256(loggedReason), uint256(reason), "ResultRejected.reason");
        (address[] memory afterOps,) = bsm.getJobResultHashes(serviceId, callId);
        assertEq(afterOps.length, before.length, "a refused result records no hash");
    }

    /// @dev Counts recorded logs with `topic0` (call after `vm.recordLogs()`).
    function _countLogs(Cheats.Log[] memory logs, bytes32 topic0) internal pure returns (uint256 n) {
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics.length > 0 && logs[i].topics[0] == topic0) ++n;
        }
    }

    // ── Samples ────────────────────────────────────────────────────────────────

    function _provisionRequest() internal pure returns (AgentJobs.ProvisionRequest memory q) {
        q = AgentJobs.ProvisionRequest({
            cpuMillis: 1000,
            memoryMb: 2048,
            diskGb: 10,
            lifetimeSecs: 3600,
            idleTimeoutSecs: 600,
            image: "agent-sandbox:latest",
            sshPublicKey: "ssh-ed25519 AAAA customer",
            customerX25519PublicKey: bytes32(uint256(0x5C)),
            attestationNonce: bytes32(uint256(0x6D))
        });
    }

    function _provisionResult(address op) internal pure returns (AgentJobs.ProvisionResult memory r) {
        r = AgentJobs.ProvisionResult({
            sandboxId: string.concat("sbx-", _hex(op)),
            sidecarUrl: string.concat("http://127.0.0.1:4000/", _hex(op)),
            sshPort: 2222,
            attestation: abi.encodePacked("quote:", op),
            sealedAccess: abi.encodePacked("sealed:", op),
            sidecarPublicKey: keccak256(abi.encodePacked("key", op))
        });
    }

    function _provisionOut(address op) internal pure returns (bytes memory) {
        return abi.encode(_provisionResult(op));
    }

    function _promptOut(string memory response) internal pure returns (bytes memory) {
        return abi.encode(
            AgentJobs.PromptResult({success: true, response: response, transcriptDigest: keccak256(bytes(response))})
        );
    }

    function _taskOut(string memory text) internal pure returns (bytes memory) {
        return abi.encode(
            AgentJobs.TaskResult({
                success: true,
                finalText: text,
                transcriptDigest: keccak256(bytes(text)),
                outputHash: bytes32(uint256(7))
            })
        );
    }

    function _execOut(uint64 seq, bytes32 root) internal pure returns (bytes memory) {
        return
            abi.encode(
                AgentJobs.ExecResult({exitCode: 0, stdout: "ok", stderr: "", vesSequence: seq, vesStateRoot: root})
            );
    }

    function _snapshotOut(uint64 seq, bytes32 root) internal pure returns (bytes memory) {
        return abi.encode(
            AgentJobs.SnapshotResult({
                snapshotId: "snap-1",
                sha256: bytes32(uint256(0x5A)),
                sizeBytes: 1024,
                location: "file:///snap-1.tar",
                vesSequence: seq,
                vesStateRoot: root
            })
        );
    }

    function _deprovisionOut(bool ok) internal pure returns (bytes memory) {
        return abi.encode(AgentJobs.DeprovisionResult({success: ok}));
    }

    function _promptReq(string memory p) internal pure returns (AgentJobs.PromptRequest memory) {
        return
            AgentJobs.PromptRequest({prompt: p, systemPrompt: "", model: "m", maxTokens: 16, seed: 1, timeoutMs: 1000});
    }

    /// @dev A valid output of every job (index = job id) from `op`.
    function _validOutputs(address op) internal pure returns (bytes[8] memory outs) {
        outs[0] = _provisionOut(op);
        outs[1] = _execOut(1, bytes32(uint256(1)));
        outs[2] = _promptOut("answer");
        outs[3] = _taskOut("done");
        outs[4] = abi.encode(AgentJobs.SshProvisionResult({success: true, fingerprint: "SHA256:abc"}));
        outs[5] = abi.encode(AgentJobs.SshRevokeResult({success: true}));
        outs[6] = _snapshotOut(1, bytes32(uint256(1)));
        outs[7] = _deprovisionOut(true);
    }

    /// @dev Provisions every operator in `ops` for `serviceId` through PROVISION call `callId`.
    function _provisionAll(uint64 serviceId, uint64 callId, address[] memory ops) internal {
        _jobCall(serviceId, AgentJobs.PROVISION, callId, abi.encode(_provisionRequest()));
        for (uint256 i = 0; i < ops.length; ++i) {
            _result(serviceId, AgentJobs.PROVISION, callId, ops[i], _provisionOut(ops[i]));
        }
    }

    function _hex(address a) internal pure returns (string memory) {
        return vm.toString(a);
    }

    // ── byte helpers ─────────────────────────────────────────────────────────
    function _truncate(bytes memory b, uint256 cut) internal pure returns (bytes memory out) {
        out = new bytes(b.length - cut);
        for (uint256 i = 0; i < out.length; ++i) {
            out[i] = b[i];
        }
    }

    function _drop(bytes memory b, uint256 n) internal pure returns (bytes memory out) {
        out = new bytes(b.length - n);
        for (uint256 i = 0; i < out.length; ++i) {
            out[i] = b[i + n];
        }
    }
}
