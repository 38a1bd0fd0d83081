//! Journal entries.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use ves::Hash32;

/// How a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Not finished (resumable).
    Running,
    /// Every step succeeded.
    Succeeded,
    /// A step failed for good, or a limit was hit.
    Failed,
    /// Cancelled by the caller.
    Cancelled,
}

impl RunStatus {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses [`RunStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }
}

/// One append-only journal entry of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JournalEntry {
    /// The run was created.
    RunStarted {
        /// Workflow hash.
        workflow_hash: Hash32,
        /// Input hash.
        input_hash: Hash32,
        /// Unix time in ms.
        started_at_ms: u64,
    },
    /// An attempt began.
    StepStarted {
        /// Step id.
        step: String,
        /// Attempt (from 1).
        attempt: u32,
    },
    /// An attempt succeeded.
    StepSucceeded {
        /// Step id.
        step: String,
        /// Attempt.
        attempt: u32,
        /// Hash of `output`.
        result_hash: Hash32,
        /// Cost charged.
        cost: f64,
        /// The output (kept in the journal; only its hash is signed into the stream).
        output: Value,
    },
    /// An attempt failed.
    StepFailed {
        /// Step id.
        step: String,
        /// Attempt.
        attempt: u32,
        /// Error message.
        error: String,
        /// Whether another attempt follows.
        will_retry: bool,
    },
    /// The run ended.
    RunFinished {
        /// Final status.
        status: RunStatus,
        /// Hash of the final output.
        output_hash: Hash32,
        /// Root of the step results.
        steps_root: Hash32,
        /// Why it did not succeed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

impl JournalEntry {
    /// The `type` tag.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::RunStarted { .. } => "run_started",
            Self::StepStarted { .. } => "step_started",
            Self::StepSucceeded { .. } => "step_succeeded",
            Self::StepFailed { .. } => "step_failed",
            Self::RunFinished { .. } => "run_finished",
        }
    }

    /// VES event type: `orchestrator.<type>`.
    pub fn event_type(&self) -> String {
        format!("orchestrator.{}", self.type_name())
    }

    /// The payload signed into the stream: the entry with `run_id` added and `output`
    /// (which can be large or private) left out; its hash is `result_hash`.
    pub fn signed_payload(&self, run_id: Uuid) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.remove("output");
            m.insert("run_id".into(), Value::String(run_id.to_string()));
        }
        v
    }
}

/// The signed form of an entry as found in an event payload (for verification).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SignedEntry {
    /// See [`JournalEntry::RunStarted`].
    RunStarted {
        /// Run.
        run_id: Uuid,
        /// Workflow hash.
        workflow_hash: Hash32,
        /// Input hash.
        input_hash: Hash32,
    },
    /// See [`JournalEntry::StepStarted`].
    StepStarted {
        /// Run.
        run_id: Uuid,
        /// Step.
        step: String,
        /// Attempt.
        attempt: u32,
    },
    /// See [`JournalEntry::StepSucceeded`].
    StepSucceeded {
        /// Run.
        run_id: Uuid,
        /// Step.
        step: String,
        /// Attempt.
        attempt: u32,
        /// Output hash.
        result_hash: Hash32,
    },
    /// See [`JournalEntry::StepFailed`].
    StepFailed {
        /// Run.
        run_id: Uuid,
        /// Step.
        step: String,
        /// Attempt.
        attempt: u32,
    },
    /// See [`JournalEntry::RunFinished`].
    RunFinished {
        /// Run.
        run_id: Uuid,
        /// Status.
        status: RunStatus,
        /// Output hash.
        output_hash: Hash32,
        /// Steps root.
        steps_root: Hash32,
    },
}

impl SignedEntry {
    /// The run the entry belongs to.
    pub fn run_id(&self) -> Uuid {
        match self {
            Self::RunStarted { run_id, .. }
            | Self::StepStarted { run_id, .. }
            | Self::StepSucceeded { run_id, .. }
            | Self::StepFailed { run_id, .. }
            | Self::RunFinished { run_id, .. } => *run_id,
        }
    }
}
