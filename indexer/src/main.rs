use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use blueprint_sdk::alloy::primitives::Address;
use clap::Parser;
use discovery::rpc::serve;
use indexer::FollowerConfig;

/// The agent discovery index: follows the AgentRegistry, serves JSON-RPC.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[arg(long, env = "AGENT_RPC_URL", default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// The AgentRegistry contract.
    #[arg(long, env = "AGENT_REGISTRY")]
    registry: Address,
    /// Blocks on top before a block's events are applied.
    #[arg(long, default_value_t = 2)]
    confirmations: u64,
    /// First block of the registry's history (its deployment block).
    #[arg(long, default_value_t = 0)]
    from_block: u64,
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// JSON-RPC listen address (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8600")]
    listen: SocketAddr,
    /// Directory of verified manifests by hash, so that a restart does not need the agents'
    /// endpoints (a cached manifest is verified like a fetched one). Default: no cache.
    #[arg(long, env = "AGENT_INDEXER_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    // Rebuild from the chain history before answering.
    let (follower, state) = indexer::open(FollowerConfig {
        rpc_url: args.rpc_url,
        registry: args.registry,
        confirmations: args.confirmations,
        from_block: args.from_block,
        poll: Duration::from_millis(args.poll_ms.max(100)),
        cache_dir: args.cache_dir,
    })
    .await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(listen = %listener.local_addr()?, "serving JSON-RPC");
    tokio::spawn(follower.run());
    serve(listener, state).await?;
    Ok(())
}
