//! The discovery index node. It follows the `AgentRegistry`'s events from the chain, but only
//! blocks with `confirmations` blocks on top (so a reorg of fewer blocks never reaches the
//! index), rebuilds the index from the chain history on every start (nothing is trusted from
//! a previous run), fetches each registered agent's signed manifest from its endpoint and
//! attaches it only when its hash and signature match the record (`discovery::manifest`),
//! and serves the JSON-RPC methods of `discovery::rpc`.

pub mod decode;
pub mod follow;

pub use follow::{Follower, FollowerConfig};
