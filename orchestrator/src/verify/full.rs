//! `full` verification: commitment, every event (strict signature, inclusion, payload),
//! and the recorded order against the DAG.

use std::collections::{BTreeMap, HashSet};

use ves::{Commitment, Ed25519PublicKey, Hash32};

use super::{check_steps_root, invalid, mismatch, FullEvidence};
use crate::error::VerifyError;
use crate::journal::{RunStatus, SignedEntry};
use crate::receipt::Receipt;
use crate::sink::{event_leaf, SequencedEvent, ENTITY_TYPE};
use crate::validate::ValidatedWorkflow;

fn check_commitment(receipt: &Receipt, c: &Commitment) -> Result<(), VerifyError> {
    if c.tenant_id != receipt.tenant_id || c.store_id != receipt.store_id {
        return Err(invalid("commitment is for another stream"));
    }
    let count = c.seq_end.checked_sub(c.seq_start).map(|d| d + 1);
    if c.seq_start == 0 || count != Some(u64::from(c.leaf_count)) {
        return Err(invalid("commitment range and leaf count disagree"));
    }
    let sid = ves::stream_id(&c.tenant_id, &c.store_id);
    let root = ves::state_root(
        &sid,
        &c.prev_state_root,
        &c.merkle_root,
        c.seq_start,
        c.seq_end,
        c.leaf_count,
    );
    mismatch("commitment state root", &c.state_root, &root)?;
    if c.seq_end != receipt.journal_head.sequence {
        return Err(invalid(
            "commitment does not end at the receipt's journal head",
        ));
    }
    mismatch(
        "journal head state root",
        &receipt.journal_head.state_root,
        &root,
    )
}

/// Checks one event: stream, run, payload hash, inclusion proof, strict signature.
fn check_event(
    receipt: &Receipt,
    key: &Ed25519PublicKey,
    c: &Commitment,
    run: &str,
    se: &SequencedEvent,
) -> Result<SignedEntry, VerifyError> {
    let (seq, ev) = (se.sequence, &se.event);
    let bad = |reason: String| VerifyError::Inclusion {
        sequence: seq,
        reason,
    };
    if ev.tenant_id != receipt.tenant_id || ev.store_id != receipt.store_id {
        return Err(bad("event of another stream".into()));
    }
    if ev.entity_type != ENTITY_TYPE || ev.entity_id != run || ev.payload_kind != 0 {
        return Err(invalid(format!(
            "event {seq} is not a plaintext event of this run"
        )));
    }
    let payload = ev
        .payload
        .as_ref()
        .ok_or_else(|| invalid(format!("event {seq} has no payload")))?;
    let ph = ves::payload_plain_hash(payload).map_err(invalid)?;
    mismatch("event payload", &ev.payload_plain_hash, &ph)?;
    let esh = ev.event_signing_hash().map_err(invalid)?;
    let leaf = event_leaf(ev, seq).map_err(invalid)?;
    if u64::from(se.proof.leaf_index) != seq - c.seq_start || se.proof.leaf_count != c.leaf_count {
        return Err(bad("proof position does not match the sequence".into()));
    }
    ves::verify_inclusion(&leaf, &se.proof, &c.merkle_root).map_err(|e| bad(e.to_string()))?;
    ves::verify_event_signature(key, &esh, &ev.agent_signature)
        .map_err(|_| VerifyError::EventSignature(vec![seq]))?;
    let entry: SignedEntry = serde_json::from_value(payload.clone()).map_err(invalid)?;
    if entry.run_id() != receipt.run_id
        || ev.event_type != format!("orchestrator.{}", entry_type(&entry))
    {
        return Err(invalid(format!(
            "event {seq} payload is for another run or has the wrong type"
        )));
    }
    Ok(entry)
}

fn entry_type(e: &SignedEntry) -> &'static str {
    match e {
        SignedEntry::RunStarted { .. } => "run_started",
        SignedEntry::StepStarted { .. } => "step_started",
        SignedEntry::StepSucceeded { .. } => "step_succeeded",
        SignedEntry::StepFailed { .. } => "step_failed",
        SignedEntry::RunFinished { .. } => "run_finished",
    }
}

