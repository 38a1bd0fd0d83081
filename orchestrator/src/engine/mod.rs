//! The workflow engine.

mod drive;
mod step;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use tokio::time::Instant;
use uuid::Uuid;
use ves::{Ed25519PublicKey, Hash32, Sig64, SigningKey};

use crate::cancel::CancelToken;
use crate::error::{DefinitionError, EngineError};
use crate::executor::StepExecutor;
use crate::hashing;
use crate::journal::{Journal, JournalEntry, RunStatus};
use crate::receipt::{Receipt, RECEIPT_VERSION};
use crate::validate::{resolve_source, ValidatedWorkflow};
use drive::{drive, Ending, Progress};

/// Engine settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// Most steps of one run executing at once (the workflow may ask for fewer).
    pub max_concurrency: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_concurrency: 64,
        }
    }
}

/// A finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// The run.
    pub run_id: Uuid,
    /// How it ended.
    pub status: RunStatus,
    /// Final output (`{"error": ...}` when it did not succeed).
    pub output: Value,
    /// Why it did not succeed.
    pub error: Option<String>,
    /// The signed receipt.
    pub receipt: Receipt,
}

/// Shared by the scheduler and the step tasks of one run.
pub(crate) struct RunCtx {
    pub run_id: Uuid,
    pub workflow: Arc<ValidatedWorkflow>,
    pub inputs: Arc<Value>,
    pub journal: Journal,
    pub executor: Arc<dyn StepExecutor>,
    pub cancel: CancelToken,
}

