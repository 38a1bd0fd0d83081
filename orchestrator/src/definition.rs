//! The workflow definition (JSON).
//!
//! ```json
//! {
//!   "name": "summarise",
//!   "inputs": { "url": { "required": true } },
//!   "steps": [
//!     { "id": "fetch", "kind": { "type": "http", "method": "GET", "url": "https://example.org" },
//!       "timeout_ms": 10000, "retry": { "max_attempts": 3 } },
//!     { "id": "sum", "kind": { "type": "llm", "prompt": "Summarise: {{text}}" },
//!       "inputs": { "text": { "from": "step", "step": "fetch", "pointer": "/body" } } }
//!   ],
//!   "limits": { "max_run_time_ms": 600000, "max_cost": 2.5 }
//! }
//! ```
//!
//! A step depends on every step listed in `depends_on` and on every step whose output one of
//! its input mappings reads. Unknown fields are rejected.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A workflow: a DAG of steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDef {
    /// Human-readable name.
    pub name: String,
    /// Optional version label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Declared workflow inputs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, InputSpec>,
    /// The steps (ids unique).
    pub steps: Vec<StepDef>,
    /// Mapping of the run's final output; default: `{step_id: output}` of every step that no
    /// other step depends on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<BTreeMap<String, InputSource>>,
    /// Workflow-level limits.
    #[serde(default, skip_serializing_if = "Limits::is_unset")]
    pub limits: Limits,
}

/// A declared workflow input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Whether the caller must supply it (ignored when `default` is set).
    #[serde(default = "yes")]
    pub required: bool,
    /// Value used when the caller omits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn yes() -> bool {
    true
}

/// One step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    /// Unique id (`[A-Za-z0-9_.-]`, 1–128 bytes).
    pub id: String,
    /// What the step does.
    pub kind: StepKind,
    /// The step's input object: key → where the value comes from.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, InputSource>,
    /// Explicit dependencies (in addition to steps read by `inputs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Per-attempt timeout; default [`DEFAULT_STEP_TIMEOUT_MS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Retry policy; default: one attempt.
    #[serde(default, skip_serializing_if = "RetryPolicy::is_default")]
    pub retry: RetryPolicy,
}

/// Default per-attempt timeout: 5 minutes.
pub const DEFAULT_STEP_TIMEOUT_MS: u64 = 300_000;

impl StepDef {
    /// The effective per-attempt timeout.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.timeout_ms.unwrap_or(DEFAULT_STEP_TIMEOUT_MS))
    }
}

/// The kinds of step. The engine hands every kind to the [`crate::StepExecutor`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StepKind {
    /// A command in the sandbox.
    Command {
        /// Program.
        program: String,
        /// Arguments.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        args: Vec<String>,
        /// Extra environment.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        env: BTreeMap<String, String>,
        /// Working directory.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
    },
    /// An LLM prompt (`{{name}}` placeholders are filled from the step inputs by the executor).
    Llm {
        /// Prompt template.
        prompt: String,
        /// Model name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        /// Token limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_tokens: Option<u32>,
    },
    /// An HTTP call.
    Http {
        /// Method, e.g. `GET`.
        method: String,
        /// URL.
        url: String,
        /// Headers.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
        /// JSON body (the step inputs are used when absent and the method has a body).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
    },
    /// A nested workflow, run with the step's inputs as its inputs.
    SubWorkflow {
        /// The nested definition.
        workflow: Box<WorkflowDef>,
    },
    /// Does nothing; outputs its inputs (tests and benchmarks).
    Noop,
}

impl StepKind {
    /// The kind's tag.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Command { .. } => "command",
            Self::Llm { .. } => "llm",
            Self::Http { .. } => "http",
            Self::SubWorkflow { .. } => "sub_workflow",
            Self::Noop => "noop",
        }
    }
}

/// Where an input value comes from. `pointer` is an RFC 6901 JSON pointer into the source
/// (`""` or absent: the whole value); a pointer that selects nothing yields `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case", deny_unknown_fields)]
pub enum InputSource {
    /// A workflow input.
    Input {
        /// Input name.
        name: String,
        /// Pointer into it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pointer: Option<String>,
    },
    /// An earlier step's output (implies a dependency).
    Step {
        /// Step id.
        step: String,
        /// Pointer into its output.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pointer: Option<String>,
    },
    /// A literal.
    Literal {
        /// The value.
        value: Value,
    },
}

/// Retry policy: up to `max_attempts` attempts; before attempt `n + 1` wait
/// `min(max_backoff_ms, initial_backoff_ms · multiplier^(n−1))`, randomised by ±`jitter`
/// (a fraction in `[0, 1]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Total attempts (≥ 1).
    #[serde(default = "one")]
    pub max_attempts: u32,
    /// First backoff.
    #[serde(default = "hundred")]
    pub initial_backoff_ms: u64,
    /// Backoff cap.
    #[serde(default = "thirty_seconds")]
    pub max_backoff_ms: u64,
    /// Growth factor (≥ 1).
    #[serde(default = "two")]
    pub multiplier: f64,
    /// Jitter fraction in `[0, 1]`.
    #[serde(default = "fifth")]
    pub jitter: f64,
}

fn one() -> u32 {
    1
}
fn hundred() -> u64 {
    100
}
fn thirty_seconds() -> u64 {
    30_000
}
fn two() -> f64 {
    2.0
}
fn fifth() -> f64 {
    0.2
}

impl RetryPolicy {
    /// Whether this is the default policy (omitted from the canonical form).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: one(),
            initial_backoff_ms: hundred(),
            max_backoff_ms: thirty_seconds(),
            multiplier: two(),
            jitter: fifth(),
        }
    }
}

/// Workflow-level limits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock limit for the whole run, measured from its start (also across resumes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_run_time_ms: Option<u64>,
    /// Refuse definitions with more steps than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<u32>,
    /// Fail the run once the summed step costs exceed this budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost: Option<f64>,
    /// Run at most this many steps at once (further bounded by the engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
}

impl Limits {
    /// Whether no limit is set (omitted from the canonical form).
    pub fn is_unset(&self) -> bool {
        *self == Self::default()
    }
}

impl WorkflowDef {
    /// Parses JSON text (no validation; see [`crate::ValidatedWorkflow::parse`]).
    pub fn from_json(text: &str) -> Result<Self, crate::DefinitionError> {
        serde_json::from_str(text).map_err(|e| crate::DefinitionError::Parse(e.to_string()))
    }
}
