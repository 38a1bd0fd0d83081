//! The scheduler: Kahn's algorithm over the DAG with bounded parallelism.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::step::{run_step, StepFinal};
use super::RunCtx;
use crate::cancel::CancelToken;
use crate::journal::{JournalEntry, StoredEntry};
use crate::validate::resolve_source;
use crate::{JournalError, ValidatedWorkflow};

/// What is known about a run before (re)starting its scheduler.
pub(super) struct Progress {
    pub outputs: Vec<Option<Value>>,
    pub next_attempt: Vec<u32>,
    pub failed: Option<String>,
    pub cost: f64,
}

impl Progress {
    pub fn fresh(n: usize) -> Self {
        Self {
            outputs: vec![None; n],
            next_attempt: vec![1; n],
            failed: None,
            cost: 0.0,
        }
    }

    /// Replays journal entries: finished steps keep their outputs; an interrupted attempt is
    /// repeated with the same number; failed attempts count against the retry policy.
    pub fn replay(wf: &ValidatedWorkflow, entries: &[StoredEntry]) -> Self {
        let mut p = Self::fresh(wf.len());
        for e in entries {
            match &e.entry {
                JournalEntry::StepStarted { step, attempt } => {
                    if let Some(i) = wf.step_index(step) {
                        p.next_attempt[i] = *attempt;
                    }
                }
                JournalEntry::StepFailed {
                    step,
                    attempt,
                    error,
                    will_retry,
                } => {
                    if let Some(i) = wf.step_index(step) {
                        p.next_attempt[i] = attempt.saturating_add(1);
                        if !will_retry && p.failed.is_none() {
                            p.failed = Some(format!(
                                "step {step:?} failed on attempt {attempt}: {error}"
                            ));
                        }
                    }
                }
                JournalEntry::StepSucceeded {
                    step, output, cost, ..
                } => {
                    if let Some(i) = wf.step_index(step) {
                        p.outputs[i] = Some(output.clone());
                        p.cost += cost;
                    }
                }
                JournalEntry::RunStarted { .. } | JournalEntry::RunFinished { .. } => {}
            }
        }
        p
    }
}

/// How the scheduler ended.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ending {
    Succeeded,
    Failed(String),
    Cancelled,
}

fn step_input(
    wf: &ValidatedWorkflow,
    i: usize,
    inputs: &Value,
    outputs: &[Option<Value>],
) -> Value {
    let step = &wf.def().steps[i];
    let mut map = Map::new();
    for (key, source) in &step.inputs {
        let v = resolve_source(source, inputs, |id| {
            wf.step_index(id).and_then(|j| outputs[j].clone())
        });
        map.insert(key.clone(), v);
    }
    Value::Object(map)
}

pub(super) async fn drive(
    ctx: Arc<RunCtx>,
    progress: &mut Progress,
    user_cancel: &CancelToken,
    deadline: Option<Instant>,
    max_concurrency: usize,
) -> Result<Ending, JournalError> {
    let wf = ctx.workflow.clone();
    let n = wf.len();
    let max_cost = wf.def().limits.max_cost;
    let mut pending: Vec<usize> = (0..n)
        .map(|i| {
            wf.deps(i)
                .iter()
                .filter(|&&d| progress.outputs[d].is_none())
                .count()
        })
        .collect();
    let mut ready: VecDeque<usize> = (0..n)
        .filter(|&i| pending[i] == 0 && progress.outputs[i].is_none())
        .collect();
    let mut ending = progress.failed.clone().map(Ending::Failed);
    if ending.is_none() && user_cancel.is_cancelled() {
        ending = Some(Ending::Cancelled);
    }
    if ending.is_none() && deadline.is_some_and(|d| d <= Instant::now()) {
        ending = Some(Ending::Failed("run time limit exceeded".into()));
    }
    let mut journal_error = None;
    let mut tasks: JoinSet<(usize, StepFinal)> = JoinSet::new();
    let mut task_steps: HashMap<tokio::task::Id, usize> = HashMap::new();
    let sleep = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now));
    tokio::pin!(sleep);
    loop {
        while ending.is_none() && tasks.len() < max_concurrency {
            let Some(i) = ready.pop_front() else { break };
            let input = step_input(&wf, i, ctx.inputs.as_ref(), &progress.outputs);
            let handle = tasks.spawn(run_step(ctx.clone(), i, input, progress.next_attempt[i]));
            task_steps.insert(handle.id(), i);
        }
        if tasks.is_empty() {
            break;
        }
        let stop = |ending: &mut Option<Ending>, why: Ending| {
            if ending.is_none() {
                *ending = Some(why);
            }
            ctx.cancel.cancel();
        };
        tokio::select! {
            joined = tasks.join_next_with_id() => {
                let Some(joined) = joined else { continue };
                let (i, fin) = match joined {
                    Ok((id, r)) => {
                        task_steps.remove(&id);
                        r
                    }
                    Err(e) => {
                        let step = task_steps.remove(&e.id()).map(|i| wf.def().steps[i].id.clone());
                        stop(&mut ending, Ending::Failed(format!("step {step:?} panicked or was aborted: {e}")));
                        continue;
                    }
                };
                match fin {
                    StepFinal::Succeeded { output, cost } => {
                        progress.outputs[i] = Some(output);
                        progress.cost += cost;
                        for &d in wf.dependents(i) {
                            pending[d] -= 1;
                            if pending[d] == 0 {
                                ready.push_back(d);
                            }
                        }
                        if let Some(max) = max_cost {
                            if progress.cost > max {
                                let msg = format!("cost budget exceeded: spent {} of {max}", progress.cost);
                                stop(&mut ending, Ending::Failed(msg));
                            }
                        }
                    }
                    StepFinal::Failed(msg) => stop(&mut ending, Ending::Failed(msg)),
                    StepFinal::Cancelled if user_cancel.is_cancelled() => {
                        stop(&mut ending, Ending::Cancelled);
                    }
                    StepFinal::Cancelled => {}
                    StepFinal::Journal(e) => {
                        stop(&mut ending, Ending::Failed(format!("journal failed: {e}")));
                        journal_error.get_or_insert(e);
                    }
                }
            }
            _ = user_cancel.cancelled(), if ending.is_none() => stop(&mut ending, Ending::Cancelled),
            _ = &mut sleep, if ending.is_none() && deadline.is_some() => {
                stop(&mut ending, Ending::Failed("run time limit exceeded".into()));
            }
        }
    }
    if let Some(e) = journal_error {
        return Err(e);
    }
    Ok(match ending {
        Some(e) => e,
        None if progress.outputs.iter().all(Option::is_some) => Ending::Succeeded,
        None if user_cancel.is_cancelled() => Ending::Cancelled,
        None => Ending::Failed("some steps could not be scheduled".into()),
    })
}
