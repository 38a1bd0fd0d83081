// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {AgentJobs} from "./AgentJobs.sol";
import {IAgentInstanceBlueprint} from "./interfaces/IAgentInstanceBlueprint.sol";

/// @title AgentResultCodec
/// @notice Decoding and validation of job inputs and outputs: only the canonical encoding
///         `abi.encode(<Request struct>)` / `abi.encode(<Result struct>)` (DESIGN decision 3) is
///         accepted.
/// @dev An abstract contract, not a library: the helpers must be external functions of the BSM
///      itself, because its hooks call them through an external self-call wrapped in try/catch (a
///      revert means "malformed"). Declaring them here directly keeps the code the compiler emits
///      identical to when they lived in `AgentInstanceBlueprint` (an internal library call in between
///      costs gas on every recorded result). Stateless; pure, callable by anyone.
abstract contract AgentResultCodec is IAgentInstanceBlueprint {
    /// @inheritdoc IAgentInstanceBlueprint
    function validateJobInputs(uint8 job, bytes calldata inputs) external pure returns (string memory invalidField) {
        bytes memory canonical;
        if (job == AgentJobs.PROVISION) {
            AgentJobs.ProvisionRequest memory q = abi.decode(inputs, (AgentJobs.ProvisionRequest));
            canonical = abi.encode(q);
            if (q.customerX25519PublicKey == bytes32(0)) invalidField = "customerX25519PublicKey";
        } else if (job == AgentJobs.EXEC) {
            AgentJobs.ExecRequest memory q = abi.decode(inputs, (AgentJobs.ExecRequest));
            canonical = abi.encode(q);
            if (bytes(q.command).length == 0) invalidField = "command";
        } else if (job == AgentJobs.PROMPT) {
            AgentJobs.PromptRequest memory q = abi.decode(inputs, (AgentJobs.PromptRequest));
            canonical = abi.encode(q);
            if (bytes(q.prompt).length == 0) invalidField = "prompt";
        } else if (job == AgentJobs.TASK) {
            AgentJobs.TaskRequest memory q = abi.decode(inputs, (AgentJobs.TaskRequest));
            canonical = abi.encode(q);
            if (bytes(q.prompt).length == 0 && bytes(q.workflowJson).length == 0) invalidField = "prompt";
        } else if (job == AgentJobs.SSH_PROVISION) {
            AgentJobs.SshProvisionRequest memory q = abi.decode(inputs, (AgentJobs.SshProvisionRequest));
            canonical = abi.encode(q);
            if (bytes(q.username).length == 0) invalidField = "username";
            else if (bytes(q.publicKey).length == 0) invalidField = "publicKey";
        } else if (job == AgentJobs.SSH_REVOKE) {
            AgentJobs.SshRevokeRequest memory q = abi.decode(inputs, (AgentJobs.SshRevokeRequest));
            canonical = abi.encode(q);
            if (bytes(q.username).length == 0) invalidField = "username";
        } else if (job == AgentJobs.SNAPSHOT) {
            canonical = abi.encode(abi.decode(inputs, (AgentJobs.SnapshotRequest)));
        } else if (job == AgentJobs.DEPROVISION) {
            canonical = abi.encode(abi.decode(inputs, (AgentJobs.DeprovisionRequest)));
        } else {
            revert UnknownJob(job);
        }
        if (keccak256(canonical) != keccak256(inputs)) revert NonCanonicalEncoding();
    }

    /// @notice Decodes a PROVISION result; reverts unless `outputs` is its canonical encoding.
    /// @return result The decoded result.
    /// @return outputsHash keccak256(outputs).
    function decodeProvisionResult(bytes calldata outputs)
        external
        pure
        returns (AgentJobs.ProvisionResult memory result, bytes32 outputsHash)
    {
        result = abi.decode(outputs, (AgentJobs.ProvisionResult));
        outputsHash = keccak256(outputs);
        if (keccak256(abi.encode(result)) != outputsHash) revert NonCanonicalEncoding();
    }

    /// @inheritdoc IAgentInstanceBlueprint
    function inspectResult(uint8 job, bytes calldata outputs)
        external
        pure
        returns (bytes32 outputsHash, bool success, uint64 vesSequence, bytes32 vesStateRoot)
    {
        bytes memory canonical;
        success = true;
        if (job == AgentJobs.PROMPT) {
            AgentJobs.PromptResult memory r = abi.decode(outputs, (AgentJobs.PromptResult));
            (canonical, success) = (abi.encode(r), r.success);
        } else if (job == AgentJobs.TASK) {
            AgentJobs.TaskResult memory r = abi.decode(outputs, (AgentJobs.TaskResult));
            (canonical, success) = (abi.encode(r), r.success);
        } else if (job == AgentJobs.EXEC) {
            AgentJobs.ExecResult memory r = abi.decode(outputs, (AgentJobs.ExecResult));
            (canonical, success, vesSequence, vesStateRoot) =
            (abi.encode(r), r.exitCode == 0, r.vesSequence, r.vesStateRoot);
        } else if (job == AgentJobs.SNAPSHOT) {
            AgentJobs.SnapshotResult memory r = abi.decode(outputs, (AgentJobs.SnapshotResult));
            (canonical, vesSequence, vesStateRoot) = (abi.encode(r), r.vesSequence, r.vesStateRoot);
        } else if (job == AgentJobs.SSH_PROVISION) {
            AgentJobs.SshProvisionResult memory r = abi.decode(outputs, (AgentJobs.SshProvisionResult));
            (canonical, success) = (abi.encode(r), r.success);
        } else if (job == AgentJobs.SSH_REVOKE) {
            AgentJobs.SshRevokeResult memory r = abi.decode(outputs, (AgentJobs.SshRevokeResult));
            (canonical, success) = (abi.encode(r), r.success);
        } else if (job == AgentJobs.DEPROVISION) {
            AgentJobs.DeprovisionResult memory r = abi.decode(outputs, (AgentJobs.DeprovisionResult));
            (canonical, success) = (abi.encode(r), r.success);
        } else if (job == AgentJobs.PROVISION) {
            AgentJobs.ProvisionResult memory r = abi.decode(outputs, (AgentJobs.ProvisionResult));
            canonical = abi.encode(r);
        } else {
            revert UnknownJob(job);
        }
        outputsHash = keccak256(outputs);
        if (keccak256(canonical) != outputsHash) revert NonCanonicalEncoding();
    }
}
