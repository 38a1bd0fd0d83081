// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IAgentRegistry
/// @notice On-chain registry of agent records (issue 9): every provisioned sandbox's agent is
///         registered under `agentId = keccak256(ed25519PublicKey)`, kept alive by heartbeats and
///         found by the off-chain discovery index. Self-contained (no imports, no bodies) so Rust can
///         read it with alloy's `sol!` macro.
/// @dev Trust model:
///      - The chain only prevents takeover by address: the first address to register an id owns it
///        forever (also after expiry or exit); only that owner may update, heartbeat, exit or
///        re-register it.
///      - The chain does NOT prove that the owner holds the Ed25519 key (the EVM has no cheap
///        Ed25519 verification). The discovery index binds key to record off chain: it accepts a
///        record only if the tool manifest served at `endpoint` hashes to `manifestHash` and carries a
///        valid signature by `publicKey`.
///      - An expired record is inactive without any transaction: `isActive` / `statusOf` compare
///        `expiresAt` with `block.timestamp`.
///      - Every change emits an event carrying all changed fields, so an index can rebuild every
///        record from the event history alone (timestamps come from the blocks).
interface IAgentRegistry {
    /// @notice Stored status (`None`, `Active`, `Jailed`, `Exited`) or, from `statusOf`, the effective
    ///         one: `Expired` is a stored `Active` record whose `expiresAt` has passed.
    enum AgentStatus {
        /// No record under this id.
        None,
        Active,
        Expired,
        Jailed,
        Exited
    }

    /// @notice The mutable, owner-supplied part of a record (`register` and `update`).
    struct AgentParams {
        /// Where the agent's sidecar serves its manifest and tools (one URL, 1..MAX_ENDPOINT_LENGTH bytes).
        string endpoint;
        /// sha256 of the RFC 8785 canonical JSON of the tool manifest (non-zero; see discovery/README.md).
        bytes32 manifestHash;
        /// Digest of the agent's capabilities (free-form for the index; may be zero).
        bytes32 capabilityDigest;
        /// Region label, 0..MAX_REGION_LENGTH bytes (empty = unspecified).
        string region;
    }

    /// @notice One agent record, as returned by `getAgent`.
    struct AgentRecord {
        bytes32 agentId;
        bytes32 publicKey;
        address owner;
        uint64 expiresAt;
        AgentStatus status;
        address operator;
        uint64 serviceId;
        uint64 registeredAt;
        uint64 updatedAt;
        bytes32 manifestHash;
        bytes32 capabilityDigest;
        string endpoint;
        string region;
    }

    // ── Errors ──────────────────────────────────────────────────────────────────
    /// @notice The Ed25519 public key is zero.
    error ZeroPublicKey();
    /// @notice A zero address where an account is required (admin, jailer).
    error ZeroAddress();
    /// @notice The endpoint is empty.
    error EmptyEndpoint();
    /// @notice The endpoint is longer than `MAX_ENDPOINT_LENGTH` bytes.
    error EndpointTooLong(uint256 length, uint256 max);
    /// @notice The region is longer than `MAX_REGION_LENGTH` bytes.
    error RegionTooLong(uint256 length, uint256 max);
    /// @notice The manifest hash is zero.
    error ZeroManifestHash();
    /// @notice `ttl` is zero or above `MAX_TTL`.
    error InvalidTtl(uint64 ttl, uint64 max);
    /// @notice No record under `agentId`.
    error UnknownAgent(bytes32 agentId);
    /// @notice The caller is not the record's owner (covers every takeover attempt).
    error NotAgentOwner(bytes32 agentId, address caller, address owner);
    /// @notice `register` by the owner of a record that has not exited.
    error AgentAlreadyRegistered(bytes32 agentId);
    /// @notice The record is jailed: no update, heartbeat or exit until unjailed.
    error AgentIsJailed(bytes32 agentId);
    /// @notice The record has exited: only `register` by its owner revives it.
    error AgentHasExited(bytes32 agentId);
    /// @notice `unjail` of a record that is not jailed.
    error AgentNotJailed(bytes32 agentId);
    /// @notice The caller is neither the admin nor an authorised jailer.
    error NotJailer(address caller);
    /// @notice The caller is not the admin.
    error NotAdmin(address caller);
    /// @notice A service manager is configured and `operator` is not an operator of `serviceId` there.
    error NotServiceOperator(uint64 serviceId, address operator);
    /// @notice A service manager is configured and the caller is not the `operator` it registers for.
    error OperatorMismatch(address caller, address operator);
    /// @notice `agentIdAt` past the end.
    error IndexOutOfRange(uint256 index, uint256 count);

