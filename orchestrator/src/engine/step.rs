//! One step: attempts with per-attempt timeout, retries with backoff, cancellation.

use std::sync::Arc;

use serde_json::Value;

use super::RunCtx;
use crate::executor::{StepContext, StepError};
use crate::hashing;
use crate::journal::JournalEntry;
use crate::retry::backoff;
use crate::JournalError;

/// How a step task ended.
pub(super) enum StepFinal {
    Succeeded { output: Value, cost: f64 },
    Failed(String),
    Cancelled,
    Journal(JournalError),
}

pub(super) async fn run_step(
    ctx: Arc<RunCtx>,
    index: usize,
    input: Value,
    first_attempt: u32,
) -> (usize, StepFinal) {
    let fin = attempts(&ctx, index, input, first_attempt).await;
    (index, fin)
}

async fn attempts(ctx: &Arc<RunCtx>, index: usize, input: Value, first: u32) -> StepFinal {
    let step = &ctx.workflow.def().steps[index];
    let policy = &step.retry;
    let mut attempt = first.max(1);
    loop {
        if ctx.cancel.is_cancelled() {
            return StepFinal::Cancelled;
        }
        let started = JournalEntry::StepStarted {
            step: step.id.clone(),
            attempt,
        };
        if let Err(e) = ctx.journal.append(ctx.run_id, started) {
            return StepFinal::Journal(e);
        }
        let sctx = StepContext {
            run_id: ctx.run_id,
            step_index: index,
            attempt,
            input: input.clone(),
            cancel: ctx.cancel.clone(),
            workflow: ctx.workflow.clone(),
        };
        let timeout = step.timeout();
        let result = tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => return StepFinal::Cancelled,
            r = tokio::time::timeout(timeout, ctx.executor.execute(sctx)) => r,
        };
        let error = match result {
            Ok(Ok(out)) => match hashing::step_output_hash(&out.output) {
                Ok(result_hash) => {
                    let cost = if out.cost.is_finite() && out.cost > 0.0 {
                        out.cost
                    } else {
                        0.0
                    };
                    let entry = JournalEntry::StepSucceeded {
                        step: step.id.clone(),
                        attempt,
                        result_hash,
                        cost,
                        output: out.output.clone(),
                    };
                    if let Err(e) = ctx.journal.append(ctx.run_id, entry) {
                        return StepFinal::Journal(e);
                    }
                    return StepFinal::Succeeded {
                        output: out.output,
                        cost,
                    };
                }
                Err(e) => StepError::fatal(format!("output cannot be hashed: {e}")),
            },
            Ok(Err(e)) => e,
            Err(_) => StepError::retryable(format!("timed out after {} ms", timeout.as_millis())),
        };
        let will_retry =
            error.retryable && attempt < policy.max_attempts && !ctx.cancel.is_cancelled();
        let failed = JournalEntry::StepFailed {
            step: step.id.clone(),
            attempt,
            error: error.message.clone(),
            will_retry,
        };
        if let Err(e) = ctx.journal.append(ctx.run_id, failed) {
            return StepFinal::Journal(e);
        }
        if !will_retry {
            return StepFinal::Failed(format!(
                "step {:?} failed on attempt {attempt}: {}",
                step.id, error.message
            ));
        }
        let delay = backoff(policy, attempt, &mut rand::thread_rng());
        tracing::debug!(run = %ctx.run_id, step = %step.id, attempt, ?delay, "retrying step");
        tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => return StepFinal::Cancelled,
            _ = tokio::time::sleep(delay) => {}
        }
        attempt += 1;
    }
}
