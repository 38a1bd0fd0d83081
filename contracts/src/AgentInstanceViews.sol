// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {AgentJobs} from "./AgentJobs.sol";
import {AgentInstanceState} from "./AgentInstanceState.sol";
import {IAgentInstanceBlueprint} from "./interfaces/IAgentInstanceBlueprint.sol";

/// @title AgentInstanceViews
/// @notice The read side of the agent-instance BSM: live operator sets and endpoints, per-call result
///         history and consensus, job ids and pricing (all of `IAgentInstanceBlueprint`'s views).
/// @dev Live views read the service's live instance (empty after termination); the result-history
///      views fall back to the terminated instance.
abstract contract AgentInstanceViews is AgentInstanceState {
    /// @inheritdoc IAgentInstanceBlueprint
    function serviceOperators(uint64 serviceId) external view returns (address[] memory operators) {
        return _members(_instances[_liveInstance[serviceId]], false);
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function operatorCount(uint64 serviceId) external view returns (uint32 count) {
        return _instances[_liveInstance[serviceId]].memberCount;
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function provisionedCount(uint64 serviceId) external view returns (uint32 count) {
        return _instances[_liveInstance[serviceId]].provisionedCount;
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function isServiceOperator(uint64 serviceId, address operator) external view returns (bool) {
        return _instances[_liveInstance[serviceId]].ops[operator].member;
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function isProvisioned(uint64 serviceId, address operator) external view returns (bool) {
        return _instances[_liveInstance[serviceId]].ops[operator].provisioned;
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function isServiceActive(uint64 serviceId) external view returns (bool) {
        return _liveInstance[serviceId] != 0;
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function serviceOwner(uint64 serviceId) external view returns (address owner) {
        return _instances[_liveInstance[serviceId]].owner;
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function permittedCallers(uint64 serviceId) external view returns (address[] memory callers) {
        return _instances[_liveInstance[serviceId]].callers;
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function requestOperators(uint64 requestId) external view returns (address[] memory operators) {
        return _members(_instances[_requestInstance[requestId]], false);
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function getOperatorEndpoints(uint64 serviceId)
        external
        view
        returns (address[] memory operators, string[] memory sidecarUrls)
    {
        Instance storage inst = _instances[_liveInstance[serviceId]];
        operators = _members(inst, true);
        sidecarUrls = new string[](operators.length);
        for (uint256 i = 0; i < operators.length; ++i) {
            sidecarUrls[i] = inst.ops[operators[i]].sidecarUrl;
        }
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function getOperatorEndpoint(uint64 serviceId, address operator)
        external
        view
        returns (OperatorEndpoint memory endpoint)
    {
        Operator storage op = _instances[_liveInstance[serviceId]].ops[operator];
        endpoint = OperatorEndpoint({
            provisioned: op.provisioned,
            sandboxId: op.sandboxId,
            sidecarUrl: op.sidecarUrl,
            sshPort: op.sshPort,
            sidecarPublicKey: op.sidecarPublicKey,
            attestationHash: op.attestationHash
        });
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function getAttestationHash(uint64 serviceId, address operator) external view returns (bytes32 attestationHash) {
        return _instances[_liveInstance[serviceId]].ops[operator].attestationHash;
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function getStreamAnchor(uint64 serviceId, address operator)
        external
        view
        returns (uint64 sequence, bytes32 stateRoot)
    {
        Operator storage op = _instances[_liveInstance[serviceId]].ops[operator];
        return (op.vesSequence, op.vesStateRoot);
    }

    /// @inheritdoc IAgentInstanceBlueprint
    /// @dev Operators in ordinal (first-membership) order; works after termination too.
    function getJobResultHashes(uint64 serviceId, uint64 callId)
        external
        view
        returns (address[] memory operators, bytes32[] memory hashes)
    {
        Instance storage inst = _instances[_historyInstance(serviceId)];
        mapping(uint256 => bytes32) storage callResults = inst.results[callId];
        address[] memory roster = _roster(inst);
        uint256 answered;
        for (uint256 i = 1; i <= roster.length; ++i) {
            if (callResults[i] != bytes32(0)) ++answered;
        }
        operators = new address[](answered);
        hashes = new bytes32[](answered);
        uint256 k;
        for (uint256 i = 1; i <= roster.length; ++i) {
            bytes32 h = callResults[i];
            if (h != bytes32(0)) {
                operators[k] = roster[i - 1];
                hashes[k] = h;
                ++k;
            }
        }
    }

    /// @inheritdoc IAgentInstanceBlueprint
    /// @dev `topHash` is the hash with the most operators behind it; ties go to the hash first
    ///      submitted by the lowest ordinal. All zero when nobody answered.
    function getConsensus(uint64 serviceId, uint64 callId)
        external
        view
        returns (bytes32 topHash, uint32 agreeing, uint32 answered)
    {
        Instance storage inst = _instances[_historyInstance(serviceId)];
        mapping(uint256 => bytes32) storage callResults = inst.results[callId];
        uint256 n = inst.rosterSize;
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i = 1; i <= n; ++i) {
            bytes32 h = callResults[i];
            if (h != bytes32(0)) hashes[answered++] = h;
        }
        for (uint256 i = 0; i < answered; ++i) {
            uint32 votes;
            for (uint256 j = 0; j < answered; ++j) {
                if (hashes[j] == hashes[i]) ++votes;
            }
            if (votes > agreeing) (topHash, agreeing) = (hashes[i], votes);
        }
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function jobIds() external pure returns (uint8[8] memory ids) {
        ids = [
            AgentJobs.PROVISION,
            AgentJobs.EXEC,
            AgentJobs.PROMPT,
            AgentJobs.TASK,
            AgentJobs.SSH_PROVISION,
            AgentJobs.SSH_REVOKE,
            AgentJobs.SNAPSHOT,
            AgentJobs.DEPROVISION
        ];
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function jobMultipliers() public pure returns (uint256[8] memory multipliers) {
        multipliers[AgentJobs.PROVISION] = AgentJobs.PROVISION_MULTIPLIER;
        multipliers[AgentJobs.EXEC] = AgentJobs.EXEC_MULTIPLIER;
        multipliers[AgentJobs.PROMPT] = AgentJobs.PROMPT_MULTIPLIER;
        multipliers[AgentJobs.TASK] = AgentJobs.TASK_MULTIPLIER;
        multipliers[AgentJobs.SSH_PROVISION] = AgentJobs.SSH_PROVISION_MULTIPLIER;
        multipliers[AgentJobs.SSH_REVOKE] = AgentJobs.SSH_REVOKE_MULTIPLIER;
        multipliers[AgentJobs.SNAPSHOT] = AgentJobs.SNAPSHOT_MULTIPLIER;
        multipliers[AgentJobs.DEPROVISION] = AgentJobs.DEPROVISION_MULTIPLIER;
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function defaultJobRates(uint256 baseRate) external pure returns (uint256[8] memory rates) {
        uint256[8] memory m = jobMultipliers();
        for (uint256 i = 0; i < 8; ++i) {
            rates[i] = baseRate * m[i];
        }
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Internals
    // ═════════════════════════════════════════════════════════════════════════

    function _historyInstance(uint64 serviceId) private view returns (uint64 iid) {
        iid = _liveInstance[serviceId];
        if (iid == 0) iid = _terminatedInstance[serviceId];
    }

    /// @dev Current members (or only the provisioned ones) in ordinal order.
    function _members(Instance storage inst, bool provisionedOnly) private view returns (address[] memory out) {
        address[] memory roster = _roster(inst);
        out = new address[](provisionedOnly ? inst.provisionedCount : inst.memberCount);
        uint256 k;
        for (uint256 i = 0; i < roster.length; ++i) {
            Operator storage op = inst.ops[roster[i]];
            if (provisionedOnly ? op.provisioned : op.member) out[k++] = roster[i];
        }
    }

    /// @dev Every operator that was ever a member, in ordinal order (index = ordinal - 1).
    function _roster(Instance storage inst) private view returns (address[] memory roster) {
        roster = new address[](inst.rosterSize);
        for (address a = inst.head; a != address(0); a = inst.ops[a].next) {
            roster[inst.ops[a].ordinal - 1] = a;
        }
    }
}
