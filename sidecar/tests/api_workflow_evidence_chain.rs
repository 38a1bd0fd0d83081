//! A run whose events span several VES commitments (another run finished, and committed,
//! while it was going): the served evidence carries the earlier commitments and verifies at
//! `full`.

mod common;

use std::time::Duration;

use agent_orchestrator::{
    verify, Evidence, FullEvidence, Receipt, SequencedEvent, VerifyLevel, WorkflowDef,
};
use common::start;
use serde_json::{json, Value};
use ves::{Commitment, Ed25519PublicKey, Hash32};

fn cmd(id: &str, script: &str, deps: &[&str]) -> Value {
    json!({
        "id": id,
        "kind": { "type": "command", "program": "sh", "args": ["-c", script] },
        "depends_on": deps,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_spanning_commitments_verifies_at_full() {
    let h = start(&[]).await;
    // Run A waits (up to 30 s) for a file that is created after run B has finished.
    let (s, v) = h
        .post(
            "/v1/workflows",
            json!({
                "name": "waits",
                "steps": [
                    cmd("first", "echo 1", &[]),
                    cmd("wait", "i=0; while [ ! -f go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; echo 2", &["first"]),
                    cmd("last", "echo 3", &["wait"]),
                ]
            }),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    let (s, v) = h.post(&format!("/v1/workflows/{id}/runs"), json!({})).await;
    assert_eq!(s, 202, "{v}");
    let run_a = v["run_id"].as_str().expect("run id").to_string();
    for _ in 0..200 {
        let (_, r) = h.get(&format!("/v1/runs/{run_a}")).await;
        if r["steps"][1]["state"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Run B starts and finishes (committing the stream, A's first events included).
    let (s, out) = h
        .post(
            "/v1/workflows/run",
            json!({ "workflow": { "name": "quick", "steps": [cmd("q", "echo q", &[])] } }),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["status"], "succeeded", "{out}");
    std::fs::write(h.ws().join("go"), "").expect("go");
    let mut run = Value::Null;
    for _ in 0..300 {
        let (_, r) = h.get(&format!("/v1/runs/{run_a}")).await;
        if r["status"] != "running" {
            run = r;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(run["status"], "succeeded", "{run}");

    let (s, ev) = h.get(&format!("/v1/runs/{run_a}/evidence")).await;
    assert_eq!(s, 200, "{ev}");
    let receipt: Receipt = serde_json::from_value(ev["receipt"].clone()).expect("receipt");
    let events: Vec<SequencedEvent> = serde_json::from_value(ev["events"].clone()).expect("ev");
    let commitment: Commitment =
        serde_json::from_value(ev["commitment"].clone()).expect("commitment");
    // A's first events are under an earlier commitment than the head's.
    assert!(events[0].sequence < commitment.seq_start, "{ev}");
    assert!(!events[0].chain.is_empty(), "{ev}");
    let (_, info) = h.get("/v1/info").await;
    let key: Ed25519PublicKey =
        serde_json::from_value(info["ves"]["public_key"].clone()).expect("key");
    let evidence = Evidence {
        trusted_key: key,
        workflow: Some(serde_json::from_value::<WorkflowDef>(ev["workflow"].clone()).expect("wf")),
        inputs: Some(ev["inputs"].clone()),
        output: Some(ev["output"].clone()),
        step_results: Some(
            serde_json::from_value::<Vec<(String, Hash32)>>(ev["step_results"].clone())
                .expect("results"),
        ),
        full: Some(FullEvidence {
            commitment,
            events: events.clone(),
        }),
    };
    let report = verify(&receipt, VerifyLevel::Full, &evidence).expect("full");
    // run_started, 3 × (started, succeeded), run_finished.
    assert_eq!(report.events_checked, 8);
    assert_eq!(events.len(), 8);

    // Without the earlier commitments the evidence does not verify.
    let mut stripped = evidence.clone();
    if let Some(f) = stripped.full.as_mut() {
        f.events[0].chain.clear();
    }
    assert!(verify(&receipt, VerifyLevel::Full, &stripped).is_err());
}
