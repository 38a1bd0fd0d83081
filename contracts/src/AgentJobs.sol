// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title AgentJobs
/// @notice The single source of truth for the agent-instance blueprint's job ABI.
/// @dev Rust generates its types from this very file with alloy's `sol!` macro, so it holds only
///      plain `library` / `struct` / `uint8 constant` declarations (no function bodies).
///
///      Encoding (DESIGN decision 3):
///      - job inputs  = `abi.encode(request)` of the job's single request struct;
///      - job outputs = the Rust SDK's `TangleResult<Struct>` = `Struct::abi_encode()`, which for a
///        dynamic struct is `abi.encode(result)` WITH the leading offset word `0x20`.
///      Both sides decode with `abi.decode(data, (Struct))`. The service manager only accepts the
///      canonical encoding (re-encoding the decoded value must give back the same bytes).
library AgentJobs {
    // ── Job ids (fixed) ─────────────────────────────────────────────────────────
    uint8 internal constant PROVISION = 0;
    uint8 internal constant EXEC = 1;
    uint8 internal constant PROMPT = 2;
    uint8 internal constant TASK = 3;
    uint8 internal constant SSH_PROVISION = 4;
    uint8 internal constant SSH_REVOKE = 5;
    uint8 internal constant SNAPSHOT = 6;
    uint8 internal constant DEPROVISION = 7;
    uint8 internal constant JOB_COUNT = 8;

    // ── Pricing multipliers, relative to a base rate ────────────────────────────
    uint8 internal constant PROVISION_MULTIPLIER = 50;
    uint8 internal constant EXEC_MULTIPLIER = 1;
    uint8 internal constant PROMPT_MULTIPLIER = 20;
    uint8 internal constant TASK_MULTIPLIER = 250;
    uint8 internal constant SSH_PROVISION_MULTIPLIER = 2;
    uint8 internal constant SSH_REVOKE_MULTIPLIER = 1;
    uint8 internal constant SNAPSHOT_MULTIPLIER = 5;
    uint8 internal constant DEPROVISION_MULTIPLIER = 1;

    // ── 0 PROVISION ─────────────────────────────────────────────────────────────
    struct ProvisionRequest {
        uint32 cpuMillis;
        uint64 memoryMb;
        uint32 diskGb;
        uint64 lifetimeSecs;
        uint64 idleTimeoutSecs;
        string image;
        string sshPublicKey;
        /// Customer's X25519 public key; the sidecar access token is sealed to it (decision 5).
        bytes32 customerX25519PublicKey;
        /// Bound into the TEE quote's report data together with the sidecar public key.
        bytes32 attestationNonce;
    }

    struct ProvisionResult {
        string sandboxId;
        string sidecarUrl;
        uint16 sshPort;
        /// Raw attestation evidence; the manager stores `keccak256(attestation)`.
        bytes attestation;
        /// Sidecar access token sealed to `customerX25519PublicKey`.
        bytes sealedAccess;
        /// The sidecar's Ed25519 public key (signs VES events and receipts).
        bytes32 sidecarPublicKey;
    }

    // ── 1 EXEC ──────────────────────────────────────────────────────────────────
    struct ExecRequest {
        string command;
        string cwd;
        /// Entries of the form "NAME=value".
        string[] env;
        uint64 timeoutMs;
    }

    struct ExecResult {
        int32 exitCode;
        string stdout;
        string stderr;
        uint64 vesSequence;
        bytes32 vesStateRoot;
    }

    // ── 2 PROMPT ────────────────────────────────────────────────────────────────
    struct PromptRequest {
        string prompt;
        string systemPrompt;
        string model;
        uint32 maxTokens;
        uint64 seed;
        uint64 timeoutMs;
    }

    /// Deterministic fields only (decision 4): run metadata lives in the sidecar's event log.
    struct PromptResult {
        bool success;
        string response;
        bytes32 transcriptDigest;
    }

    // ── 3 TASK ──────────────────────────────────────────────────────────────────
    struct TaskRequest {
        string prompt;
        string systemPrompt;
        string model;
        uint32 maxTurns;
        uint64 seed;
        uint64 timeoutMs;
        /// Empty = a plain prompt task; otherwise a workflow (DAG) definition in JSON.
        string workflowJson;
    }

    /// Deterministic fields only (decision 4).
    struct TaskResult {
        bool success;
        string finalText;
        bytes32 transcriptDigest;
        bytes32 outputHash;
    }

    // ── 4 SSH_PROVISION ─────────────────────────────────────────────────────────
    struct SshProvisionRequest {
        string username;
        string publicKey;
    }

    struct SshProvisionResult {
        bool success;
        string fingerprint;
    }

    // ── 5 SSH_REVOKE ────────────────────────────────────────────────────────────
    struct SshRevokeRequest {
        string username;
        string publicKey;
    }

    struct SshRevokeResult {
        bool success;
    }

    // ── 6 SNAPSHOT ──────────────────────────────────────────────────────────────
    struct SnapshotRequest {
        /// Empty = keep the snapshot local to the operator.
        string destinationUrl;
        bool includeState;
        bool dockerCommit;
    }

    struct SnapshotResult {
        string snapshotId;
        bytes32 sha256;
        uint64 sizeBytes;
        string location;
        uint64 vesSequence;
        bytes32 vesStateRoot;
    }

    // ── 7 DEPROVISION ───────────────────────────────────────────────────────────
    struct DeprovisionRequest {
        string reason;
    }

    struct DeprovisionResult {
        bool success;
    }
}
