//! The operator: a blueprint-sdk runner that keeps one Docker sandbox per Tangle service and
//! answers the eight agent-instance jobs against it.

pub mod attestation;
pub mod docker;
pub mod sandbox;

/// The blueprint-sdk version this operator is built against (for logs and `--version`).
pub const SDK_VERSION: &str = "0.2.0-alpha.20";

pub use blueprint_sdk::alloy;
