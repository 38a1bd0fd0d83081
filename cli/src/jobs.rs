//! Typed job inputs and outputs over the ABI structs of `agent-types` (generated from
//! `AgentJobs.sol`): inputs are `Request.abi_encode()`, outputs are `Result::abi_decode` of the
//! bytes in Tangle's `JobResultSubmitted` event. Also the JSON and one-line views the reports
//! use.

use agent_types::AgentJobs::{
    DeprovisionRequest, DeprovisionResult, ExecRequest, ExecResult, PromptRequest, PromptResult,
    ProvisionRequest, ProvisionResult, SnapshotRequest, SnapshotResult, SshProvisionRequest,
    SshProvisionResult, SshRevokeRequest, SshRevokeResult, TaskRequest, TaskResult,
};
use agent_types::Job;
use blueprint_sdk::alloy::primitives::keccak256;
use blueprint_sdk::alloy::sol_types::SolValue;
use serde_json::{json, Value};

use crate::{Error, Result};

/// The input of one of the eight jobs. Equality is equality of the ABI encoding.
#[derive(Clone)]
pub enum JobInput {
    /// Job 0.
    Provision(ProvisionRequest),
    /// Job 1.
    Exec(ExecRequest),
    /// Job 2.
    Prompt(PromptRequest),
    /// Job 3.
    Task(TaskRequest),
    /// Job 4.
    SshProvision(SshProvisionRequest),
    /// Job 5.
    SshRevoke(SshRevokeRequest),
    /// Job 6.
    Snapshot(SnapshotRequest),
    /// Job 7.
    Deprovision(DeprovisionRequest),
}

/// The decoded output of one of the eight jobs. Equality is equality of the ABI encoding.
#[derive(Clone)]
pub enum JobOutput {
    /// Job 0.
    Provision(ProvisionResult),
    /// Job 1.
    Exec(ExecResult),
    /// Job 2.
    Prompt(PromptResult),
    /// Job 3.
    Task(TaskResult),
    /// Job 4.
    SshProvision(SshProvisionResult),
    /// Job 5.
    SshRevoke(SshRevokeResult),
    /// Job 6.
    Snapshot(SnapshotResult),
    /// Job 7.
    Deprovision(DeprovisionResult),
}

/// Decodes `bytes` as `T` and insists on the canonical encoding (re-encoding gives the same
/// bytes), exactly like the service manager does.
fn decode_canonical<
    T: SolValue + From<<T::SolType as blueprint_sdk::alloy::sol_types::SolType>::RustType>,
>(
    bytes: &[u8],
    what: &str,
) -> Result<T> {
    let value = <T as SolValue>::abi_decode(bytes).map_err(|e| Error::Decode {
        what: what.into(),
        reason: e.to_string(),
    })?;
    if value.abi_encode() != bytes {
        return Err(Error::Decode {
            what: what.into(),
            reason: "not the canonical abi.encode of the struct".into(),
        });
    }
    Ok(value)
}

// The generated ABI structs derive neither `Debug` nor `PartialEq`: compare encodings and
// show the JSON view.
impl PartialEq for JobInput {
    fn eq(&self, other: &Self) -> bool {
        self.job() == other.job() && self.encode() == other.encode()
    }
}
impl Eq for JobInput {}

impl std::fmt::Debug for JobInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.job(), self.to_json())
    }
}

impl PartialEq for JobOutput {
    fn eq(&self, other: &Self) -> bool {
        self.job() == other.job() && self.encode() == other.encode()
    }
}
impl Eq for JobOutput {}

impl std::fmt::Debug for JobOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.job(), self.to_json())
    }
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

impl JobInput {
    /// The job.
    pub fn job(&self) -> Job {
        match self {
            Self::Provision(_) => Job::Provision,
            Self::Exec(_) => Job::Exec,
            Self::Prompt(_) => Job::Prompt,
            Self::Task(_) => Job::Task,
            Self::SshProvision(_) => Job::SshProvision,
            Self::SshRevoke(_) => Job::SshRevoke,
            Self::Snapshot(_) => Job::Snapshot,
            Self::Deprovision(_) => Job::Deprovision,
        }
    }

