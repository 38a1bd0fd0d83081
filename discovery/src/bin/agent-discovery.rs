//! `agent-discovery`: serves the discovery index over JSON-RPC.
//!
//! Until the chain follower lands, the index is loaded from files: registry events as JSON
//! lines (one `RegistryEvent` per line, chain order) and signed manifests as JSON lines (one
//! `SignedManifest` per line, attached after verification against the records).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use discovery::rpc::{serve, RpcState};
use discovery::{Index, RegistryEvent, SignedManifest};
use tokio::sync::RwLock;

#[derive(Parser)]
#[command(about = "Agent discovery index: JSON-RPC over HTTP")]
struct Args {
    /// Listen address (loopback by default; expose deliberately).
    #[arg(long, env = "DISCOVERY_LISTEN", default_value = "127.0.0.1:8547")]
    listen: SocketAddr,
    /// Registry events, one JSON object per line, in chain order.
    #[arg(long)]
    events: Option<PathBuf>,
    /// Signed manifests, one JSON object per line.
    #[arg(long)]
    manifests: Option<PathBuf>,
}

fn lines(path: &PathBuf) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let mut index = Index::new();
    if let Some(path) = &args.events {
        for (n, line) in lines(path)?.iter().enumerate() {
            let event: RegistryEvent = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: bad event", path.display(), n + 1))?;
            index
                .apply(&event)
                .with_context(|| format!("{}:{}: event refused", path.display(), n + 1))?;
        }
    }
    if let Some(path) = &args.manifests {
        for (n, line) in lines(path)?.iter().enumerate() {
            let attached = SignedManifest::from_json(line)
                .map_err(discovery::IndexError::from)
                .and_then(|m| {
                    let id: discovery::AgentId = m.manifest.agent_id.parse().map_err(|e| {
                        discovery::IndexError::Manifest(discovery::ManifestError::Malformed(
                            format!("{e}"),
                        ))
                    })?;
                    index.attach_manifest(&id, m)
                });
            if let Err(e) = attached {
                tracing::warn!("{}:{}: manifest refused: {e}", path.display(), n + 1);
            }
        }
    }
    tracing::info!(agents = index.len(), "index loaded");
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!("JSON-RPC on http://{}/", listener.local_addr()?);
    let state = RpcState::new(Arc::new(RwLock::new(index)));
    tokio::select! {
        r = serve(listener, state) => r.context("server failed")?,
        _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
    }
    Ok(())
}
