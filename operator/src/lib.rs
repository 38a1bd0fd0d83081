//! The operator: a blueprint-sdk runner that keeps one Docker sandbox per Tangle service and
//! answers the eight agent-instance jobs against it.
//!
//! - [`jobs`]: the eight jobs (plain functions) and their blueprint-sdk handlers and router;
//! - [`manager`]: the sandbox lifecycle, reconciliation and idle/lifetime policy;
//! - [`state`]: the store of record; [`sandbox`]: the Docker runtime; [`sidecar_client`]: the
//!   sidecar's HTTP API; [`attestation`]: TEE evidence providers;
//! - [`runner`]: `operator run`; [`consumer`]: result submission that never stops the runner;
//!   [`metrics`]: Prometheus metrics.

pub mod attestation;
pub mod consumer;
pub mod cursor;
pub mod docker;
pub mod jobs;
pub mod keystore;
pub mod manager;
pub mod metrics;
pub mod registry;
pub mod runner;
pub mod sandbox;
pub mod settings;
pub mod sidecar_client;
pub mod state;

/// The blueprint-sdk version this operator is built against (for logs and `--version`).
pub const SDK_VERSION: &str = "0.2.0-alpha.20";

pub use blueprint_sdk::alloy;
