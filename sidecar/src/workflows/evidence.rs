//! Run status (per-step states) and the evidence `full` receipt verification needs: the
//! definition, inputs, output, step results, the sequencer commitment ending at the receipt's
//! journal head, and every event of the run with its inclusion proof under the commitment
//! covering it. When other runs (or the recorder) committed while the run was going, its
//! events span several commitments; the earlier ones, from the one covering the run's first
//! event up to the head's, ride on the first event ([`SequencedEvent::chain`]).

use std::collections::BTreeMap;

use agent_orchestrator::journal::StoredEntry;
use agent_orchestrator::sink::ENTITY_TYPE;
use agent_orchestrator::{JournalEntry, Receipt, SequencedEvent, StoredRun, WorkflowDef};
use serde::Serialize;
use serde_json::{json, Value};
use ves::{Commitment, EventEnvelope, Hash32, Sequencer, StreamKey};

/// Per-step state derived from the journal entries.
#[derive(Debug, Clone, Serialize)]
pub struct StepState {
    pub id: String,
    /// `pending`, `running`, `retrying`, `succeeded` or `failed`.
    pub state: &'static str,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
}

/// The status document of `GET /v1/runs/{run_id}`.
pub fn status(run: &StoredRun, running_here: bool) -> Value {
    let def: Option<WorkflowDef> = serde_json::from_str(&run.definition).ok();
    let mut steps: BTreeMap<String, StepState> = BTreeMap::new();
    let mut order = Vec::new();
    for s in def.iter().flat_map(|d| d.steps.iter()) {
        order.push(s.id.clone());
        steps.insert(
            s.id.clone(),
            StepState {
                id: s.id.clone(),
                state: "pending",
                attempts: 0,
                error: None,
                output: None,
            },
        );
    }
    for StoredEntry { entry, .. } in &run.entries {
        match entry {
            JournalEntry::StepStarted { step, attempt } => {
                if let Some(s) = steps.get_mut(step) {
                    s.state = "running";
                    s.attempts = s.attempts.max(*attempt);
                }
            }
            JournalEntry::StepSucceeded { step, output, .. } => {
                if let Some(s) = steps.get_mut(step) {
                    s.state = "succeeded";
                    s.error = None;
                    s.output = Some(output.clone());
                }
            }
            JournalEntry::StepFailed {
                step,
                error,
                will_retry,
                ..
            } => {
                if let Some(s) = steps.get_mut(step) {
                    s.state = if *will_retry { "retrying" } else { "failed" };
                    s.error = Some(error.clone());
                }
            }
            _ => {}
        }
    }
    let steps: Vec<StepState> = order.iter().filter_map(|id| steps.remove(id)).collect();
    json!({
        "run_id": run.run_id,
        "status": run.status.as_str(),
        "executing": running_here,
        "workflow": def.as_ref().map(|d| d.name.clone()),
        "started_at_ms": run.started_at_ms,
        "inputs": run.inputs,
        "steps": steps,
        "output": run.output,
        "receipt": run.receipt,
    })
}

/// The served evidence (JSON shape of [`agent_orchestrator::Evidence`] minus the trusted key,
/// which the verifier must take from attestation, not from the prover; it is included as
/// `signer` for convenience).
#[derive(Debug, Clone, Serialize)]
pub struct RunEvidence {
    pub run_id: uuid::Uuid,
    pub receipt: Receipt,
    pub signer: ves::Ed25519PublicKey,
    pub workflow: WorkflowDef,
    pub inputs: Value,
    pub output: Option<Value>,
    pub step_results: Vec<(String, Hash32)>,
    pub commitment: Commitment,
    pub events: Vec<SequencedEvent>,
}

/// Why evidence cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("the run has not finished")]
    NotFinished,
    #[error("{0}")]
    Sequencer(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the commitments covering the run's events do not chain up to the one ending at sequence {0}")]
    SpansCommitments(u64),
}

