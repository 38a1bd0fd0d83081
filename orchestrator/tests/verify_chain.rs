//! `full` verification of runs whose events are covered by several VES commitments (other
//! runs committed while they ran), and of tampering with those commitments; and that the fast
//! path and the event-by-event path give the same verdicts.

mod common;

use std::sync::Arc;

use agent_orchestrator::{
    verify, CancelToken, Evidence, FullEvidence, JournalSink, MemorySink, PendingEvent, RunOutcome,
    StepContext, StepError, StepExecutor, StepOutput, VerifyError, VerifyLevel,
};
use async_trait::async_trait;
use common::{key, step, workflow, Env};
use serde_json::json;
use uuid::Uuid;
use ves::{Ed25519PublicKey, Hash32};

fn trusted() -> Ed25519PublicKey {
    Ed25519PublicKey::from_signing_key(&key())
}

/// Echoes; when step `b` runs, the stream is committed, an unrelated event is appended and
/// committed on its own (a commitment with none of the run's events), as concurrent runs do.
struct Interleave(Arc<MemorySink>);

#[async_trait]
impl StepExecutor for Interleave {
    async fn execute(&self, ctx: StepContext) -> Result<StepOutput, StepError> {
        if ctx.step_id() == "b" {
            self.0.commit();
            let other = PendingEvent {
                run_id: Uuid::new_v4(),
                event_type: "orchestrator.step_started".into(),
                payload: json!({ "other": true }),
            };
            self.0
                .append(&[other])
                .map_err(|e| StepError::fatal(e.to_string()))?;
            self.0.commit();
        }
        Ok(StepOutput::new(json!({ "step": ctx.step_id() })))
    }
}

async fn spanning(env: &Env) -> (RunOutcome, Evidence) {
    let engine = env.engine(Arc::new(Interleave(env.sink.clone())), 1);
    let wf = workflow(
        vec![
            step("a", &[], json!({})),
            step("b", &["a"], json!({})),
            step("c", &["a"], json!({})),
            step("d", &["b", "c"], json!({})),
        ],
        json!({}),
    );
    let out = engine
        .run(wf.clone(), json!({}), &CancelToken::new())
        .await
        .unwrap();
    let stored = engine.journal().load_run(out.run_id).unwrap();
    let (commitment, events) = env.sink.evidence_for(out.run_id).unwrap();
    let evidence = Evidence {
        workflow: Some(wf.def().clone()),
        inputs: Some(stored.inputs.clone()),
        output: stored.output.clone(),
        step_results: Some(stored.step_results()),
        full: Some(FullEvidence { commitment, events }),
        ..Evidence::key_only(trusted())
    };
    (out, evidence)
}

fn full(ev: &mut Evidence) -> &mut FullEvidence {
    ev.full.as_mut().unwrap()
}

#[tokio::test]
async fn run_spanning_commitments_verifies_at_full() {
    let env = Env::new();
    let (out, evidence) = spanning(&env).await;
    let f = evidence.full.as_ref().unwrap();
    // At least: the one covering the first events, the foreign-only one, then the head's.
    assert!(f.events[0].chain.len() >= 2, "{:?}", f.events[0].chain);
    assert!(f.events[1..].iter().all(|e| e.chain.is_empty()));
    assert!(f.events[0].sequence < f.commitment.seq_start);
    let report = verify(&out.receipt, VerifyLevel::Full, &evidence).unwrap();
    assert_eq!(report.events_checked, 10);
    // The evidence survives a JSON round trip (the chain rides on the first event).
    let text = serde_json::to_string(&f.events).unwrap();
    assert!(text.contains("\"chain\""));
    let events = serde_json::from_str(&text).unwrap();
    let ev = Evidence {
        full: Some(FullEvidence {
            commitment: f.commitment.clone(),
            events,
        }),
        ..evidence.clone()
    };
    verify(&out.receipt, VerifyLevel::Full, &ev).unwrap();
}