/// Runs workflows durably; see the crate docs.
#[derive(Clone)]
pub struct Engine {
    executor: Arc<dyn StepExecutor>,
    journal: Journal,
    key: SigningKey,
    config: EngineConfig,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("journal", &self.journal)
            .field("config", &self.config)
            .finish()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Engine {
    /// An engine executing steps with `executor`, journaling to `journal`, and signing
    /// receipts with the sidecar's `key`.
    pub fn new(
        executor: Arc<dyn StepExecutor>,
        journal: Journal,
        key: SigningKey,
        config: EngineConfig,
    ) -> Self {
        Self {
            executor,
            journal,
            key,
            config,
        }
    }

    /// The journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Validates `inputs` and durably records a new run (nothing executes yet).
    pub async fn start(
        &self,
        workflow: &ValidatedWorkflow,
        inputs: Value,
    ) -> Result<(Uuid, Value), EngineError> {
        let (inputs, input_hash) = workflow.prepare_inputs(inputs)?;
        let run_id = Uuid::new_v4();
        let started_at_ms = now_ms();
        let definition = serde_json::to_string(workflow.def())
            .map_err(|e| DefinitionError::Canonical(e.to_string()))?;
        let entry = JournalEntry::RunStarted {
            workflow_hash: workflow.hash(),
            input_hash,
            started_at_ms,
        };
        self.journal
            .start_run(run_id, definition, &inputs, entry, started_at_ms)?;
        self.journal.flush().await?;
        Ok((run_id, inputs))
    }

    /// Starts and runs a workflow to the end.
    pub async fn run(
        &self,
        workflow: Arc<ValidatedWorkflow>,
        inputs: Value,
        cancel: &CancelToken,
    ) -> Result<RunOutcome, EngineError> {
        let (run_id, inputs) = self.start(&workflow, inputs).await?;
        self.execute(
            run_id,
            workflow,
            inputs,
            Progress::fresh_for(),
            now_ms(),
            cancel,
        )
        .await
    }

    /// Resumes an unfinished run from the journal: completed steps are not executed again.
    pub async fn resume(
        &self,
        run_id: Uuid,
        cancel: &CancelToken,
    ) -> Result<RunOutcome, EngineError> {
        let stored = self.journal.load_run(run_id)?;
        if stored.status != RunStatus::Running {
            return Err(EngineError::AlreadyFinished(run_id.to_string()));
        }
        let workflow = Arc::new(ValidatedWorkflow::parse(&stored.definition)?);
        let recorded = stored.entries.iter().find_map(|e| match &e.entry {
            JournalEntry::RunStarted { workflow_hash, .. } => Some(*workflow_hash),
            _ => None,
        });
        if recorded != Some(workflow.hash()) {
            return Err(crate::JournalError::Corrupt(format!(
                "run {run_id}: stored definition does not match its run_started entry"
            ))
            .into());
        }
        let progress = Progress::replay(&workflow, &stored.entries);
        let started = stored.started_at_ms;
        self.execute(
            run_id,
            workflow,
            stored.inputs,
            |_| progress,
            started,
            cancel,
        )
        .await
    }

    /// Resumes every unfinished run, one after another.
    pub async fn resume_all(&self, cancel: &CancelToken) -> Result<Vec<RunOutcome>, EngineError> {
        let mut out = Vec::new();
        for run_id in self.journal.unfinished_runs()? {
            out.push(self.resume(run_id, cancel).await?);
        }
        Ok(out)
    }

    async fn execute(
        &self,
        run_id: Uuid,
        workflow: Arc<ValidatedWorkflow>,
        inputs: Value,
        progress: impl FnOnce(usize) -> Progress,
        started_at_ms: u64,
        cancel: &CancelToken,
    ) -> Result<RunOutcome, EngineError> {
        let mut progress = progress(workflow.len());
        let deadline = workflow.def().limits.max_run_time_ms.map(|max| {
            let elapsed = now_ms().saturating_sub(started_at_ms);
            Instant::now() + Duration::from_millis(max.saturating_sub(elapsed))
        });
        let max_concurrency = workflow
            .def()
            .limits
            .max_concurrency
            .map_or(self.config.max_concurrency, |m| {
                (m as usize).min(self.config.max_concurrency)
            })
            .max(1);
        let ctx = Arc::new(RunCtx {
            run_id,
            workflow: workflow.clone(),
            inputs: Arc::new(inputs),
            journal: self.journal.clone(),
            executor: self.executor.clone(),
            cancel: cancel.child(),
        });
        let ending = drive(
            ctx.clone(),
            &mut progress,
            cancel,
            deadline,
            max_concurrency,
        )
        .await?;
        self.finish(&ctx, &progress, ending).await
    }

    async fn finish(
        &self,
        ctx: &RunCtx,
        progress: &Progress,
        ending: Ending,
    ) -> Result<RunOutcome, EngineError> {
        let wf = &ctx.workflow;
        let (status, output, error) = match ending {
            Ending::Succeeded => (
                RunStatus::Succeeded,
                final_output(wf, &ctx.inputs, progress),
                None,
            ),
            Ending::Failed(e) => (RunStatus::Failed, json!({ "error": e }), Some(e)),
            Ending::Cancelled => {
                let e = "cancelled".to_string();
                (RunStatus::Cancelled, json!({ "error": e }), Some(e))
            }
        };
        let receipt_err = |e: DefinitionError| EngineError::Receipt(e.to_string());
        let output_hash = hashing::json_hash(hashing::RUN_OUTPUT, &output).map_err(receipt_err)?;
        let mut results = std::collections::BTreeMap::new();
        for (step, out) in wf.def().steps.iter().zip(&progress.outputs) {
            if let Some(out) = out {
                let h = hashing::step_output_hash(out).map_err(receipt_err)?;
                results.insert(step.id.as_str(), h);
            }
        }
        let steps_root = hashing::steps_root(results.iter().map(|(id, h)| (*id, h)));
        let (_, input_hash) = wf.prepare_inputs(ctx.inputs.as_ref().clone())?;
        self.journal.append(
            ctx.run_id,
            JournalEntry::RunFinished {
                status,
                output_hash,
                steps_root,
                error: error.clone(),
            },
        )?;
        self.journal.flush().await?;
        let head = self
            .journal
            .sink()
            .head()
            .map_err(crate::JournalError::from)?;
        let (tenant_id, store_id) = self.journal.sink().stream();
        let receipt = Receipt {
            version: RECEIPT_VERSION,
            run_id: ctx.run_id,
            tenant_id,
            store_id,
            status,
            workflow_hash: wf.hash(),
            input_hash,
            steps_root,
            steps_completed: u32::try_from(results.len()).unwrap_or(u32::MAX),
            output_hash,
            journal_head: head,
            signer: Ed25519PublicKey::from_signing_key(&self.key),
            signature: Sig64([0; 64]),
        }
        .sign(&self.key);
        self.journal
            .finish_run(ctx.run_id, status, &output, &receipt)?;
        self.journal.flush().await?;
        Ok(RunOutcome {
            run_id: ctx.run_id,
            status,
            output,
            error,
            receipt,
        })
    }
}

impl Progress {
    fn fresh_for() -> impl FnOnce(usize) -> Progress {
        Progress::fresh
    }
}

/// The run output: the `output` mapping, or `{step_id: output}` of the steps nothing depends on.
fn final_output(wf: &ValidatedWorkflow, inputs: &Value, progress: &Progress) -> Value {
    let output_of = |id: &str| wf.step_index(id).and_then(|j| progress.outputs[j].clone());
    let mut map = Map::new();
    match &wf.def().output {
        Some(mapping) => {
            for (key, source) in mapping {
                map.insert(key.clone(), resolve_source(source, inputs, output_of));
            }
        }
        None => {
            for (i, step) in wf.def().steps.iter().enumerate() {
                if wf.dependents(i).is_empty() {
                    map.insert(step.id.clone(), output_of(&step.id).unwrap_or(Value::Null));
                }
            }
        }
    }
    Value::Object(map)
}

/// Hash helper re-exported for verification: the output hash of a run output.
pub fn run_output_hash(output: &Value) -> Result<Hash32, DefinitionError> {
    hashing::json_hash(hashing::RUN_OUTPUT, output)
}
