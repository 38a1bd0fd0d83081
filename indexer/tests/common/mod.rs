//! Shared set-up of the indexer's integration tests: a real anvil with the real
//! `AgentRegistry`, agents with signed manifests served over HTTP, and the index node as the
//! binary runs it.

#![allow(dead_code)]

pub mod agents;
pub mod chain;
pub mod node;
