//! Workflows over the real router: diamond DAG of command steps with receipt verification at
//! `basic` and `full`, signed journal events in the stream, cycle rejection, cancellation, and
//! resume after a restart.

mod common;

use std::path::Path;
use std::time::Duration;

use agent_orchestrator::{
    verify, Evidence, FullEvidence, Receipt, SequencedEvent, VerifyLevel, WorkflowDef,
};
use common::{start, Harness, TOKEN};
use serde_json::{json, Value};

use ves::{Commitment, Ed25519PublicKey, Hash32};

fn cmd(id: &str, script: &str, deps: &[&str]) -> Value {
    json!({
        "id": id,
        "kind": { "type": "command", "program": "sh", "args": ["-c", script] },
        "depends_on": deps,
        "timeout_ms": 60000
    })
}

fn diamond() -> Value {
    json!({
        "name": "diamond",
        "steps": [
            cmd("a", "echo a >> a.count; echo A", &[]),
            cmd("b", "echo b >> b.count; echo B", &["a"]),
            cmd("c", "echo c >> c.count; echo C", &["a"]),
            cmd("d", "echo d >> d.count; echo D", &["b", "c"]),
        ]
    })
}

fn lines(ws: &Path, name: &str) -> usize {
    std::fs::read_to_string(ws.join(name))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

async fn get(http: &reqwest::Client, url: String) -> (u16, Value) {
    let r = http.get(url).bearer_auth(TOKEN).send().await.expect("send");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json"))
}

/// Polls the run until `pred` holds on its status document.
async fn wait_run(
    http: &reqwest::Client,
    base: &str,
    run_id: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..300 {
        let (s, v) = get(http, format!("{base}/v1/runs/{run_id}")).await;
        assert_eq!(s, 200, "{v}");
        if pred(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("run {run_id} never reached the expected state");
}

fn step_state<'a>(run: &'a Value, id: &str) -> &'a str {
    run["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == id))
        .and_then(|s| s["state"].as_str())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diamond_runs_and_verifies() {
    let h = start(&[]).await;
    let (s, out) = h
        .post(
            "/v1/workflows/run",
            json!({ "workflow": diamond(), "inputs": {} }),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["status"], "succeeded", "{out}");
    let run_id = out["run_id"].as_str().expect("run id").to_string();
    for f in ["a.count", "b.count", "c.count", "d.count"] {
        assert_eq!(lines(&h.ws(), f), 1, "{f}");
    }
    assert_eq!(out["output"]["d"]["stdout"], "D\n");

    let (s, run) = h.get(&format!("/v1/runs/{run_id}")).await;
    assert_eq!(s, 200);
    assert_eq!(run["status"], "succeeded");
    // The run is listed (newest first), so a customer can find the receipt of a TASK.
    let (s, runs) = h.get("/v1/runs?limit=5").await;
    assert_eq!(s, 200, "{runs}");
    assert_eq!(runs["runs"][0]["run_id"], run_id.as_str());
    assert_eq!(runs["runs"][0]["status"], "succeeded");
    for id in ["a", "b", "c", "d"] {
        assert_eq!(step_state(&run, id), "succeeded");
    }
    let (s, receipt_json) = h.get(&format!("/v1/runs/{run_id}/receipt")).await;
    assert_eq!(s, 200);
    let receipt: Receipt = serde_json::from_value(receipt_json).expect("receipt");

    // The trusted key comes from the sidecar's info (attestation in production).
    let (_, info) = h.get("/v1/info").await;
    let key: Ed25519PublicKey =
        serde_json::from_value(info["ves"]["public_key"].clone()).expect("key");
    verify(&receipt, VerifyLevel::Basic, &Evidence::key_only(key)).expect("basic");

    let (s, ev) = h.get(&format!("/v1/runs/{run_id}/evidence")).await;
    assert_eq!(s, 200, "{ev}");
    let events: Vec<SequencedEvent> = serde_json::from_value(ev["events"].clone()).expect("ev");
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
            commitment: serde_json::from_value::<Commitment>(ev["commitment"].clone())
                .expect("commitment"),
            events: events.clone(),
        }),
    };
    let report = verify(&receipt, VerifyLevel::Full, &evidence).expect("full");
    assert_eq!(report.events_checked, events.len());
    // run_started, 4 × (step_started, step_succeeded), run_finished.
    assert_eq!(events.len(), 10);

    // The journal entries are signed events in the sandbox stream.
    let q = format!(
        "tenant_id={}&store_id={}&from=1&limit=1000",
        info["ves"]["tenant_id"].as_str().expect("tenant"),
        info["ves"]["store_id"].as_str().expect("store")
    );
    let (s, page) = h.get(&format!("/api/v1/events?{q}")).await;
    assert_eq!(s, 200, "{page}");
    let ours: Vec<&Value> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event"]["entity_id"] == run_id.as_str())
        .collect();
    assert_eq!(ours.len(), 10);
    for e in &ours {
        assert_eq!(e["event"]["entity_type"], "workflow_run");
        assert!(e["event"]["event_type"]
            .as_str()
            .is_some_and(|t| t.starts_with("orchestrator.")));
        assert!(e["event"]["agent_signature"].is_string());
    }

    // The event stream of a finished run replays its events and ends.
    let body = h
        .http
        .get(h.url(&format!("/v1/runs/{run_id}/events")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("sse body");
    assert!(body.contains("event: orchestrator.run_finished"), "{body}");
    assert_eq!(
        body.matches("event: orchestrator.step_succeeded").count(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cycle_is_rejected_with_its_name() {
    let h = start(&[]).await;
    let wf = json!({
        "name": "loop",
        "steps": [cmd("x", "true", &["y"]), cmd("y", "true", &["x"])]
    });
    let (s, v) = h.post("/v1/workflows", wf.clone()).await;
    assert_eq!(s, 400, "{v}");
    let msg = v["error"]["message"].as_str().expect("message");
    assert!(
        msg.contains("cycle") && msg.contains('x') && msg.contains('y'),
        "{msg}"
    );
    let (s, v) = h.post("/v1/workflows/run", json!({ "workflow": wf })).await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("cycle")));
}

async fn create(h: &Harness, wf: Value) -> String {
    let (s, v) = h.post("/v1/workflows", wf).await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().expect("id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_mid_run() {
    let h = start(&[]).await;
    let id = create(
        &h,
        json!({
            "name": "slow",
            "steps": [
                cmd("slow", "echo $$ > slow.pid; sleep 30; touch slow.done", &[]),
                cmd("after", "touch after.done", &["slow"])
            ]
        }),
    )
    .await;
    let (s, list) = h.get("/v1/workflows").await;
    assert_eq!(s, 200);
    assert_eq!(list["workflows"][0]["id"], id.as_str());
    let (s, def) = h.get(&format!("/v1/workflows/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(def["definition"]["name"], "slow");

    let (s, v) = h.post(&format!("/v1/workflows/{id}/runs"), json!({})).await;
    assert_eq!(s, 202, "{v}");
    let run_id = v["run_id"].as_str().expect("run id").to_string();
    wait_run(&h.http, &h.base, &run_id, |r| {
        step_state(r, "slow") == "running"
    })
    .await;
    let (s, v) = h
        .post(&format!("/v1/runs/{run_id}/cancel"), json!({}))
        .await;
    assert_eq!(s, 202, "{v}");
    let run = wait_run(&h.http, &h.base, &run_id, |r| r["status"] != "running").await;
    assert_eq!(run["status"], "cancelled", "{run}");
    assert!(!h.ws().join("after.done").exists());
    // The cancelled command's process group was terminated, not left running.
    let pid: i32 = std::fs::read_to_string(h.ws().join("slow.pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    let mut gone = false;
    for _ in 0..50 {
        let alive =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
        if !alive {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the cancelled command is still running");
    let (s, _) = h
        .post(&format!("/v1/runs/{run_id}/cancel"), json!({}))
        .await;
    assert_eq!(s, 409);
    let (s, r) = h.get(&format!("/v1/runs/{run_id}/receipt")).await;
    assert_eq!(s, 200);
    assert_eq!(r["status"], "cancelled");
}

use common::serve_on;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_after_restart_without_rerunning_completed_steps() {
    let data = tempfile::tempdir().expect("data");
    let ws = tempfile::tempdir().expect("ws");
    let http = reqwest::Client::new();
    let (base, state, server) = serve_on(data.path(), ws.path()).await;
    let wf = json!({
        "name": "resume",
        "steps": [
            cmd("first", "echo 1 >> first.count", &[]),
            cmd("slow", "sleep 2; echo 1 >> slow.count", &["first"]),
            cmd("last", "echo 1 >> last.count", &["slow"]),
        ]
    });
    let r = http
        .post(format!("{base}/v1/workflows"))
        .bearer_auth(TOKEN)
        .json(&wf)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = http
        .post(format!("{base}/v1/workflows/{id}/runs"))
        .bearer_auth(TOKEN)
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 202);
    let run_id = r.json::<Value>().await.expect("json")["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    wait_run(&http, &base, &run_id, |r| {
        step_state(r, "slow") == "running"
    })
    .await;

    // "Crash": stop the run tasks and the server without recording an end.
    state.workflows.abort_all();
    server.abort();
    drop(state);

    let (base, _state, _server) = serve_on(data.path(), ws.path()).await;
    let run = wait_run(&http, &base, &run_id, |r| r["status"] != "running").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(lines(ws.path(), "first.count"), 1, "completed step re-ran");
    assert!(lines(ws.path(), "slow.count") >= 1);
    assert_eq!(lines(ws.path(), "last.count"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_step_kinds() {
    let h = start(&[]).await;
    // sub_workflow: a nested run of the same engine.
    let nested = json!({
        "name": "outer",
        "steps": [{
            "id": "inner",
            "kind": { "type": "sub_workflow", "workflow": {
                "name": "inner",
                "steps": [cmd("x", "echo nested", &[])]
            }}
        }]
    });
    let (s, out) = h
        .post("/v1/workflows/run", json!({ "workflow": nested }))
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["status"], "succeeded", "{out}");
    assert_eq!(out["output"]["inner"]["output"]["x"]["stdout"], "nested\n");

    // llm without a provider: 503 before anything runs.
    let llm = json!({
        "name": "ask",
        "steps": [{ "id": "q", "kind": { "type": "llm", "prompt": "hi" } }]
    });
    let (s, v) = h
        .post("/v1/workflows/run", json!({ "workflow": llm }))
        .await;
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["error"]["code"], "llm_not_configured");

    // http to a private address is refused (SSRF rules).
    let http = json!({
        "name": "call",
        "steps": [{ "id": "get", "kind": {
            "type": "http", "method": "GET", "url": "http://127.0.0.1:9/x"
        }}]
    });
    let (s, out) = h
        .post("/v1/workflows/run", json!({ "workflow": http }))
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["status"], "failed", "{out}");
    assert!(
        out["error"]
            .as_str()
            .is_some_and(|e| e.contains("refused HTTP destination")),
        "{out}"
    );
}
