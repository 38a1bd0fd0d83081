//! The `ves` command line tool: keys, an offline outbox, push/pull and verification.
//!
//! Configuration comes from flags or the environment (`VES_URL`, `VES_API_KEY`,
//! `VES_TENANT`, `VES_STORE`, `VES_AGENT_ID`, `VES_KEY_FILE`, `VES_OUTBOX`). Output is
//! human-readable by default and JSON with `--json`. [`run`] returns the process exit code:
//! 0 on success, 1 when a verification fails; errors are reported by the binary (exit 2).

mod config;
mod events;
mod keys;
mod verify;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

pub use config::{read_key_file, write_key_file};

/// Global options.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Sequencer base URL.
    #[arg(long, env = "VES_URL", global = true)]
    pub url: Option<String>,
    /// API key.
    #[arg(long, env = "VES_API_KEY", global = true, hide_env_values = true)]
    pub api_key: Option<String>,
    /// Tenant id.
    #[arg(long, env = "VES_TENANT", global = true)]
    pub tenant: Option<Uuid>,
    /// Store id.
    #[arg(long, env = "VES_STORE", global = true)]
    pub store: Option<Uuid>,
    /// Agent id.
    #[arg(long, env = "VES_AGENT_ID", global = true)]
    pub agent_id: Option<Uuid>,
    /// Ed25519 seed file (64 hex digits).
    #[arg(
        long,
        env = "VES_KEY_FILE",
        global = true,
        default_value = "ves-agent.key"
    )]
    pub key_file: PathBuf,
    /// Agent key id.
    #[arg(long, env = "VES_KEY_ID", global = true, default_value_t = 1)]
    pub key_id: u32,
    /// Outbox database.
    #[arg(
        long,
        env = "VES_OUTBOX",
        global = true,
        default_value = "ves-outbox.db"
    )]
    pub outbox: PathBuf,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
}

/// `ves`: Verifiable Event Sync client.
#[derive(Debug, Parser)]
#[command(name = "ves", version, about)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate an Ed25519 key (seed file, mode 0600) and print its public key.
    Keygen(keys::KeygenArgs),
    /// Register the key file's public key (with proof of possession).
    RegisterKey(keys::RegisterArgs),
    /// Sign an event into the outbox (payload from --payload or stdin).
    Emit(events::EmitArgs),
    /// Push pending outbox events to the sequencer.
    Push(events::PushArgs),
    /// Push pending events, then show the sync state.
    Sync(events::PushArgs),
    /// Print new events as JSON lines and advance the durable local cursor.
    Pull(events::PullArgs),
    /// Show the stream head.
    Head,
    /// Verify an event's receipt against the sequencer's published key.
    VerifyReceipt(verify::ReceiptArgs),
    /// Verify an event's inclusion proof against the published commitment.
    VerifyProof(verify::ProofArgs),
    /// Pull everything and verify signatures, receipts, proofs and state roots.
    VerifyStream(verify::StreamArgs),
}

/// Runs a command; returns the exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let g = &cli.global;
    match cli.command {
        Command::Keygen(a) => keys::keygen(g, &a),
        Command::RegisterKey(a) => keys::register(g, &a).await,
        Command::Emit(a) => events::emit(g, &a),
        Command::Push(a) => events::push(g, &a, false).await,
        Command::Sync(a) => events::push(g, &a, true).await,
        Command::Pull(a) => events::pull(g, &a).await,
        Command::Head => events::head(g).await,
        Command::VerifyReceipt(a) => verify::receipt(g, &a).await,
        Command::VerifyProof(a) => verify::proof(g, &a).await,
        Command::VerifyStream(a) => verify::stream(g, &a).await,
    }
}

/// Prints `value` as one JSON line.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
