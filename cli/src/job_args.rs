//! Typed command-line arguments of the eight jobs and their conversion to [`JobInput`].
//!
//! Job inputs are public on chain: never put secrets into `--env`, prompts or URLs.

use std::path::{Path, PathBuf};

use agent_orchestrator::{ValidatedWorkflow, WorkflowDef};
use agent_types::AgentJobs::{
    DeprovisionRequest, ExecRequest, PromptRequest, ProvisionRequest, SnapshotRequest,
    SshProvisionRequest, SshRevokeRequest, TaskRequest,
};
use blueprint_sdk::alloy::primitives::FixedBytes;
use clap::{Args, Subcommand};
use rand::RngCore;

use crate::jobs::JobInput;
use crate::keys::{parse_hex32, CustomerKey};
use crate::{Error, Result};

/// One job with its typed arguments.
#[derive(Debug, Clone, Subcommand)]
pub enum JobCommand {
    /// 0 PROVISION: create the sandbox on every operator.
    Provision(ProvisionArgs),
    /// 1 EXEC: run a shell command in the sandbox (one operator answers).
    Exec(ExecArgs),
    /// 2 PROMPT: one agent prompt (every operator answers).
    Prompt(PromptArgs),
    /// 3 TASK: an agent task or a workflow (every operator answers).
    Task(TaskArgs),
    /// 4 SSH_PROVISION: authorise an SSH public key.
    SshProvision(SshProvisionArgs),
    /// 5 SSH_REVOKE: remove an SSH public key (or every key of the user).
    SshRevoke(SshRevokeArgs),
    /// 6 SNAPSHOT: snapshot the workspace.
    Snapshot(SnapshotArgs),
    /// 7 DEPROVISION: destroy the sandbox on every operator.
    Deprovision(DeprovisionArgs),
}

/// PROVISION arguments.
#[derive(Debug, Clone, Args)]
pub struct ProvisionArgs {
    /// CPU limit in thousandths of a core.
    #[arg(long, default_value_t = 1000)]
    pub cpu_millis: u32,
    /// Memory limit in MiB.
    #[arg(long, default_value_t = 1024)]
    pub memory_mb: u64,
    /// Disk quota in GiB.
    #[arg(long, default_value_t = 10)]
    pub disk_gb: u32,
    /// Maximum lifetime of the sandbox in seconds.
    #[arg(long, default_value_t = 3600)]
    pub lifetime_secs: u64,
    /// Idle timeout in seconds.
    #[arg(long, default_value_t = 900)]
    pub idle_timeout_secs: u64,
    /// Sandbox image (empty: the operator's default image).
    #[arg(long, default_value = "")]
    pub image: String,
    /// An SSH public key to authorise at creation (e.g. "ssh-ed25519 AAAA… me@host").
    #[arg(long, conflicts_with = "ssh_key_file")]
    pub ssh_key: Option<String>,
    /// Read the SSH public key from this file.
    #[arg(long)]
    pub ssh_key_file: Option<PathBuf>,
    /// The customer key file (from `keygen`); its public key receives the sealed access token.
    #[arg(long, required_unless_present = "customer_public_key")]
    pub customer_key: Option<PathBuf>,
    /// The customer's X25519 public key as hex, instead of a key file.
    #[arg(long, conflicts_with = "customer_key")]
    pub customer_public_key: Option<String>,
    /// 32-byte attestation nonce as hex (default: random; it is printed with the submission).
    #[arg(long)]
    pub nonce: Option<String>,
}

/// EXEC arguments.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// The shell command.
    #[arg(long)]
    pub command: String,
    /// Working directory (empty: the workspace).
    #[arg(long, default_value = "")]
    pub cwd: String,
    /// Environment variable NAME=value (repeatable). Public on chain: no secrets.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Timeout in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub timeout_ms: u64,
}