    // ── Events ──────────────────────────────────────────────────────────────────
    /// @notice A new record, or the re-registration of an exited one by its owner (all fields; status
    ///         Active, `registeredAt` = `updatedAt` = the block's timestamp).
    event AgentRegistered(
        bytes32 indexed agentId,
        address indexed owner,
        uint64 indexed serviceId,
        bytes32 publicKey,
        address operator,
        string endpoint,
        bytes32 manifestHash,
        bytes32 capabilityDigest,
        string region,
        uint64 expiresAt
    );
    /// @notice The owner replaced the mutable fields (all of them).
    event AgentUpdated(
        bytes32 indexed agentId, string endpoint, bytes32 manifestHash, bytes32 capabilityDigest, string region
    );
    /// @notice The owner extended the expiry.
    event AgentHeartbeat(bytes32 indexed agentId, uint64 expiresAt);
    /// @notice An authorised party jailed the record.
    event AgentJailed(bytes32 indexed agentId, address indexed by, string reason);
    /// @notice An authorised party lifted the jail; the status is Active again (expiry unchanged).
    event AgentUnjailed(bytes32 indexed agentId, address indexed by);
    /// @notice The owner withdrew the record.
    event AgentExited(bytes32 indexed agentId);
    /// @notice The admin authorised (`allowed`) or de-authorised a jailer.
    event JailerSet(address indexed jailer, bool allowed);

    // ── Constants and configuration ─────────────────────────────────────────────
    function MAX_TTL() external view returns (uint64);
    function MAX_ENDPOINT_LENGTH() external view returns (uint256);
    function MAX_REGION_LENGTH() external view returns (uint256);
    /// @notice May jail/unjail and add/remove jailers (set once, in the constructor).
    function admin() external view returns (address);
    /// @notice The agent-instance BSM that `register` checks operators against; zero = no check.
    function serviceManager() external view returns (address);
    function isJailer(address account) external view returns (bool);

    // ── Owner actions ───────────────────────────────────────────────────────────
    /// @notice Registers a new id (caller becomes owner) or re-registers an exited id (owner only).
    /// @dev With a service manager configured, the caller must be `operator` and `operator` a current
    ///      operator of `serviceId` there.
    function register(bytes32 publicKey, uint64 serviceId, address operator, AgentParams calldata params, uint64 ttl)
        external
        returns (bytes32 agentId);
    /// @notice Replaces endpoint, manifest hash, capability digest and region (owner; not jailed/exited).
    function update(bytes32 agentId, AgentParams calldata params) external;
    /// @notice Sets `expiresAt = block.timestamp + ttl`, `0 < ttl <= MAX_TTL` (owner; not jailed/exited).
    function heartbeat(bytes32 agentId, uint64 ttl) external returns (uint64 expiresAt);
    /// @notice Withdraws the record (owner; not jailed).
    function exit(bytes32 agentId) external;

    // ── Authorised actions ──────────────────────────────────────────────────────
    /// @notice Jails an Active (possibly expired) record (admin or jailer).
    function jail(bytes32 agentId, string calldata reason) external;
    /// @notice Returns a jailed record to Active (admin or jailer).
    function unjail(bytes32 agentId) external;
    /// @notice Authorises or de-authorises a jailer (admin).
    function setJailer(address jailer, bool allowed) external;

    // ── Views ───────────────────────────────────────────────────────────────────
    /// @notice `keccak256(publicKey)`.
    function agentIdOf(bytes32 publicKey) external pure returns (bytes32 agentId);
    /// @notice The record; reverts `UnknownAgent` if there is none.
    function getAgent(bytes32 agentId) external view returns (AgentRecord memory record);
    /// @notice Number of ids ever registered (an exited id stays counted and enumerable).
    function agentCount() external view returns (uint256);
    /// @notice The `index`-th registered id, in registration order.
    function agentIdAt(uint256 index) external view returns (bytes32 agentId);
    /// @notice Stored status Active and `block.timestamp < expiresAt`.
    function isActive(bytes32 agentId) external view returns (bool);
    /// @notice Effective status: None, Active, Expired, Jailed or Exited.
    function statusOf(bytes32 agentId) external view returns (AgentStatus);
}
