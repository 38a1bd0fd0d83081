//! The sidecar: the HTTP server every sandbox runs.
//!
//! It is the URL customers stream from and the API the operator's jobs call. Everything but
//! `/health` requires the sandbox's bearer token (compared in constant time); the server refuses
//! to start without one.

pub mod account;
pub mod agent;
pub mod auth;
pub mod config;
pub mod error;
pub mod exec;
pub mod files;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod snapshot;
pub mod ssh;
pub mod sshd;
pub mod ves;
pub mod workflows;
pub mod workspace;

pub use config::{Config, ConfigError};
pub use server::{router, router_with_state, serve, AppState, StartupError};
