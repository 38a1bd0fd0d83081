//! The command line (clap derive). Kept in the library so tests can parse argument lists.

use std::path::PathBuf;

use agent_orchestrator::VerifyLevel;
use blueprint_sdk::alloy::primitives::{Address, U256};
use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

use crate::chain::ChainOpts;
use crate::job_args::JobCommand;

/// agentctl: drive an agent-instance service on Tangle as its customer.
#[derive(Debug, Parser)]
#[command(name = "agentctl", version, about)]
pub struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the customer's X25519 key pair (file mode 0600).
    Keygen(KeygenArgs),
    /// Request a service from a blueprint with the given operators.
    RequestService(RequestServiceArgs),
    /// Submit one of the eight jobs; prints the call id.
    Submit(SubmitArgs),
    /// Wait until a call has all required results and print each operator's result.
    Wait(WaitArgs),
    /// Show every operator's sandbox endpoint as recorded by the service manager.
    Endpoints(EndpointsArgs),
    /// Per-operator result hashes of a call and their consensus.
    Results(ResultsArgs),
    /// Open the sealed sidecar access tokens from the PROVISION results.
    OpenAccess(OpenAccessArgs),
    /// Live output from every operator's sidecar.
    #[command(subcommand)]
    Stream(StreamCommand),
    /// Verify a sandbox's event log or an orchestrator receipt.
    #[command(subcommand)]
    Verify(VerifyCommand),
    /// Find agents by capability in the discovery index.
    Discover(DiscoverArgs),
    /// An agent's record, endpoint and verified manifest from the discovery index.
    Resolve(ResolveArgs),
}

/// `discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// The discovery index's JSON-RPC URL.
    #[arg(long, env = "AGENT_INDEX_URL", default_value = "http://127.0.0.1:8600")]
    pub index_url: String,
    /// Exact tool category (e.g. llm, compute, storage).
    #[arg(long)]
    pub category: Option<String>,
    /// Free text matched against tool names and descriptions.
    #[arg(long)]
    pub q: Option<String>,
    /// Exact tool id.
    #[arg(long)]
    pub tool_id: Option<String>,
    /// At most this many results (the index caps it at 100).
    #[arg(long)]
    pub limit: Option<u32>,
}

/// `resolve`.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The discovery index's JSON-RPC URL.
    #[arg(long, env = "AGENT_INDEX_URL", default_value = "http://127.0.0.1:8600")]
    pub index_url: String,
    /// The agent id (0x + 64 hex digits).
    pub agent_id: String,
}

/// `keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the key pair.
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `request-service`.
#[derive(Debug, Args)]
pub struct RequestServiceArgs {
    /// Chain options.
    #[command(flatten)]
    pub chain: ChainOpts,
    /// The blueprint.
    #[arg(long)]
    pub blueprint_id: u64,
    /// The operators, comma separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub operators: Vec<Address>,
    /// Service lifetime in seconds (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    pub ttl: u64,
    /// Another address allowed to submit jobs (repeatable or comma separated).
    #[arg(long, value_delimiter = ',')]
    pub permitted_caller: Vec<Address>,
    /// Native payment sent with the request, in wei.
    #[arg(long, default_value = "0")]
    pub payment_wei: U256,
}

/// Options of every wait.
#[derive(Debug, Clone, Args)]
pub struct WaitOpts {
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120, global = true)]
    pub timeout: u64,
    /// First block to search for results (default: the submission block, or 0).
    #[arg(long, global = true)]
    pub from_block: Option<u64>,
    /// Poll interval in milliseconds.
    #[arg(long, default_value_t = 1000, global = true)]
    pub poll_ms: u64,
}

/// `submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Chain options.
    #[command(flatten)]
    pub chain: ChainOpts,
    /// The service.
    #[arg(long, global = true)]
    pub service_id: Option<u64>,
    /// Value to pay in wei (default: the job's event rate for event-driven services, else 0).
    #[arg(long, global = true)]
    pub value: Option<U256>,
    /// Wait for the results and print them.
    #[arg(long, global = true)]
    pub wait: bool,
    /// Wait options.
    #[command(flatten)]
    pub wait_opts: WaitOpts,
    /// The job.
    #[command(subcommand)]
    pub job: JobCommand,
}

/// `wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Chain options.
    #[command(flatten)]
    pub chain: ChainOpts,
    /// The service.
    #[arg(long)]
    pub service_id: u64,
    /// The call.
    #[arg(long)]
    pub call_id: u64,
    /// Wait options.
    #[command(flatten)]
    pub wait_opts: WaitOpts,
}

/// `endpoints`.
#[derive(Debug, Args)]
pub struct EndpointsArgs {
    /// Chain options.
    #[command(flatten)]
    pub chain: ChainOpts,
    /// The service.
    #[arg(long)]
    pub service_id: u64,
}

