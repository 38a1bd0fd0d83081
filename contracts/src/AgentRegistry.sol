// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IAgentRegistry} from "./interfaces/IAgentRegistry.sol";
import {IAgentInstanceBlueprint} from "./interfaces/IAgentInstanceBlueprint.sol";

/// @title AgentRegistry
/// @notice Agent records for discovery (issue 9): register, update, heartbeat, exit by the record's
///         owner; jail / unjail by the admin or an authorised jailer. See `IAgentRegistry` for the
///         trust model (the chain prevents takeover by address; the Ed25519 key is bound to the record
///         off chain by the discovery index, via the signed manifest behind `manifestHash`).
/// @dev State machine of the stored status:
///      None --register--> Active --exit--> Exited --register (owner)--> Active
///      Active --jail--> Jailed --unjail--> Active
///      A jailed record cannot update, heartbeat or exit (exit-and-re-register would escape the jail).
///      "Expired" is never stored: it is an Active record past `expiresAt`, seen by the views.
contract AgentRegistry is IAgentRegistry {
    /// @inheritdoc IAgentRegistry
    uint64 public constant MAX_TTL = 1 days;
    /// @inheritdoc IAgentRegistry
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    /// @inheritdoc IAgentRegistry
    uint256 public constant MAX_REGION_LENGTH = 32;

    /// @inheritdoc IAgentRegistry
    address public immutable admin;
    /// @inheritdoc IAgentRegistry
    address public immutable serviceManager;

    /// @inheritdoc IAgentRegistry
    mapping(address account => bool) public isJailer;

    mapping(bytes32 agentId => AgentRecord) private _agents;
    bytes32[] private _agentIds;

    /// @param admin_ May jail / unjail and manage jailers (e.g. the blueprint owner); non-zero.
    /// @param serviceManager_ Agent-instance BSM to check `register`'s service id and operator against,
    ///        or zero for no check.
    constructor(address admin_, address serviceManager_) {
        if (admin_ == address(0)) revert ZeroAddress();
        admin = admin_;
        serviceManager = serviceManager_;
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _;
    }

    modifier onlyJailer() {
        if (msg.sender != admin && !isJailer[msg.sender]) revert NotJailer(msg.sender);
        _;
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Owner actions
    // ═════════════════════════════════════════════════════════════════════════

    /// @inheritdoc IAgentRegistry
    function register(bytes32 publicKey, uint64 serviceId, address operator, AgentParams calldata params, uint64 ttl)
        external
        returns (bytes32 agentId)
    {
        if (publicKey == bytes32(0)) revert ZeroPublicKey();
        _checkParams(params);
        _checkTtl(ttl);
        if (serviceManager != address(0)) {
            if (msg.sender != operator) revert OperatorMismatch(msg.sender, operator);
            if (!IAgentInstanceBlueprint(serviceManager).isServiceOperator(serviceId, operator)) {
                revert NotServiceOperator(serviceId, operator);
            }
        }
        agentId = keccak256(abi.encodePacked(publicKey));
        AgentRecord storage r = _agents[agentId];
        if (r.owner == address(0)) {
            // `agentId` stays zero in storage (it is the mapping key; `getAgent` fills it in).
            r.publicKey = publicKey;
            r.owner = msg.sender;
            _agentIds.push(agentId);
        } else {
            if (r.owner != msg.sender) revert NotAgentOwner(agentId, msg.sender, r.owner);
            if (r.status != AgentStatus.Exited) revert AgentAlreadyRegistered(agentId);
        }
        uint64 expiresAt = uint64(block.timestamp) + ttl;
        r.expiresAt = expiresAt;
        r.status = AgentStatus.Active;
        r.operator = operator;
        r.serviceId = serviceId;
        r.registeredAt = uint64(block.timestamp);
        _writeParams(r, params);
        emit AgentRegistered(
            agentId,
            msg.sender,
            serviceId,
            publicKey,
            operator,
            params.endpoint,
            params.manifestHash,
            params.capabilityDigest,
            params.region,
            expiresAt
        );
    }

    /// @inheritdoc IAgentRegistry
    function update(bytes32 agentId, AgentParams calldata params) external {
        AgentRecord storage r = _ownedLive(agentId);
        _checkParams(params);
        _writeParams(r, params);
        emit AgentUpdated(agentId, params.endpoint, params.manifestHash, params.capabilityDigest, params.region);
    }

    /// @inheritdoc IAgentRegistry
    function heartbeat(bytes32 agentId, uint64 ttl) external returns (uint64 expiresAt) {
        AgentRecord storage r = _ownedLive(agentId);
        _checkTtl(ttl);
        expiresAt = uint64(block.timestamp) + ttl;
        r.expiresAt = expiresAt;
        r.updatedAt = uint64(block.timestamp);
        emit AgentHeartbeat(agentId, expiresAt);
    }

    /// @inheritdoc IAgentRegistry
    function exit(bytes32 agentId) external {
        AgentRecord storage r = _ownedLive(agentId);
        r.status = AgentStatus.Exited;
        r.updatedAt = uint64(block.timestamp);
        emit AgentExited(agentId);
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Authorised actions
    // ═════════════════════════════════════════════════════════════════════════

    /// @inheritdoc IAgentRegistry
    function jail(bytes32 agentId, string calldata reason) external onlyJailer {
        AgentRecord storage r = _existing(agentId);
        if (r.status == AgentStatus.Jailed) revert AgentIsJailed(agentId);
        if (r.status == AgentStatus.Exited) revert AgentHasExited(agentId);
        r.status = AgentStatus.Jailed;
        r.updatedAt = uint64(block.timestamp);
        emit AgentJailed(agentId, msg.sender, reason);
    }

    /// @inheritdoc IAgentRegistry
    function unjail(bytes32 agentId) external onlyJailer {
        AgentRecord storage r = _existing(agentId);
        if (r.status != AgentStatus.Jailed) revert AgentNotJailed(agentId);
        r.status = AgentStatus.Active;
        r.updatedAt = uint64(block.timestamp);
        emit AgentUnjailed(agentId, msg.sender);
    }

    /// @inheritdoc IAgentRegistry
    function setJailer(address jailer, bool allowed) external onlyAdmin {
        if (jailer == address(0)) revert ZeroAddress();
        isJailer[jailer] = allowed;
        emit JailerSet(jailer, allowed);
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Views
    // ═════════════════════════════════════════════════════════════════════════

    /// @inheritdoc IAgentRegistry
    function agentIdOf(bytes32 publicKey) external pure returns (bytes32) {
        return keccak256(abi.encodePacked(publicKey));
    }

    /// @inheritdoc IAgentRegistry
    function getAgent(bytes32 agentId) external view returns (AgentRecord memory record) {
        record = _existing(agentId);
        record.agentId = agentId;
    }

    /// @inheritdoc IAgentRegistry
    function agentCount() external view returns (uint256) {
        return _agentIds.length;
    }

    /// @inheritdoc IAgentRegistry
    function agentIdAt(uint256 index) external view returns (bytes32) {
        if (index >= _agentIds.length) revert IndexOutOfRange(index, _agentIds.length);
        return _agentIds[index];
    }

    /// @inheritdoc IAgentRegistry
    function isActive(bytes32 agentId) external view returns (bool) {
        AgentRecord storage r = _agents[agentId];
        // Expiry is coarse (seconds to a day): validator timestamp drift does not matter.
        // forge-lint: disable-next-line(block-timestamp)
        return r.status == AgentStatus.Active && block.timestamp < r.expiresAt;
    }

    /// @inheritdoc IAgentRegistry
    function statusOf(bytes32 agentId) external view returns (AgentStatus) {
        AgentRecord storage r = _agents[agentId];
        AgentStatus s = r.status;
        // forge-lint: disable-next-line(block-timestamp)
        if (s == AgentStatus.Active && block.timestamp >= r.expiresAt) return AgentStatus.Expired;
        return s;
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Internals
    // ═════════════════════════════════════════════════════════════════════════

    function _existing(bytes32 agentId) internal view returns (AgentRecord storage r) {
        r = _agents[agentId];
        if (r.owner == address(0)) revert UnknownAgent(agentId);
    }

    /// @dev The record, if the caller owns it and it is neither jailed nor exited.
    function _ownedLive(bytes32 agentId) internal view returns (AgentRecord storage r) {
        r = _existing(agentId);
        if (r.owner != msg.sender) revert NotAgentOwner(agentId, msg.sender, r.owner);
        if (r.status == AgentStatus.Jailed) revert AgentIsJailed(agentId);
        if (r.status == AgentStatus.Exited) revert AgentHasExited(agentId);
    }

    function _checkParams(AgentParams calldata p) internal pure {
        uint256 len = bytes(p.endpoint).length;
        if (len == 0) revert EmptyEndpoint();
        if (len > MAX_ENDPOINT_LENGTH) revert EndpointTooLong(len, MAX_ENDPOINT_LENGTH);
        len = bytes(p.region).length;
        if (len > MAX_REGION_LENGTH) revert RegionTooLong(len, MAX_REGION_LENGTH);
        if (p.manifestHash == bytes32(0)) revert ZeroManifestHash();
    }

    function _checkTtl(uint64 ttl) internal pure {
        if (ttl == 0 || ttl > MAX_TTL) revert InvalidTtl(ttl, MAX_TTL);
    }

    /// @dev Writes the owner-supplied fields and stamps `updatedAt`.
    function _writeParams(AgentRecord storage r, AgentParams calldata p) internal {
        r.endpoint = p.endpoint;
        r.manifestHash = p.manifestHash;
        r.capabilityDigest = p.capabilityDigest;
        r.region = p.region;
        r.updatedAt = uint64(block.timestamp);
    }
}
