//! HTTP handlers, one module per area of the API. Handlers stay thin over the core modules.

pub mod agent;
pub mod attestation;
pub mod exec;
pub mod files;
pub mod health;
pub mod info;
pub mod manifest;
pub mod snapshots;
pub mod ssh;
pub mod ves;
pub mod workflows;