    /// The job's input bytes: `abi.encode(request)`.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Provision(r) => r.abi_encode(),
            Self::Exec(r) => r.abi_encode(),
            Self::Prompt(r) => r.abi_encode(),
            Self::Task(r) => r.abi_encode(),
            Self::SshProvision(r) => r.abi_encode(),
            Self::SshRevoke(r) => r.abi_encode(),
            Self::Snapshot(r) => r.abi_encode(),
            Self::Deprovision(r) => r.abi_encode(),
        }
    }

    /// Decodes a job's input bytes (canonical encoding only).
    pub fn decode(job: Job, bytes: &[u8]) -> Result<Self> {
        let what = format!("{job} request");
        Ok(match job {
            Job::Provision => Self::Provision(decode_canonical(bytes, &what)?),
            Job::Exec => Self::Exec(decode_canonical(bytes, &what)?),
            Job::Prompt => Self::Prompt(decode_canonical(bytes, &what)?),
            Job::Task => Self::Task(decode_canonical(bytes, &what)?),
            Job::SshProvision => Self::SshProvision(decode_canonical(bytes, &what)?),
            Job::SshRevoke => Self::SshRevoke(decode_canonical(bytes, &what)?),
            Job::Snapshot => Self::Snapshot(decode_canonical(bytes, &what)?),
            Job::Deprovision => Self::Deprovision(decode_canonical(bytes, &what)?),
        })
    }

    /// The request as JSON (snake_case field names; bytes as 0x-hex).
    pub fn to_json(&self) -> Value {
        match self {
            Self::Provision(r) => json!({
                "cpu_millis": r.cpuMillis,
                "memory_mb": r.memoryMb,
                "disk_gb": r.diskGb,
                "lifetime_secs": r.lifetimeSecs,
                "idle_timeout_secs": r.idleTimeoutSecs,
                "image": r.image,
                "ssh_public_key": r.sshPublicKey,
                "customer_x25519_public_key": r.customerX25519PublicKey.to_string(),
                "attestation_nonce": r.attestationNonce.to_string(),
            }),
            Self::Exec(r) => json!({
                "command": r.command,
                "cwd": r.cwd,
                "env": r.env,
                "timeout_ms": r.timeoutMs,
            }),
            Self::Prompt(r) => json!({
                "prompt": r.prompt,
                "system_prompt": r.systemPrompt,
                "model": r.model,
                "max_tokens": r.maxTokens,
                "seed": r.seed,
                "timeout_ms": r.timeoutMs,
            }),
            Self::Task(r) => json!({
                "prompt": r.prompt,
                "system_prompt": r.systemPrompt,
                "model": r.model,
                "max_turns": r.maxTurns,
                "seed": r.seed,
                "timeout_ms": r.timeoutMs,
                "workflow_json": r.workflowJson,
            }),
            Self::SshProvision(r) => json!({"username": r.username, "public_key": r.publicKey}),
            Self::SshRevoke(r) => json!({"username": r.username, "public_key": r.publicKey}),
            Self::Snapshot(r) => json!({
                "destination_url": r.destinationUrl,
                "include_state": r.includeState,
                "docker_commit": r.dockerCommit,
            }),
            Self::Deprovision(r) => json!({"reason": r.reason}),
        }
    }
}

impl JobOutput {
    /// Decodes a job's output bytes (canonical encoding only, as the service manager does).
    pub fn decode(job: Job, bytes: &[u8]) -> Result<Self> {
        let what = format!("{job} result");
        Ok(match job {
            Job::Provision => Self::Provision(decode_canonical(bytes, &what)?),
            Job::Exec => Self::Exec(decode_canonical(bytes, &what)?),
            Job::Prompt => Self::Prompt(decode_canonical(bytes, &what)?),
            Job::Task => Self::Task(decode_canonical(bytes, &what)?),
            Job::SshProvision => Self::SshProvision(decode_canonical(bytes, &what)?),
            Job::SshRevoke => Self::SshRevoke(decode_canonical(bytes, &what)?),
            Job::Snapshot => Self::Snapshot(decode_canonical(bytes, &what)?),
            Job::Deprovision => Self::Deprovision(decode_canonical(bytes, &what)?),
        })
    }

    /// The job.
    pub fn job(&self) -> Job {
        match self {
            Self::Provision(_) => Job::Provision,
            Self::Exec(_) => Job::Exec,
            Self::Prompt(_) => Job::Prompt,
            Self::Task(_) => Job::Task,
            Self::SshProvision(_) => Job::SshProvision,
            Self::SshRevoke(_) => Job::SshRevoke,
            Self::Snapshot(_) => Job::Snapshot,
            Self::Deprovision(_) => Job::Deprovision,
        }
    }

