//! `full` verification: the commitments (one ending at the journal head, plus the earlier
//! ones when the run's events span several), every event (strict signature, inclusion,
//! payload), and the recorded order against the DAG.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use ves::{Commitment, Ed25519PublicKey, Hash32};

use super::{check_steps_root, invalid, mismatch, FullEvidence};
use crate::error::VerifyError;
use crate::journal::{RunStatus, SignedEntry};
use crate::receipt::Receipt;
use crate::sink::{SequencedEvent, ENTITY_TYPE};
use crate::validate::ValidatedWorkflow;

/// Checks a commitment on its own: stream, range against leaf count, state root.
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
    mismatch("commitment state root", &c.state_root, &root)
}

/// The commitments the events are proven against, oldest first: the earlier ones the events
/// carry ([`SequencedEvent::chain`], pooled), then the one ending at the journal head. Each is
/// checked, and each must start right after, and chain to the state root of, the one before.
fn commitment_chain<'a>(
    receipt: &Receipt,
    full: &'a FullEvidence,
) -> Result<Vec<&'a Commitment>, VerifyError> {
    let last = &full.commitment;
    check_commitment(receipt, last)?;
    if last.seq_end != receipt.journal_head.sequence {
        return Err(invalid(
            "commitment does not end at the receipt's journal head",
        ));
    }
    mismatch(
        "journal head state root",
        &receipt.journal_head.state_root,
        &last.state_root,
    )?;
    let mut earlier: BTreeMap<u64, &Commitment> = BTreeMap::new();
    for c in full.events.iter().flat_map(|e| &e.chain) {
        if let Some(other) = earlier.insert(c.seq_start, c) {
            if other != c {
                return Err(invalid(format!(
                    "two different commitments start at sequence {}",
                    c.seq_start
                )));
            }
        }
    }
    let mut chain: Vec<&Commitment> = earlier.into_values().collect();
    for c in &chain {
        check_commitment(receipt, c)?;
    }
    chain.push(last);
    for w in chain.windows(2) {
        if w[0].seq_end.checked_add(1) != Some(w[1].seq_start)
            || w[1].prev_state_root != w[0].state_root
        {
            return Err(invalid(format!(
                "commitment starting at {} does not chain to the one ending at {}",
                w[1].seq_start, w[0].seq_end
            )));
        }
    }
    Ok(chain)
}

/// An event's checks short of its inclusion proof, signature and payload type.
pub(super) struct Prepared {
    /// Event signing hash.
    pub esh: Hash32,
    /// VES leaf at its sequence.
    pub leaf: Hash32,
}

