//! The interface through which step kinds are carried out.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use uuid::Uuid;

use crate::cancel::CancelToken;
use crate::definition::{StepDef, StepKind};
use crate::validate::ValidatedWorkflow;

/// Everything an executor needs for one attempt of one step.
#[derive(Debug, Clone)]
pub struct StepContext {
    /// The run.
    pub run_id: Uuid,
    /// Index of the step in the definition.
    pub step_index: usize,
    /// Attempt number, from 1. After a crash the interrupted attempt is re-executed with the
    /// same number, so the idempotency key repeats.
    pub attempt: u32,
    /// The resolved input object.
    pub input: Value,
    /// Cancelled when the run is cancelled or fails; executors should stop promptly.
    pub cancel: CancelToken,
    /// The workflow.
    pub workflow: Arc<ValidatedWorkflow>,
}

impl StepContext {
    /// The step definition.
    pub fn step(&self) -> &StepDef {
        &self.workflow.def().steps[self.step_index]
    }

    /// The step's id.
    pub fn step_id(&self) -> &str {
        &self.step().id
    }

    /// The step's kind.
    pub fn kind(&self) -> &StepKind {
        &self.step().kind
    }

    /// `"{run_id}:{step_id}:{attempt}"`: pass it to external systems so that a repeated
    /// attempt (after a crash) is applied once.
    pub fn idempotency_key(&self) -> String {
        format!("{}:{}:{}", self.run_id, self.step_id(), self.attempt)
    }
}

/// A successful attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutput {
    /// The step's output (any JSON; must be canonicalisable: no integers beyond ±(2^53−1)).
    pub output: Value,
    /// Cost charged against the workflow's budget (e.g. LLM spend).
    pub cost: f64,
}

impl StepOutput {
    /// Output with zero cost.
    pub fn new(output: Value) -> Self {
        Self { output, cost: 0.0 }
    }
}

/// A failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    /// What went wrong.
    pub message: String,
    /// Whether another attempt may succeed (the retry policy still limits attempts).
    pub retryable: bool,
}

impl StepError {
    /// A failure worth retrying.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that retrying will not fix.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }
}

/// Carries out steps. The sidecar implements the command, LLM, HTTP and sub-workflow kinds;
/// the engine enforces timeouts, retries and cancellation around every call.
#[async_trait]
pub trait StepExecutor: Send + Sync + 'static {
    /// Executes one attempt.
    async fn execute(&self, ctx: StepContext) -> Result<StepOutput, StepError>;
}

/// Outputs every step's input object unchanged, whatever its kind (tests, benchmarks).
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoExecutor;

#[async_trait]
impl StepExecutor for EchoExecutor {
    async fn execute(&self, ctx: StepContext) -> Result<StepOutput, StepError> {
        Ok(StepOutput::new(ctx.input))
    }
}
