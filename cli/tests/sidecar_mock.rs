//! Sidecar HTTP clients against wiremock: exec stream parsing (frames, errors, broken streams,
//! refused tokens) and event-log fetching, including a log whose served data was tampered with.

mod common;

use agent_cli::output::Spinner;
use agent_cli::sidecar::{ExecBody, Sidecar};
use agent_cli::stream::{exec_everywhere, parse_exec_frame, ExecEvent, Target};
use agent_cli::verify::verify_log;
use agent_cli::Error;
use common::{start_sidecar, TOKEN};
use serde_json::{json, Value};
use ves::client::SseFrame;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn sse(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "text/event-stream")
}

async fn mock_stream(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/exec/stream"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(
            json!({"command": "make", "env": ["A=1"], "timeout_ms": 500}),
        ))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

fn target(label: &str, server: &MockServer) -> Target {
    Target {
        label: label.into(),
        operator: None,
        sidecar: Sidecar::new(&server.uri(), TOKEN).expect("client"),
    }
}

#[tokio::test]
async fn exec_streams_are_parsed_per_operator() {
    let ok = mock_stream(sse(concat!(
        ": keep-alive\n\n",
        "event: stdout\r\ndata: {\"data\":\"building\\npart\"}\r\n\r\n",
        "event: stdout\ndata: {\"data\":\"ial\\n\"}\n\n",
        "event: stderr\ndata: {\"data\":\"warning: x\\n\"}\n\n",
        "event: exit\ndata: {\"exit_code\":0,\"timed_out\":false,\"truncated\":false,\"duration_ms\":12,\"ves_sequence\":5,\"ves_state_root\":null}\n\n",
    )))
    .await;
    let failed = mock_stream(sse(
        "event: stdout\ndata: {\"data\":\"x\"}\n\nevent: error\ndata: {\"error\":{\"code\":\"exec_failed\",\"message\":\"runner stopped\"}}\n\n",
    ))
    .await;
    let broken = mock_stream(sse("event: stdout\ndata: not json\n\n")).await;
    let cut = mock_stream(sse("event: stdout\ndata: {\"data\":\"half\"}\n\n")).await;
    let refused = mock_stream(ResponseTemplate::new(401).set_body_json(
        json!({"error": {"code": "unauthorized", "message": "missing or invalid bearer token"}}),
    ))
    .await;

    let targets = vec![
        target("ok", &ok),
        target("failed", &failed),
        target("broken", &broken),
        target("cut", &cut),
        target("refused", &refused),
    ];
    let body = ExecBody {
        command: "make".into(),
        cwd: None,
        env: vec!["A=1".into()],
        timeout_ms: Some(500),
    };
    let lines = std::sync::Mutex::new(Vec::new());
    let sink = |t: &Target, _: agent_cli::stream::Channel, l: &str| {
        lines.lock().expect("lock").push(format!("{} {l}", t.label));
    };
    let report = exec_everywhere(&targets, &body, &sink).await;
    let by = |label: &str| {
        report
            .operators
            .iter()
            .find(|o| o.label == label)
            .expect("operator")
    };

    let o = by("ok");
    assert_eq!(o.stdout, "building\npartial\n");
    assert_eq!(o.stderr, "warning: x\n");
    assert_eq!(
        o.exit.as_ref().map(|e| (e.exit_code, e.ves_sequence)),
        Some((0, 5))
    );
    assert!(o.error.is_none());
    let lines = lines.into_inner().expect("lock");
    assert!(
        lines.contains(&"ok building".to_owned()) && lines.contains(&"ok partial".to_owned()),
        "{lines:?}"
    );

    assert_eq!(
        by("failed").error.as_deref(),
        Some("exec_failed: runner stopped")
    );
    assert!(by("broken")
        .error
        .as_deref()
        .is_some_and(|e| e.contains("malformed")));
    let cut = by("cut");
    assert!(cut.exit.is_none() && cut.error.is_none());
    assert!(by("refused")
        .error
        .as_deref()
        .is_some_and(|e| e.contains("401") && e.contains("unauthorized")));

    assert!(!report.all_succeeded && !report.outputs_agree);
    let text = agent_cli::output::Output::plain(false)
        .format(&report)
        .expect("text");
    assert!(text.contains("without an exit event"), "{text}");
    assert!(text.contains("DIFFER"), "{text}");
}