/// PROMPT arguments.
#[derive(Debug, Clone, Args)]
pub struct PromptArgs {
    /// The prompt.
    #[arg(long)]
    pub prompt: String,
    /// System prompt.
    #[arg(long, default_value = "")]
    pub system_prompt: String,
    /// Model name (empty: the sidecar's default).
    #[arg(long, default_value = "")]
    pub model: String,
    /// Maximum tokens of the answer.
    #[arg(long, default_value_t = 1024)]
    pub max_tokens: u32,
    /// Sampling seed (equal seeds let operators agree).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Timeout in milliseconds.
    #[arg(long, default_value_t = 120_000)]
    pub timeout_ms: u64,
}

/// TASK arguments.
#[derive(Debug, Clone, Args)]
pub struct TaskArgs {
    /// The task prompt (may be empty with --workflow).
    #[arg(long, default_value = "")]
    pub prompt: String,
    /// System prompt.
    #[arg(long, default_value = "")]
    pub system_prompt: String,
    /// Model name (empty: the sidecar's default).
    #[arg(long, default_value = "")]
    pub model: String,
    /// Maximum agent turns.
    #[arg(long, default_value_t = 8)]
    pub max_turns: u32,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Timeout in milliseconds.
    #[arg(long, default_value_t = 600_000)]
    pub timeout_ms: u64,
    /// A workflow definition (JSON file); it is validated before submission.
    #[arg(long)]
    pub workflow: Option<PathBuf>,
}

/// SSH_PROVISION arguments.
#[derive(Debug, Clone, Args)]
pub struct SshProvisionArgs {
    /// The sandbox user.
    #[arg(long)]
    pub username: String,
    /// The SSH public key.
    #[arg(
        long,
        required_unless_present = "key_file",
        conflicts_with = "key_file"
    )]
    pub key: Option<String>,
    /// Read the SSH public key from this file.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
}

/// SSH_REVOKE arguments.
#[derive(Debug, Clone, Args)]
pub struct SshRevokeArgs {
    /// The sandbox user.
    #[arg(long)]
    pub username: String,
    /// The SSH public key to remove (empty: every key of the user).
    #[arg(long, conflicts_with = "key_file")]
    pub key: Option<String>,
    /// Read the SSH public key from this file.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
}

/// SNAPSHOT arguments.
#[derive(Debug, Clone, Args)]
pub struct SnapshotArgs {
    /// Upload destination (empty: keep the snapshot on the operator).
    #[arg(long, default_value = "")]
    pub destination_url: String,
    /// Include the sidecar state (event log, journal).
    #[arg(long)]
    pub include_state: bool,
    /// Also commit the container as an image.
    #[arg(long)]
    pub docker_commit: bool,
}

/// DEPROVISION arguments.
#[derive(Debug, Clone, Args)]
pub struct DeprovisionArgs {
    /// Why (recorded on chain).
    #[arg(long, default_value = "customer request")]
    pub reason: String,
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

fn ssh_key(inline: &Option<String>, file: &Option<PathBuf>) -> Result<String> {
    let key = match (inline, file) {
        (Some(k), _) => k.trim().to_owned(),
        (None, Some(path)) => read_text(path)?.trim().to_owned(),
        (None, None) => String::new(),
    };
    if key.contains('\n') {
        return Err(Error::input("an SSH public key is a single line"));
    }
    Ok(key)
}

/// Checks a `NAME=value` entry: a non-empty name of letters, digits and `_`, not starting
/// with a digit.
pub fn check_env_entry(entry: &str) -> Result<()> {
    let (name, _) = entry
        .split_once('=')
        .ok_or_else(|| Error::input(format!("--env {entry:?}: expected NAME=VALUE")))?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(Error::input(format!(
            "--env {entry:?}: invalid variable name {name:?}"
        )));
    }
    Ok(())
}

/// Reads and validates a workflow file; returns its text (trimmed) as it will go on chain.
pub fn read_workflow(path: &Path) -> Result<String> {
    let text = read_text(path)?;
    let def: WorkflowDef = serde_json::from_str(&text).map_err(|e| {
        Error::input(format!(
            "{}: not a workflow definition: {e}",
            path.display()
        ))
    })?;
    ValidatedWorkflow::new(def)
        .map_err(|e| Error::input(format!("{}: invalid workflow: {e}", path.display())))?;
    Ok(text.trim().to_owned())
}