    /// The result bytes as an operator submits them: `abi.encode(result)`.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Provision(r) => r.abi_encode(),
            Self::Exec(r) => r.abi_encode(),
            Self::Prompt(r) => r.abi_encode(),
            Self::Task(r) => r.abi_encode(),
            Self::SshProvision(r) => r.abi_encode(),
            Self::SshRevoke(r) => r.abi_encode(),
            Self::Snapshot(r) => r.abi_encode(),
            Self::Deprovision(r) => r.abi_encode(),
        }
    }

    /// Whether the result reports success (jobs without a flag: EXEC exit code 0, PROVISION
    /// and SNAPSHOT always).
    pub fn success(&self) -> bool {
        match self {
            Self::Provision(_) | Self::Snapshot(_) => true,
            Self::Exec(r) => r.exitCode == 0,
            Self::Prompt(r) => r.success,
            Self::Task(r) => r.success,
            Self::SshProvision(r) => r.success,
            Self::SshRevoke(r) => r.success,
            Self::Deprovision(r) => r.success,
        }
    }

    /// The result as JSON (snake_case field names; bytes as 0x-hex).
    pub fn to_json(&self) -> Value {
        match self {
            Self::Provision(r) => json!({
                "sandbox_id": r.sandboxId,
                "sidecar_url": r.sidecarUrl,
                "ssh_port": r.sshPort,
                "attestation": hex0x(&r.attestation),
                "attestation_hash": if r.attestation.is_empty() {
                    Value::Null
                } else {
                    json!(keccak256(&r.attestation).to_string())
                },
                "sealed_access": hex0x(&r.sealedAccess),
                "sidecar_public_key": r.sidecarPublicKey.to_string(),
            }),
            Self::Exec(r) => json!({
                "exit_code": r.exitCode,
                "stdout": r.stdout,
                "stderr": r.stderr,
                "ves_sequence": r.vesSequence,
                "ves_state_root": r.vesStateRoot.to_string(),
            }),
            Self::Prompt(r) => json!({
                "success": r.success,
                "response": r.response,
                "transcript_digest": r.transcriptDigest.to_string(),
            }),
            Self::Task(r) => json!({
                "success": r.success,
                "final_text": r.finalText,
                "transcript_digest": r.transcriptDigest.to_string(),
                "output_hash": r.outputHash.to_string(),
            }),
            Self::SshProvision(r) => json!({"success": r.success, "fingerprint": r.fingerprint}),
            Self::SshRevoke(r) => json!({"success": r.success}),
            Self::Snapshot(r) => json!({
                "snapshot_id": r.snapshotId,
                "sha256": r.sha256.to_string(),
                "size_bytes": r.sizeBytes,
                "location": r.location,
                "ves_sequence": r.vesSequence,
                "ves_state_root": r.vesStateRoot.to_string(),
            }),
            Self::Deprovision(r) => json!({"success": r.success}),
        }
    }

    /// A short human-readable form (may span lines for EXEC output and answers).
    pub fn summary(&self) -> String {
        match self {
            Self::Provision(r) => format!(
                "sandbox {} at {} (ssh port {}), sidecar key {}, attestation {}",
                r.sandboxId,
                r.sidecarUrl,
                r.sshPort,
                r.sidecarPublicKey,
                if r.attestation.is_empty() {
                    "none".to_owned()
                } else {
                    format!(
                        "{} bytes (keccak {})",
                        r.attestation.len(),
                        keccak256(&r.attestation)
                    )
                }
            ),
            Self::Exec(r) => {
                let mut s = format!(
                    "exit code {} (VES head {} {})",
                    r.exitCode, r.vesSequence, r.vesStateRoot
                );
                if !r.stdout.is_empty() {
                    s.push_str(&format!("\n  stdout: {}", indent(&r.stdout)));
                }
                if !r.stderr.is_empty() {
                    s.push_str(&format!("\n  stderr: {}", indent(&r.stderr)));
                }
                s
            }
            Self::Prompt(r) => format!(
                "success={} transcript {}\n  response: {}",
                r.success,
                r.transcriptDigest,
                indent(&r.response)
            ),
            Self::Task(r) => format!(
                "success={} transcript {} output {}\n  final text: {}",
                r.success,
                r.transcriptDigest,
                r.outputHash,
                indent(&r.finalText)
            ),
            Self::SshProvision(r) => format!("success={} fingerprint {}", r.success, r.fingerprint),
            Self::SshRevoke(r) => format!("success={}", r.success),
            Self::Snapshot(r) => format!(
                "snapshot {} sha256 {} ({} bytes) at {:?} (VES head {} {})",
                r.snapshotId, r.sha256, r.sizeBytes, r.location, r.vesSequence, r.vesStateRoot
            ),
            Self::Deprovision(r) => format!("success={}", r.success),
        }
    }
}

/// Continuation lines of a multi-line value, indented under their label.
fn indent(text: &str) -> String {
    text.trim_end_matches('\n').replace('\n', "\n          ")
}
