//! The Docker sandbox of one Tangle service: its container spec (pure) and the runtime that
//! creates, starts, stops and removes it through bollard.

pub mod runtime;
pub mod spec;

pub use runtime::{DockerRuntime, RuntimeError, SandboxState, SandboxStatus};
pub use spec::{SandboxResources, SandboxSpec, SpecError};
