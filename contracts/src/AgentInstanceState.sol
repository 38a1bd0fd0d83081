// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {AgentJobs} from "./AgentJobs.sol";
import {BlueprintServiceManagerBase} from "./BlueprintServiceManagerBase.sol";
import {IAgentInstanceBlueprint} from "./interfaces/IAgentInstanceBlueprint.sol";

/// @title AgentInstanceState
/// @notice Storage layout of the agent-instance BSM and the mutators that keep its counters and
///         linked lists consistent. Events, errors and the public types come from
///         `IAgentInstanceBlueprint`; the views live in `AgentInstanceViews`, the hooks in
///         `AgentInstanceBlueprint`.
/// @dev State layout. Operator sets live in "instances" so that activation is O(1):
///      `onRequest` records the requested operators in a fresh instance keyed by the request id;
///      `onServiceInitialized` points the service id at that instance (no copying, which keeps the
///      hook far below Tangle's 500k hook gas budget). Inside an instance every operator that was ever
///      a member has a stable 1-based ordinal, which keys the per-call result hashes; the operators are
///      chained in a linked list through their own record (newest first), so recording an operator
///      costs one fresh storage slot (~24k gas): `onRequest` fits 16 operators in the 500k hook budget.
///      Termination unlinks the live instance (all live views become empty in O(1)) and keeps it
///      reachable for the historical result views.
///
///      The storage variables below follow `BlueprintServiceManagerBase`'s in the same order as when
///      they were declared in `AgentInstanceBlueprint` itself: do not reorder them.
abstract contract AgentInstanceState is BlueprintServiceManagerBase, IAgentInstanceBlueprint {
    struct Operator {
        // slot 0
        address next; // the operator that became a member before this one (linked list, newest first)
        uint32 ordinal; // 1-based, stable within the instance; 0 = never a member
        bool member; // currently an operator of the service
        bool provisioned; // has a recorded sandbox endpoint
        uint16 sshPort;
        // further slots
        uint64 vesSequence; // anchored VES head (sequence, stateRoot)
        bytes32 vesStateRoot;
        bytes32 sidecarPublicKey;
        bytes32 attestationHash;
        string sandboxId;
        string sidecarUrl;
    }

    struct Instance {
        // slot 0
        address head; // newest operator of the linked list of every operator that was ever a member
        uint32 rosterSize; // length of that list = highest ordinal
        uint32 memberCount;
        uint32 provisionedCount;
        // further slots
        address owner;
        address[] callers; // permitted callers recorded at activation
        mapping(address operator => Operator) ops;
        mapping(uint64 callId => mapping(uint256 ordinal => bytes32 resultHash)) results;
    }

    uint64 internal _instanceCount;
    mapping(uint64 instanceId => Instance) internal _instances;
    mapping(uint64 requestId => uint64 instanceId) internal _requestInstance;
    mapping(uint64 serviceId => uint64 instanceId) internal _liveInstance;
    mapping(uint64 serviceId => uint64 instanceId) internal _terminatedInstance;

    // ═════════════════════════════════════════════════════════════════════════
    // Mutators
    // ═════════════════════════════════════════════════════════════════════════

    function _newInstance() internal returns (uint64 iid) {
        iid = ++_instanceCount;
    }

    /// @dev Makes `operator` a member; returns false if it already was one.
    function _addMember(Instance storage inst, address operator) internal returns (bool added) {
        Operator storage op = inst.ops[operator];
        if (op.member || operator == address(0)) return false;
        if (op.ordinal == 0) {
            uint32 ordinal = inst.rosterSize + 1;
            (op.next, op.ordinal) = (inst.head, ordinal);
            (inst.head, inst.rosterSize) = (operator, ordinal);
        }
        op.member = true;
        inst.memberCount += 1;
        return true;
    }

    function _storeEndpoint(Instance storage inst, Operator storage op, AgentJobs.ProvisionResult memory r) internal {
        if (!op.provisioned) {
            op.provisioned = true;
            inst.provisionedCount += 1;
        } else if (keccak256(bytes(op.sandboxId)) != keccak256(bytes(r.sandboxId))) {
            // A different sandbox replaced the old one: its VES stream starts afresh.
            op.vesSequence = 0;
            op.vesStateRoot = bytes32(0);
        }
        op.sandboxId = r.sandboxId;
        op.sidecarUrl = r.sidecarUrl;
        op.sshPort = r.sshPort;
        op.sidecarPublicKey = r.sidecarPublicKey;
        op.attestationHash = r.attestation.length == 0 ? bytes32(0) : keccak256(r.attestation);
    }

    function _clearEndpoint(Instance storage inst, Operator storage op) internal {
        op.provisioned = false;
        inst.provisionedCount -= 1;
        op.sshPort = 0;
        op.vesSequence = 0;
        op.vesStateRoot = bytes32(0);
        op.sidecarPublicKey = bytes32(0);
        op.attestationHash = bytes32(0);
        delete op.sandboxId;
        delete op.sidecarUrl;
    }
}