#[test]
fn unknown_frames_are_skipped_and_bad_ones_named() {
    let frame = |event: &str, data: &str| SseFrame {
        id: None,
        event: Some(event.into()),
        data: data.into(),
    };
    assert_eq!(parse_exec_frame(&frame("progress", "{}")), Ok(None));
    assert_eq!(
        parse_exec_frame(&frame("stderr", r#"{"data":"e"}"#)),
        Ok(Some(ExecEvent::Stderr("e".into())))
    );
    assert!(parse_exec_frame(&frame("exit", r#"{"exit_code":"zero"}"#))
        .is_err_and(|e| e.contains("exit")));
}

#[test]
fn sidecar_urls_and_tokens_are_checked() {
    assert!(matches!(
        Sidecar::new("ftp://x", TOKEN),
        Err(Error::Input(_))
    ));
    assert!(matches!(
        Sidecar::new("http://x", " "),
        Err(Error::Input(_))
    ));
    assert_eq!(
        Sidecar::new("http://x:1/", TOKEN).expect("ok").url(),
        "http://x:1"
    );
}

/// What a real sidecar serves for log verification, captured to be replayed by wiremock.
#[derive(Clone)]
struct Captured {
    info: Value,
    sequencer_key: Value,
    keys: Value,
    events: Value,
    commitments: Value,
    proofs: Vec<(String, Value)>,
}

async fn capture() -> Captured {
    let s = start_sidecar().await;
    for i in 0..3 {
        s.post("/v1/exec", json!({ "command": format!("echo {i}") }))
            .await;
    }
    s.post("/v1/ves/commit", json!({})).await;
    let info = s.get("/v1/info").await;
    let (tenant, store) = (
        info["ves"]["tenant_id"]
            .as_str()
            .expect("tenant")
            .to_owned(),
        info["ves"]["store_id"].as_str().expect("store").to_owned(),
    );
    let q = format!("tenant_id={tenant}&store_id={store}");
    let events = s
        .get(&format!("/api/v1/events?{q}&from=1&limit=1000"))
        .await;
    let mut proofs = Vec::new();
    for ev in events["events"].as_array().expect("events") {
        let id = ev["event"]["event_id"]
            .as_str()
            .expect("event id")
            .to_owned();
        proofs.push((id.clone(), s.get(&format!("/api/v1/proofs/{id}")).await));
    }
    Captured {
        sequencer_key: s.get("/api/v1/sequencer/key").await,
        keys: s
            .get(&format!("/api/v1/agents/keys?tenant_id={tenant}"))
            .await,
        commitments: s
            .get(&format!("/api/v1/commitments?{q}&after=0&limit=100"))
            .await,
        info,
        events,
        proofs,
    }
}

async fn replay(c: &Captured) -> MockServer {
    let server = MockServer::start().await;
    let auth = format!("Bearer {TOKEN}");
    let get = |p: &str| {
        Mock::given(method("GET"))
            .and(path(p.to_owned()))
            .and(header("authorization", auth.as_str()))
    };
    get("/v1/info")
        .respond_with(ResponseTemplate::new(200).set_body_json(&c.info))
        .mount(&server)
        .await;
    get("/api/v1/sequencer/key")
        .respond_with(ResponseTemplate::new(200).set_body_json(&c.sequencer_key))
        .mount(&server)
        .await;
    get("/api/v1/agents/keys")
        .respond_with(ResponseTemplate::new(200).set_body_json(&c.keys))
        .mount(&server)
        .await;
    get("/api/v1/events")
        .and(query_param("from", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&c.events))
        .mount(&server)
        .await;
    get("/api/v1/commitments")
        .and(query_param("after", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&c.commitments))
        .mount(&server)
        .await;
    for (id, proof) in &c.proofs {
        get(&format!("/api/v1/proofs/{id}"))
            .respond_with(ResponseTemplate::new(200).set_body_json(proof))
            .mount(&server)
            .await;
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_fetching_verifies_served_data_and_catches_tampering() {
    let captured = capture().await;
    let server = replay(&captured).await;
    let sidecar = Sidecar::new(&server.uri(), TOKEN).expect("client");
    let report = verify_log(&sidecar, None, false, &Spinner::hidden())
        .await
        .expect("fetches");
    assert!(report.ok, "{:?}", report.failures);
    assert_eq!(report.proofs, captured.proofs.len());

    // One event's payload changed after signing.
    let mut forged = captured.clone();
    forged.events["events"][1]["event"]["payload"]["exit_code"] = json!(99);
    let server = replay(&forged).await;
    let sidecar = Sidecar::new(&server.uri(), TOKEN).expect("client");
    let report = verify_log(&sidecar, None, false, &Spinner::hidden())
        .await
        .expect("fetches");
    assert!(!report.ok);
    assert!(
        report.failures.iter().any(|f| f.sequence_number == Some(2)),
        "{:?}",
        report.failures
    );

    // A sequencer key other than the sidecar's identity.
    let mut other_key = captured.clone();
    let stranger =
        ves::Ed25519PublicKey::from_signing_key(&ves::SigningKey::from_bytes(&[5u8; 32]));
    other_key.sequencer_key["public_key"] = json!(stranger.to_string());
    let server = replay(&other_key).await;
    let sidecar = Sidecar::new(&server.uri(), TOKEN).expect("client");
    let report = verify_log(&sidecar, None, false, &Spinner::hidden())
        .await
        .expect("fetches");
    assert!(!report.ok);
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.error.contains("sequencer key")),
        "{:?}",
        report.failures
    );
}