fn seq_err(e: impl std::fmt::Display) -> EvidenceError {
    EvidenceError::Sequencer(e.to_string())
}

/// The commitments before `last`, oldest first, from the one covering sequence `first`.
async fn earlier_commitments(
    sequencer: &Sequencer,
    stream: StreamKey,
    first: u64,
    last: &Commitment,
) -> Result<Vec<Commitment>, EvidenceError> {
    let mut out: Vec<Commitment> = Vec::new();
    let mut after = first.saturating_sub(1);
    while after + 1 < last.seq_start {
        let page = sequencer
            .commitments(stream, after, 1000)
            .await
            .map_err(seq_err)?;
        let Some(end) = page.last().map(|c| c.seq_end) else {
            break;
        };
        out.extend(page.into_iter().filter(|c| c.seq_end < last.seq_start));
        after = end;
    }
    let chained = out
        .iter()
        .chain(std::iter::once(last))
        .collect::<Vec<_>>()
        .windows(2)
        .all(|w| w[0].seq_end + 1 == w[1].seq_start && w[1].prev_state_root == w[0].state_root);
    if !chained || out.first().is_some_and(|c| c.seq_start > first) {
        return Err(EvidenceError::SpansCommitments(last.seq_end));
    }
    Ok(out)
}

/// Builds the evidence of a finished run.
pub async fn build(
    sequencer: &Sequencer,
    stream: StreamKey,
    run: &StoredRun,
) -> Result<RunEvidence, EvidenceError> {
    let receipt = run.receipt.clone().ok_or(EvidenceError::NotFinished)?;
    let workflow: WorkflowDef =
        serde_json::from_str(&run.definition).map_err(|e| EvidenceError::Corrupt(e.to_string()))?;
    let head = receipt.journal_head.sequence;
    let commitment = sequencer.commitment(stream, head).await.map_err(seq_err)?;
    let first = run
        .entries
        .iter()
        .map(|e| e.ves_sequence)
        .min()
        .unwrap_or(commitment.seq_start)
        .min(commitment.seq_start);
    let chain = earlier_commitments(sequencer, stream, first, &commitment).await?;
    // Every event of the run in the stream (including any the journal lost in a crash).
    let run_key = run.run_id.to_string();
    let mut events: Vec<SequencedEvent> = Vec::new();
    let mut from = chain.first().unwrap_or(&commitment).seq_start;
    while from <= head {
        let page = sequencer.pull(stream, from, 1000).await.map_err(seq_err)?;
        if page.events.is_empty() {
            break;
        }
        for ev in &page.events {
            if ev.sequence_number > head {
                break;
            }
            if ev.entity_type != ENTITY_TYPE || ev.entity_id != run_key {
                continue;
            }
            let envelope: EventEnvelope = serde_json::from_str(&ev.envelope_json)
                .map_err(|e| EvidenceError::Corrupt(e.to_string()))?;
            let proof = sequencer
                .inclusion_proof(ev.event_id)
                .await
                .map_err(seq_err)?;
            if proof.commitment != commitment && !chain.contains(&proof.commitment) {
                return Err(EvidenceError::SpansCommitments(head));
            }
            events.push(SequencedEvent {
                sequence: ev.sequence_number,
                event: envelope,
                proof: proof.proof,
                chain: Vec::new(),
            });
        }
        from = page.next_sequence;
    }
    // Only the commitments from the one covering the run's first event on are needed.
    if let Some(first) = events.first_mut() {
        first.chain = chain
            .into_iter()
            .filter(|c| c.seq_end >= first.sequence)
            .collect();
    }
    Ok(RunEvidence {
        run_id: run.run_id,
        signer: receipt.signer,
        step_results: run.step_results(),
        inputs: run.inputs.clone(),
        output: run.output.clone(),
        workflow,
        commitment,
        events,
        receipt,
    })
}