/// Checks an event's stream, run, payload hash and proof position; computes its signing hash
/// and leaf.
pub(super) fn prepare(
    receipt: &Receipt,
    c: &Commitment,
    run: &str,
    se: &SequencedEvent,
) -> Result<Prepared, VerifyError> {
    let (seq, ev) = (se.sequence, &se.event);
    if ev.tenant_id != receipt.tenant_id || ev.store_id != receipt.store_id {
        return Err(VerifyError::Inclusion {
            sequence: seq,
            reason: "event of another stream".into(),
        });
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
    let leaf = ves::leaf_hash(&ev.tenant_id, &ev.store_id, seq, &esh, &ev.agent_signature);
    if u64::from(se.proof.leaf_index) != seq - c.seq_start || se.proof.leaf_count != c.leaf_count {
        return Err(VerifyError::Inclusion {
            sequence: seq,
            reason: "proof position does not match the sequence".into(),
        });
    }
    Ok(Prepared { esh, leaf })
}

/// Checks one event: stream, run, payload hash, inclusion proof, strict signature, payload.
fn check_event(
    receipt: &Receipt,
    key: &Ed25519PublicKey,
    c: &Commitment,
    run: &str,
    se: &SequencedEvent,
) -> Result<SignedEntry, VerifyError> {
    let (seq, ev) = (se.sequence, &se.event);
    let Prepared { esh, leaf } = prepare(receipt, c, run, se)?;
    ves::verify_inclusion(&leaf, &se.proof, &c.merkle_root).map_err(|e| {
        VerifyError::Inclusion {
            sequence: seq,
            reason: e.to_string(),
        }
    })?;
    ves::verify_event_signature(key, &esh, &ev.agent_signature)
        .map_err(|_| VerifyError::EventSignature(vec![seq]))?;
    parse_entry(receipt, seq, ev)
}

/// The signed entry of an event: for this run, and of the type the event claims.
pub(super) fn parse_entry(
    receipt: &Receipt,
    seq: u64,
    ev: &ves::EventEnvelope,
) -> Result<SignedEntry, VerifyError> {
    let payload = ev
        .payload
        .as_ref()
        .ok_or_else(|| invalid(format!("event {seq} has no payload")))?;
    let entry = SignedEntry::deserialize(payload).map_err(invalid)?;
    if entry.run_id() != receipt.run_id
        || ev.event_type.strip_prefix("orchestrator.") != Some(entry_type(&entry))
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

/// Index into `chain` of the commitment covering each event; the events must be in strictly
/// increasing sequence order, all under the chain.
fn assign(chain: &[&Commitment], events: &[SequencedEvent]) -> Result<Vec<usize>, VerifyError> {
    let (first, last) = match (chain.first(), chain.last()) {
        (Some(f), Some(l)) => (f.seq_start, l.seq_end),
        _ => return Err(invalid("no commitment")),
    };
    let mut out = Vec::with_capacity(events.len());
    let (mut k, mut last_seq) = (0, 0);
    for se in events {
        if se.sequence <= last_seq || se.sequence < first || se.sequence > last {
            return Err(VerifyError::Inclusion {
                sequence: se.sequence,
                reason: "out of order or outside the commitment".into(),
            });
        }
        last_seq = se.sequence;
        while se.sequence > chain[k].seq_end {
            k += 1;
        }
        out.push(k);
    }
    Ok(out)
}

/// Runs `f` over `events` split in one part per core; results in order.
pub(super) fn par_map<T: Send>(
    events: &[SequencedEvent],
    min_chunk: usize,
    f: impl Fn(usize, &[SequencedEvent]) -> T + Sync,
) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = events.len().div_ceil(threads).max(min_chunk).max(1);
    if events.len() <= chunk {
        return vec![f(0, events)];
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = events
            .chunks(chunk)
            .enumerate()
            .map(|(i, part)| {
                let f = &f;
                scope.spawn(move || f(i * chunk, part))
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

/// Checks every event; returns how many. The fast path ([`super::fast`]) checks everything
/// at once (signatures under tables precomputed for the key, one pass over each Merkle tree);
/// if anything fails there, the events are checked one by one so that the verdict names the
/// first bad event exactly, as it always did.
pub(super) fn verify_full(
    receipt: &Receipt,
    key: &Ed25519PublicKey,
    wf: &ValidatedWorkflow,
    full: &FullEvidence,
) -> Result<usize, VerifyError> {
    let chain = commitment_chain(receipt, full)?;
    let at = assign(&chain, &full.events)?;
    let run = receipt.run_id.to_string();
    let entries = match super::fast::check_events(receipt, key, &chain, &at, &run, &full.events) {
        Some(entries) => entries,
        None => one_by_one(receipt, key, &chain, &at, &run, &full.events)?,
    };
    check_order(receipt, wf, &entries)?;
    Ok(full.events.len())
}

/// Checks each event on its own (in parallel); the first failure in sequence order wins,
/// except that bad signatures are collected and reported together.
fn one_by_one(
    receipt: &Receipt,
    key: &Ed25519PublicKey,
    chain: &[&Commitment],
    at: &[usize],
    run: &str,
    events: &[SequencedEvent],
) -> Result<Vec<(u64, SignedEntry)>, VerifyError> {
    let parts = par_map(events, 64, |offset, part| {
        part.iter()
            .enumerate()
            .map(|(i, se)| check_event(receipt, key, chain[at[offset + i]], run, se))
            .collect::<Vec<_>>()
    });
    if parts.iter().map(Vec::len).sum::<usize>() != events.len() {
        return Err(invalid("verification worker panicked"));
    }
    let mut entries = Vec::with_capacity(events.len());
    let mut bad_signatures = Vec::new();
    for (se, r) in events.iter().zip(parts.into_iter().flatten()) {
        match r {
            Ok(e) => entries.push((se.sequence, e)),
            Err(VerifyError::EventSignature(s)) => bad_signatures.extend(s),
            Err(e) => return Err(e),
        }
    }
    if !bad_signatures.is_empty() {
        return Err(VerifyError::EventSignature(bad_signatures));
    }
    Ok(entries)
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