#[tokio::test]
async fn tampered_commitment_chain_is_detected() {
    let env = Env::new();
    let (out, evidence) = spanning(&env).await;

    // Without the earlier commitments the first events are outside the evidence.
    let mut ev = evidence.clone();
    full(&mut ev).events[0].chain.clear();
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Full, &ev),
        Err(VerifyError::Inclusion { .. })
    ));

    // A commitment in the middle left out: the chain is broken.
    let mut ev = evidence.clone();
    full(&mut ev).events[0].chain.remove(1);
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Full, &ev),
        Err(VerifyError::InvalidEvidence(m)) if m.contains("does not chain")
    ));

    // An earlier commitment's root edited: its state root no longer matches.
    let mut ev = evidence.clone();
    full(&mut ev).events[0].chain[0].merkle_root = Hash32([5; 32]);
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Full, &ev),
        Err(VerifyError::HashMismatch {
            what: "commitment state root",
            ..
        })
    ));

    // ... and with its state root recomputed, the next commitment no longer chains to it.
    let mut ev = evidence.clone();
    let c = &mut full(&mut ev).events[0].chain[0];
    c.merkle_root = Hash32([5; 32]);
    c.state_root = ves::state_root(
        &ves::stream_id(&c.tenant_id, &c.store_id),
        &c.prev_state_root,
        &c.merkle_root,
        c.seq_start,
        c.seq_end,
        c.leaf_count,
    );
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Full, &ev),
        Err(VerifyError::InvalidEvidence(m)) if m.contains("does not chain")
    ));

    // Two different commitments claiming the same range.
    let mut ev = evidence.clone();
    let mut other = full(&mut ev).events[0].chain[0].clone();
    other.merkle_root = Hash32([6; 32]);
    full(&mut ev).events[3].chain.push(other);
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Full, &ev),
        Err(VerifyError::InvalidEvidence(m)) if m.contains("two different commitments")
    ));

    // An event under an earlier commitment with a wrong proof.
    let mut ev = evidence.clone();
    let head_start = full(&mut ev).commitment.seq_start;
    let e = full(&mut ev)
        .events
        .iter_mut()
        .find(|e| e.sequence < head_start && !e.proof.siblings.is_empty())
        .expect("an event under an earlier commitment with a non-trivial proof");
    let seq = e.sequence;
    e.proof.siblings[0] = Hash32([9; 32]);
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Full, &ev),
        Err(VerifyError::Inclusion { sequence, .. }) if sequence == seq
    ));
}

/// The verdict on a tampered event names that event, whichever path found it.
#[tokio::test]
async fn verdicts_name_the_bad_event() {
    let env = Env::new();
    let engine = env.engine(common::TestExecutor::with(&[]), 8);
    let steps: Vec<_> = (0..100)
        .map(|i| step(&format!("s{i}"), &[], json!({})))
        .collect();
    let wf = workflow(steps, json!({}));
    let out = engine
        .run(wf.clone(), json!({}), &CancelToken::new())
        .await
        .unwrap();
    let (commitment, events) = env.sink.evidence_for(out.run_id).unwrap();
    let evidence = Evidence {
        workflow: Some(wf.def().clone()),
        full: Some(FullEvidence { commitment, events }),
        ..Evidence::key_only(trusted())
    };
    assert_eq!(
        verify(&out.receipt, VerifyLevel::Full, &evidence)
            .unwrap()
            .events_checked,
        202
    );

    // A proof sibling swapped for another valid-looking node.
    let mut ev = evidence.clone();
    let seq = full(&mut ev).events[150].sequence;
    full(&mut ev).events[150].proof.siblings[3] = Hash32([9; 32]);
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Full, &ev),
        Err(VerifyError::Inclusion { sequence, .. }) if sequence == seq
    ));

    // A payload type that does not match the event type.
    let mut ev = evidence.clone();
    let e = &mut full(&mut ev).events[60];
    let seq = e.sequence;
    e.event.event_type = "orchestrator.step_failed".into();
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Full, &ev),
        Err(VerifyError::Inclusion { sequence, .. }) if sequence == seq
    ));
}

/// Events signed by a key other than the receipt's: every one is reported.
#[tokio::test]
async fn events_signed_by_another_key_are_all_reported() {
    let env = Env {
        dir: tempfile::tempdir().unwrap(),
        sink: Arc::new(MemorySink::random(ves::SigningKey::from_bytes(&[3; 32]))),
    };
    let engine = env.engine(common::TestExecutor::with(&[]), 4);
    let steps: Vec<_> = (0..40)
        .map(|i| step(&format!("s{i}"), &[], json!({})))
        .collect();
    let wf = workflow(steps, json!({}));
    let out = engine
        .run(wf.clone(), json!({}), &CancelToken::new())
        .await
        .unwrap();
    let (commitment, events) = env.sink.evidence_for(out.run_id).unwrap();
    let all: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    let evidence = Evidence {
        workflow: Some(wf.def().clone()),
        full: Some(FullEvidence { commitment, events }),
        ..Evidence::key_only(trusted())
    };
    assert_eq!(
        verify(&out.receipt, VerifyLevel::Full, &evidence),
        Err(VerifyError::EventSignature(all))
    );
}