impl ProvisionArgs {
    fn customer_public_key(&self) -> Result<[u8; 32]> {
        let key = match (&self.customer_public_key, &self.customer_key) {
            (Some(hex), _) => parse_hex32(hex, "--customer-public-key")?,
            (None, Some(path)) => CustomerKey::read(path)?.public(),
            (None, None) => {
                return Err(Error::input(
                    "give --customer-key FILE or --customer-public-key HEX",
                ))
            }
        };
        if key == [0u8; 32] {
            return Err(Error::input("the customer public key must not be zero"));
        }
        Ok(key)
    }

    fn nonce(&self) -> Result<[u8; 32]> {
        match &self.nonce {
            Some(hex) => parse_hex32(hex, "--nonce"),
            None => {
                let mut n = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut n);
                Ok(n)
            }
        }
    }
}

impl JobCommand {
    /// The typed job input (reads the files the arguments name).
    pub fn to_input(&self) -> Result<JobInput> {
        Ok(match self {
            Self::Provision(a) => JobInput::Provision(ProvisionRequest {
                cpuMillis: a.cpu_millis,
                memoryMb: a.memory_mb,
                diskGb: a.disk_gb,
                lifetimeSecs: a.lifetime_secs,
                idleTimeoutSecs: a.idle_timeout_secs,
                image: a.image.clone(),
                sshPublicKey: ssh_key(&a.ssh_key, &a.ssh_key_file)?,
                customerX25519PublicKey: FixedBytes(a.customer_public_key()?),
                attestationNonce: FixedBytes(a.nonce()?),
            }),
            Self::Exec(a) => {
                if a.command.trim().is_empty() {
                    return Err(Error::input("--command must not be empty"));
                }
                for entry in &a.env {
                    check_env_entry(entry)?;
                }
                JobInput::Exec(ExecRequest {
                    command: a.command.clone(),
                    cwd: a.cwd.clone(),
                    env: a.env.clone(),
                    timeoutMs: a.timeout_ms,
                })
            }
            Self::Prompt(a) => {
                if a.prompt.is_empty() {
                    return Err(Error::input("--prompt must not be empty"));
                }
                JobInput::Prompt(PromptRequest {
                    prompt: a.prompt.clone(),
                    systemPrompt: a.system_prompt.clone(),
                    model: a.model.clone(),
                    maxTokens: a.max_tokens,
                    seed: a.seed,
                    timeoutMs: a.timeout_ms,
                })
            }
            Self::Task(a) => {
                let workflow = a.workflow.as_deref().map(read_workflow).transpose()?;
                if a.prompt.is_empty() && workflow.is_none() {
                    return Err(Error::input("give --prompt or --workflow"));
                }
                JobInput::Task(TaskRequest {
                    prompt: a.prompt.clone(),
                    systemPrompt: a.system_prompt.clone(),
                    model: a.model.clone(),
                    maxTurns: a.max_turns,
                    seed: a.seed,
                    timeoutMs: a.timeout_ms,
                    workflowJson: workflow.unwrap_or_default(),
                })
            }
            Self::SshProvision(a) => {
                let key = ssh_key(&a.key, &a.key_file)?;
                if a.username.is_empty() || key.is_empty() {
                    return Err(Error::input("--username and a non-empty key are required"));
                }
                JobInput::SshProvision(SshProvisionRequest {
                    username: a.username.clone(),
                    publicKey: key,
                })
            }
            Self::SshRevoke(a) => {
                if a.username.is_empty() {
                    return Err(Error::input("--username must not be empty"));
                }
                JobInput::SshRevoke(SshRevokeRequest {
                    username: a.username.clone(),
                    publicKey: ssh_key(&a.key, &a.key_file)?,
                })
            }
            Self::Snapshot(a) => JobInput::Snapshot(SnapshotRequest {
                destinationUrl: a.destination_url.clone(),
                includeState: a.include_state,
                dockerCommit: a.docker_commit,
            }),
            Self::Deprovision(a) => JobInput::Deprovision(DeprovisionRequest {
                reason: a.reason.clone(),
            }),
        })
    }
}