/// Checks every event (in parallel over the available cores); returns how many.
pub(super) fn verify_full(
    receipt: &Receipt,
    key: &Ed25519PublicKey,
    wf: &ValidatedWorkflow,
    full: &FullEvidence,
) -> Result<usize, VerifyError> {
    let c = &full.commitment;
    check_commitment(receipt, c)?;
    let mut last_seq = 0;
    for se in &full.events {
        if se.sequence <= last_seq || se.sequence < c.seq_start || se.sequence > c.seq_end {
            return Err(VerifyError::Inclusion {
                sequence: se.sequence,
                reason: "out of order or outside the commitment".into(),
            });
        }
        last_seq = se.sequence;
    }
    let run = receipt.run_id.to_string();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = full.events.len().div_ceil(threads).max(64);
    let results: Vec<Result<SignedEntry, VerifyError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = full
            .events
            .chunks(chunk)
            .map(|part| {
                let run = run.as_str();
                scope.spawn(move || {
                    part.iter()
                        .map(|se| check_event(receipt, key, c, run, se))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec![Err(invalid("verification worker panicked"))])
            })
            .collect()
    });
    let mut entries = Vec::with_capacity(results.len());
    let mut bad_signatures = Vec::new();
    for (se, r) in full.events.iter().zip(results) {
        match r {
            Ok(e) => entries.push((se.sequence, e)),
            Err(VerifyError::EventSignature(s)) => bad_signatures.extend(s),
            Err(e) => return Err(e),
        }
    }
    if !bad_signatures.is_empty() {
        return Err(VerifyError::EventSignature(bad_signatures));
    }
    check_order(receipt, wf, &entries)?;
    Ok(full.events.len())
}

/// Replays the signed entries: start first, end last, no step started before its
/// dependencies succeeded, results match the receipt.
fn check_order(
    receipt: &Receipt,
    wf: &ValidatedWorkflow,
    entries: &[(u64, SignedEntry)],
) -> Result<(), VerifyError> {
    let order = |m: String| VerifyError::OrderViolation(m);
    match entries.first() {
        Some((
            _,
            SignedEntry::RunStarted {
                workflow_hash,
                input_hash,
                ..
            },
        )) => {
            mismatch(
                "workflow (run_started event)",
                &receipt.workflow_hash,
                workflow_hash,
            )?;
            mismatch("input (run_started event)", &receipt.input_hash, input_hash)?;
        }
        _ => return Err(order("first event of the run is not run_started".into())),
    }
    match entries.last() {
        Some((
            _,
            SignedEntry::RunFinished {
                status,
                output_hash,
                steps_root,
                ..
            },
        )) => {
            if *status != receipt.status || *status == RunStatus::Running {
                return Err(invalid("run_finished status differs from the receipt"));
            }
            mismatch(
                "output (run_finished event)",
                &receipt.output_hash,
                output_hash,
            )?;
            mismatch(
                "steps (run_finished event)",
                &receipt.steps_root,
                steps_root,
            )?;
        }
        _ => return Err(order("last event of the run is not run_finished".into())),
    }
    let inner = &entries[1..entries.len().saturating_sub(1).max(1)];
    let mut done: Vec<Option<Hash32>> = vec![None; wf.len()];
    let mut started: HashSet<(usize, u32)> = HashSet::new();
    let index = |step: &str, seq: u64| {
        wf.step_index(step)
            .ok_or_else(|| invalid(format!("event {seq} names unknown step {step:?}")))
    };
    for (seq, e) in inner {
        match e {
            SignedEntry::StepStarted { step, attempt, .. } => {
                let i = index(step, *seq)?;
                if let Some(&d) = wf.deps(i).iter().find(|&&d| done[d].is_none()) {
                    return Err(order(format!(
                        "step {step:?} started at sequence {seq} before dependency {:?} succeeded",
                        wf.def().steps[d].id
                    )));
                }
                started.insert((i, *attempt));
            }
            SignedEntry::StepSucceeded {
                step,
                attempt,
                result_hash,
                ..
            } => {
                let i = index(step, *seq)?;
                if !started.contains(&(i, *attempt)) {
                    return Err(order(format!("step {step:?} attempt {attempt} succeeded at sequence {seq} without starting")));
                }
                done[i] = Some(*result_hash);
            }
            SignedEntry::StepFailed { step, attempt, .. } => {
                let i = index(step, *seq)?;
                if !started.contains(&(i, *attempt)) {
                    return Err(order(format!(
                        "step {step:?} attempt {attempt} failed at sequence {seq} without starting"
                    )));
                }
            }
            // A crash after `run_finished` was signed but before the run was marked finished
            // makes the resumed run finish again; the receipt binds the last one.
            SignedEntry::RunFinished { .. } => {}
            SignedEntry::RunStarted { .. } => {
                return Err(order(format!("second run_started at sequence {seq}")));
            }
        }
    }
    if receipt.status == RunStatus::Succeeded {
        if let Some(i) = done.iter().position(Option::is_none) {
            return Err(order(format!(
                "run succeeded but step {:?} never did",
                wf.def().steps[i].id
            )));
        }
    }
    let sorted: BTreeMap<&str, &Hash32> = wf
        .def()
        .steps
        .iter()
        .zip(&done)
        .filter_map(|(s, h)| h.as_ref().map(|h| (s.id.as_str(), h)))
        .collect();
    check_steps_root(receipt, &sorted)
}
