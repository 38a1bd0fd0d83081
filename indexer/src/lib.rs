//! The discovery index node. It follows the `AgentRegistry`'s events from the chain, but only
//! blocks with `confirmations` blocks on top (so a reorg of fewer blocks never reaches the
//! index), rebuilds the index from the chain history on every start (nothing is trusted from
//! a previous run) and again whenever a deeper reorg removed a block it applied, attaches each
//! registered agent's signed manifest (from the optional cache, else its endpoint) only when
//! its hash and signature match the record (`discovery::manifest`), and serves the JSON-RPC
//! methods of `discovery::rpc` with the chain's latest block time as "now".

pub mod cache;
pub mod chain;
pub mod decode;
pub mod follow;
pub mod manifests;

use std::sync::Arc;

use discovery::clock::ChainClock;
use discovery::index::Index;
use discovery::rpc::RpcState;
use tokio::sync::RwLock;

pub use follow::{FollowError, Follower, FollowerConfig, FollowerStats};

/// What the `agent-indexer` binary does before serving: an empty index, a follower over it,
/// and the first step (the rebuild from chain history). Returns the follower (to `run` or
/// `step`) and the RPC state to serve (chain time as "now").
pub async fn open(config: FollowerConfig) -> Result<(Follower, RpcState), FollowError> {
    let index = Arc::new(RwLock::new(Index::new()));
    let mut follower = Follower::new(config, index, ChainClock::new())?;
    let n = follower.step().await?;
    tracing::info!(events = n, "index rebuilt from chain history");
    let state = follower.rpc_state();
    Ok((follower, state))
}