/// `results`.
#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// Chain options.
    #[command(flatten)]
    pub chain: ChainOpts,
    /// The service.
    #[arg(long)]
    pub service_id: u64,
    /// The call.
    #[arg(long)]
    pub call_id: u64,
}

/// `open-access`.
#[derive(Debug, Args)]
pub struct OpenAccessArgs {
    /// Chain options.
    #[command(flatten)]
    pub chain: ChainOpts,
    /// The service.
    #[arg(long)]
    pub service_id: u64,
    /// The customer key file (from `keygen`).
    #[arg(long)]
    pub key: PathBuf,
    /// Only this PROVISION call (default: each operator's latest PROVISION result).
    #[arg(long)]
    pub call_id: Option<u64>,
    /// First block to search for PROVISION results.
    #[arg(long, default_value_t = 0)]
    pub from_block: u64,
    /// Print the tokens (otherwise they are only written to the access file).
    #[arg(long)]
    pub show_tokens: bool,
    /// The access file to write (default: access-<service id>.json unless --show-tokens).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Overwrite an existing access file.
    #[arg(long)]
    pub force: bool,
}

/// `stream ...`.
#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Run a command on every operator's sidecar at once, output prefixed per operator.
    Exec(StreamExecArgs),
}

/// Where sidecar tokens come from.
#[derive(Debug, Clone, Args)]
pub struct TokenSource {
    /// An access file written by `open-access`.
    #[arg(long, conflicts_with = "key")]
    pub access: Option<PathBuf>,
    /// The customer key file: open the tokens from the chain now.
    #[arg(long)]
    pub key: Option<PathBuf>,
}

/// `stream exec`.
#[derive(Debug, Args)]
pub struct StreamExecArgs {
    /// Chain options.
    #[command(flatten)]
    pub chain: ChainOpts,
    /// The service.
    #[arg(long)]
    pub service_id: u64,
    /// The shell command.
    #[arg(long)]
    pub command: String,
    /// Working directory.
    #[arg(long)]
    pub cwd: Option<String>,
    /// Environment variable NAME=value (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Timeout in milliseconds.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Tokens.
    #[command(flatten)]
    pub tokens: TokenSource,
}

/// `verify ...`.
#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Verify a sandbox's event log (signatures, receipts, proofs, state root, chain anchor).
    Log(VerifyLogArgs),
    /// Verify an orchestrator execution receipt (basic and full levels).
    Receipt(VerifyReceiptArgs),
}

/// Which sidecar to talk to.
#[derive(Debug, Clone, Args)]
pub struct SidecarTarget {
    /// Sidecar base URL (default: from --access for --operator).
    #[arg(long)]
    pub sidecar_url: Option<String>,
    /// Sidecar bearer token (default: from --access for --operator).
    #[arg(long, env = "AGENT_SIDECAR_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// An access file written by `open-access`.
    #[arg(long)]
    pub access: Option<PathBuf>,
}

/// `verify log`.
#[derive(Debug, Args)]
pub struct VerifyLogArgs {
    /// Chain options.
    #[command(flatten)]
    pub chain: ChainOpts,
    /// The sidecar.
    #[command(flatten)]
    pub target: SidecarTarget,
    /// Compare with the anchor of this service ...
    #[arg(long, requires = "operator")]
    pub service_id: Option<u64>,
    /// ... and this operator (also picks the sidecar from --access).
    #[arg(long)]
    pub operator: Option<Address>,
    /// Commit pending events first so that every event gets an inclusion proof.
    #[arg(long)]
    pub commit: bool,
}

/// `verify receipt`.
#[derive(Debug, Args)]
pub struct VerifyReceiptArgs {
    /// Chain options.
    #[command(flatten)]
    pub chain: ChainOpts,
    /// A receipt or evidence JSON file (`-` = stdin).
    #[arg(conflicts_with = "run_id", required_unless_present = "run_id")]
    pub file: Option<PathBuf>,
    /// Fetch the evidence of this run from the sidecar.
    #[arg(long)]
    pub run_id: Option<Uuid>,
    /// The sidecar.
    #[command(flatten)]
    pub target: SidecarTarget,
    /// Only this level (default: basic, and full when the evidence allows it).
    #[arg(long, value_parser = parse_level)]
    pub level: Option<VerifyLevel>,
    /// The sidecar key the receipt must be signed with (hex).
    #[arg(long, conflicts_with = "service_id")]
    pub trusted_key: Option<String>,
    /// Take the trusted key from the chain: this service ...
    #[arg(long, requires = "operator")]
    pub service_id: Option<u64>,
    /// ... and this operator.
    #[arg(long)]
    pub operator: Option<Address>,
}

fn parse_level(s: &str) -> Result<VerifyLevel, String> {
    s.parse::<VerifyLevel>().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
