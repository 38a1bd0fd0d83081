//! Agent discovery index (issue 9).
//!
//! * [`manifest`]: the signed tool manifest and its canonical hash;
//! * [`index`]: agent records built only from registry events in chain order;
//! * [`query`]: filtered, deterministically ranked and explained discovery queries;
//! * [`rpc`]: JSON-RPC 2.0 over HTTP, with [`clock`] as its "now" (chain time for a follower);
//! * [`synth`]: deterministic synthetic agents for tests and benchmarks.
//!
//! The crate does not talk to a chain: a follower turns registry contract logs (after
//! enough confirmations) into [`RegistryEvent`]s and feeds them to [`Index::apply`].

pub mod clock;
pub mod ids;
pub mod index;
pub mod manifest;
mod postings;
pub mod query;
pub mod rpc;
pub mod synth;
pub mod text;

pub use ids::{agent_id_from_key, Address, AgentId, Bytes32};
pub use index::{
    AgentRecord, EffectiveStatus, EventPos, Index, IndexError, RecordStatus, RegistryEvent,
};
pub use manifest::{verify, ManifestError, SignedManifest, Tool, ToolManifest};
pub use query::{discover_query, DiscoverQuery, QueryError, QueryResponse};
