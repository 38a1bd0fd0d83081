// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IAgentInstanceBlueprint
/// @notice The agent-instance BSM's own API (events, errors, views) on top of
///         `IBlueprintServiceManager`. Self-contained (no imports, no bodies) so Rust can read it
///         with alloy's `sol!` macro, like `AgentJobs.sol`.
interface IAgentInstanceBlueprint {
    /// @notice Why `onJobResult` recorded nothing. Tangle core ignores reverts from `onJobResult`,
    ///         so every refusal is an explicit branch that emits `ResultRejected` instead.
    enum RejectReason {
        /// The service is unknown to this manager or was terminated.
        ServiceNotActive,
        /// The job index is not one of the eight jobs.
        UnknownJob,
        /// The submitting operator is not a current operator of the service.
        NotServiceOperator,
        /// A job other than PROVISION from an operator with no provisioned sandbox.
        NotProvisioned,
        /// The operator already has a recorded result for this call.
        Duplicate,
        /// The outputs are not the canonical `abi.encode(<Result struct>)` of the job.
        MalformedOutput,
        /// A PROVISION result without sandbox id, sidecar URL, sealed access or sidecar key.
        InvalidProvision,
        /// An EXEC/SNAPSHOT result whose VES sequence is lower than the anchored one.
        StaleAnchor,
        /// An EXEC/SNAPSHOT result with the anchored VES sequence but a different state root.
        AnchorConflict,
        /// A DEPROVISION result reporting `success = false` (the endpoint is kept).
        ReportedFailure
    }

    /// @notice One operator's sandbox endpoint, as recorded from its PROVISION result.
    struct OperatorEndpoint {
        bool provisioned;
        string sandboxId;
        string sidecarUrl;
        uint16 sshPort;
        bytes32 sidecarPublicKey;
        /// keccak256 of the attestation evidence; zero when the operator returned no attestation.
        bytes32 attestationHash;
    }

    // ── Errors (all raised from hooks that Tangle core does NOT swallow) ─────────
    /// @notice `onJobCall` for a service this manager does not know as active.
    error ServiceNotActive(uint64 serviceId);
    /// @notice `onJobCall` with a job index outside 0..7.
    error UnknownJob(uint8 job);
    /// @notice `onJobCall` for a job other than PROVISION while no operator is provisioned.
    error NoProvisionedOperator(uint64 serviceId);
    /// @notice `onJobCall` inputs are not the canonical `abi.encode(<Request struct>)` of the job.
    error MalformedJobInputs(uint8 job);
    /// @notice `onJobCall` inputs decode but a required field is empty / zero.
    error InvalidJobInput(uint8 job, string field);
    /// @notice Raised by the decoding helpers (caught internally by the hooks).
    error NonCanonicalEncoding();

    // ── Events ──────────────────────────────────────────────────────────────────
    event ServiceRequestRecorded(uint64 indexed requestId, address indexed requester, uint32 operators);
    event ServiceInitialized(
        uint64 indexed serviceId, uint64 indexed requestId, address indexed owner, uint32 operators
    );
    event ServiceTerminated(uint64 indexed serviceId, address indexed owner);
    event OperatorJoined(uint64 indexed serviceId, address indexed operator);
    event OperatorLeft(uint64 indexed serviceId, address indexed operator);
    event OperatorProvisioned(
        uint64 indexed serviceId,
        address indexed operator,
        string sandboxId,
        string sidecarUrl,
        uint16 sshPort,
        bytes32 sidecarPublicKey,
        bytes32 attestationHash
    );
    event OperatorDeprovisioned(uint64 indexed serviceId, address indexed operator);
    /// @notice A result was accepted; `resultHash = keccak256(outputs)`.
    event OperatorResultSubmitted(
        uint64 indexed serviceId, uint8 job, uint64 indexed callId, address indexed operator, bytes32 resultHash
    );
    /// @notice The operator's VES stream head was anchored from an EXEC or SNAPSHOT result.
    event StreamAnchored(
        uint64 indexed serviceId, address indexed operator, uint64 indexed callId, uint64 sequence, bytes32 stateRoot
    );
    /// @notice A result was refused; nothing was recorded.
    event ResultRejected(
        uint64 indexed serviceId, uint8 job, uint64 indexed callId, address indexed operator, RejectReason reason
    );

    // ── Views ───────────────────────────────────────────────────────────────────
    function serviceOperators(uint64 serviceId) external view returns (address[] memory operators);
    function operatorCount(uint64 serviceId) external view returns (uint32 count);
    function provisionedCount(uint64 serviceId) external view returns (uint32 count);
    function isServiceOperator(uint64 serviceId, address operator) external view returns (bool);
    function isProvisioned(uint64 serviceId, address operator) external view returns (bool);
    function isServiceActive(uint64 serviceId) external view returns (bool);
    function serviceOwner(uint64 serviceId) external view returns (address owner);
    function permittedCallers(uint64 serviceId) external view returns (address[] memory callers);
    function requestOperators(uint64 requestId) external view returns (address[] memory operators);

    function getOperatorEndpoints(uint64 serviceId)
        external
        view
        returns (address[] memory operators, string[] memory sidecarUrls);
    function getOperatorEndpoint(uint64 serviceId, address operator)
        external
        view
        returns (OperatorEndpoint memory endpoint);
    function getAttestationHash(uint64 serviceId, address operator) external view returns (bytes32 attestationHash);
    function getStreamAnchor(uint64 serviceId, address operator)
        external
        view
        returns (uint64 sequence, bytes32 stateRoot);

    function getJobResultHashes(uint64 serviceId, uint64 callId)
        external
        view
        returns (address[] memory operators, bytes32[] memory hashes);
    function getConsensus(uint64 serviceId, uint64 callId)
        external
        view
        returns (bytes32 topHash, uint32 agreeing, uint32 answered);

    function jobIds() external pure returns (uint8[8] memory ids);
    function jobMultipliers() external pure returns (uint256[8] memory multipliers);
    function defaultJobRates(uint256 baseRate) external pure returns (uint256[8] memory rates);

    /// @notice Checks job inputs like `onJobCall` does: reverts on inputs that are not the canonical
    ///         `abi.encode(<Request struct>)` of `job`; returns the name of an invalid field, or "".
    function validateJobInputs(uint8 job, bytes calldata inputs) external pure returns (string memory invalidField);

    /// @notice Checks job outputs like `onJobResult` does: reverts on outputs that are not the
    ///         canonical `abi.encode(<Result struct>)` of `job`; returns `keccak256(outputs)`, the
    ///         result's success flag (true for jobs without one) and the VES head it carries
    ///         (EXEC / SNAPSHOT; zero otherwise).
    function inspectResult(uint8 job, bytes calldata outputs)
        external
        pure
        returns (bytes32 outputsHash, bool success, uint64 vesSequence, bytes32 vesStateRoot);
}
