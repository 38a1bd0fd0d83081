mod common;

use std::str::FromStr;

use agent_orchestrator::{
    verify, CancelToken, Evidence, FullEvidence, RunOutcome, VerifyError, VerifyLevel,
};
use common::{key, step, workflow, Env, TestExecutor};
use serde_json::json;
use ves::{Ed25519PublicKey, Hash32, SigningKey};

fn trusted() -> Ed25519PublicKey {
    Ed25519PublicKey::from_signing_key(&key())
}

async fn diamond(env: &Env) -> (RunOutcome, Evidence) {
    let engine = env.engine(TestExecutor::with(&[]), 4);
    let wf = workflow(
        vec![
            step(
                "a",
                &[],
                json!({ "inputs": { "q": { "from": "input", "name": "q" } } }),
            ),
            step("b", &["a"], json!({})),
            step("c", &["a"], json!({})),
            step("d", &["b", "c"], json!({})),
        ],
        json!({ "inputs": { "q": {} } }),
    );
    let out = engine
        .run(wf.clone(), json!({ "q": "hello" }), &CancelToken::new())
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

#[tokio::test]
async fn honest_receipt_verifies_at_both_levels() {
    let env = Env::new();
    let (out, evidence) = diamond(&env).await;
    let basic = verify(
        &out.receipt,
        VerifyLevel::Basic,
        &Evidence::key_only(trusted()),
    )
    .unwrap();
    assert!(basic.hashes_checked.is_empty());
    let basic = verify(&out.receipt, VerifyLevel::Basic, &evidence).unwrap();
    assert_eq!(
        basic.hashes_checked,
        vec!["workflow", "input", "output", "steps"]
    );
    let full = verify(&out.receipt, VerifyLevel::Full, &evidence).unwrap();
    // run_started + 4 × (started, succeeded) + run_finished
    assert_eq!(full.events_checked, 10);
    // The receipt survives a JSON round trip.
    let text = serde_json::to_string(&out.receipt).unwrap();
    let back = serde_json::from_str(&text).unwrap();
    verify(&back, VerifyLevel::Full, &evidence).unwrap();
}

#[tokio::test]
async fn unsupported_levels_are_refused() {
    let err = VerifyLevel::from_str("zk").unwrap_err();
    assert_eq!(err, VerifyError::UnsupportedLevel("zk".into()));
    assert!(err.to_string().contains("not supported"));
    assert_eq!(VerifyLevel::from_str("full").unwrap(), VerifyLevel::Full);
    let env = Env::new();
    let (out, _) = diamond(&env).await;
    assert!(matches!(
        verify(
            &out.receipt,
            VerifyLevel::Full,
            &Evidence::key_only(trusted())
        ),
        Err(VerifyError::MissingEvidence(_))
    ));
}

#[tokio::test]
async fn tampered_receipt_is_detected() {
    let env = Env::new();
    let (out, evidence) = diamond(&env).await;
    let mut r = out.receipt.clone();
    r.output_hash = Hash32([7; 32]);
    assert_eq!(
        verify(&r, VerifyLevel::Basic, &evidence),
        Err(VerifyError::BadSignature)
    );
    let mut r = out.receipt.clone();
    r.steps_completed += 1;
    assert_eq!(
        verify(&r, VerifyLevel::Basic, &evidence),
        Err(VerifyError::BadSignature)
    );
    // Re-signed by another key: not the trusted sidecar.
    let forged = out.receipt.clone().sign(&SigningKey::from_bytes(&[1; 32]));
    assert!(matches!(
        verify(&forged, VerifyLevel::Basic, &evidence),
        Err(VerifyError::WrongSigner { .. })
    ));
    // Evidence that does not match the receipt.
    let mut ev = evidence.clone();
    ev.output = Some(json!({ "d": "forged" }));
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Basic, &ev),
        Err(VerifyError::HashMismatch { what: "output", .. })
    ));
    let mut ev = evidence.clone();
    ev.inputs = Some(json!({ "q": "other" }));
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Basic, &ev),
        Err(VerifyError::HashMismatch { what: "input", .. })
    ));
}

#[tokio::test]
async fn tampered_journal_is_detected() {
    let env = Env::new();
    let (out, _) = diamond(&env).await;
    // Rewrite step b's stored output directly in SQLite.
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let (seq, body): (i64, String) = conn
        .query_row(
            "SELECT seq, body FROM entries WHERE kind = 'step_succeeded' AND body LIKE '%\"step\":\"b\"%'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["output"] = json!({ "step": "b", "input": "tampered" });
    conn.execute(
        "UPDATE entries SET body = ?1 WHERE seq = ?2",
        rusqlite::params![v.to_string(), seq],
    )
    .unwrap();
    drop(conn);
    let stored = env.journal().load_run(out.run_id).unwrap();
    let ev = Evidence {
        step_results: Some(stored.step_results()),
        ..Evidence::key_only(trusted())
    };
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Basic, &ev),
        Err(VerifyError::HashMismatch { what: "steps", .. })
    ));
}

#[tokio::test]
async fn tampered_stream_events_are_detected_by_full() {
    let env = Env::new();
    let (out, evidence) = diamond(&env).await;
    let full = evidence.full.clone().unwrap();

    // A payload edited after signing.
    let mut ev = evidence.clone();
    let f = ev.full.as_mut().unwrap();
    f.events[3].event.payload.as_mut().unwrap()["attempt"] = json!(2);
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Full, &ev),
        Err(VerifyError::HashMismatch { .. })
    ));

    // Payload hash fixed up too: the signature no longer matches.
    let f = ev.full.as_mut().unwrap();
    let p = f.events[3].event.payload.clone().unwrap();
    f.events[3].event.payload_plain_hash = ves::payload_plain_hash(&p).unwrap();
    let seq = f.events[3].sequence;
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Full, &ev),
        Err(VerifyError::Inclusion { .. } | VerifyError::EventSignature(_))
    ));

    // A dropped event breaks the DAG order (d's dependencies never succeed).
    let mut ev = evidence.clone();
    let f = ev.full.as_mut().unwrap();
    f.events.retain(|e| {
        e.event.event_type != "orchestrator.step_succeeded"
            || e.event.payload.as_ref().unwrap()["step"] != "b"
    });
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Full, &ev),
        Err(VerifyError::OrderViolation(_))
    ));

    // A wrong inclusion proof.
    let mut ev = evidence.clone();
    ev.full.as_mut().unwrap().events[1].proof.siblings[0] = Hash32([9; 32]);
    assert!(matches!(
        verify(&out.receipt, VerifyLevel::Full, &ev),
        Err(VerifyError::Inclusion { .. })
    ));

    // The stream's own copy tampered: the recomputed state root no longer matches the head.
    env.sink
        .tamper(seq, |e| e.agent_signature = ves::Sig64([0; 64]));
    let (commitment, events) = env.sink.evidence_for(out.run_id).unwrap();
    assert_ne!(commitment.state_root, full.commitment.state_root);
    let ev = Evidence {
        full: Some(FullEvidence { commitment, events }),
        ..evidence.clone()
    };
    assert!(verify(&out.receipt, VerifyLevel::Full, &ev).is_err());
}
