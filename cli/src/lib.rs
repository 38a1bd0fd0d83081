//! `agentctl`, the customer's command line for agent-instance services on Tangle, as a
//! library so that end-to-end tests drive the very same code.
//!
//! * [`chain`] – provider, wallet, Tangle core and BSM contracts.
//! * [`jobs`] / [`job_args`] – typed job inputs → ABI bytes, result decoding, CLI arguments.
//! * [`service`] – request a service, operators, sandbox endpoints.
//! * [`submit`] / [`wait`] – submit a job (with its price), wait for the results.
//! * [`results`] – per-operator result hashes, consensus, minority.
//! * [`keys`] / [`access`] – the customer X25519 key, opening the sealed sidecar tokens.
//! * [`sidecar`] / [`stream`] – sidecar HTTP client, streamed exec on every operator.
//! * [`verify`] / [`receipt`] – event-log verification (with the chain anchor) and
//!   orchestrator receipt verification.
//! * [`output`] – human text, `--json`, progress spinners; [`args`] / [`commands`] – the CLI.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod args;
pub mod chain;
pub mod commands;
pub mod discover;
mod error;
pub mod job_args;
pub mod jobs;
pub mod keys;
pub mod output;
pub mod receipt;
pub mod results;
pub mod service;
pub mod sidecar;
pub mod stream;
pub mod submit;
pub mod verify;
pub mod wait;

pub use error::{Error, Result};
