//! Job functions against wiremock sidecars (and a wiremock Docker engine answering `inspect`):
//! request shapes, per-job timeouts, error mapping and bad input. The same jobs run against
//! real sandboxes in tests/tests/operator_jobs.rs.

use std::sync::Arc;
use std::time::Duration;

use agent_types::AgentJobs::{ExecRequest, PromptRequest, SshProvisionRequest, TaskRequest};
use operator::alloy::primitives::Address;
use operator::attestation::NoAttestation;
use operator::jobs::{agent, exec, ssh, JobError, OperatorContext};
use operator::manager::{ManagerError, SandboxManager};
use operator::metrics::{Metrics, Outcome};
use operator::sandbox::DockerRuntime;
use operator::settings::Settings;
use operator::sidecar_client::SidecarError;
use operator::state::{Desired, SandboxRecord};
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const SERVICE: u64 = 1;

struct Fixture {
    ctx: OperatorContext,
    sidecar: MockServer,
    _docker: MockServer,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let sidecar = MockServer::start().await;
    let docker = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"/containers/[^/]+/json$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Id": "c0ffee",
            "Name": "/agent-sbx-1-abababab",
            "State": {"Running": true, "Status": "running"},
            "Config": {"Labels": {}}
        })))
        .mount(&docker)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::new(
        Address::repeat_byte(0xab),
        dir.path().to_path_buf(),
        "agent-sandbox:test".into(),
    );
    settings.call_grace = Duration::from_millis(300);
    let client = bollard::Docker::connect_with_http(&docker.uri(), 5, bollard::API_DEFAULT_VERSION)
        .expect("docker client");
    let runtime = DockerRuntime::new(client, Duration::from_secs(5));
    let manager =
        SandboxManager::new(Arc::new(settings), runtime, Box::new(NoAttestation)).expect("manager");
    let port = sidecar.address().port();
    manager
        .store()
        .put(&SandboxRecord {
            service_id: SERVICE,
            container_name: "agent-sbx-1-abababab".into(),
            container_id: Some("c0ffee".into()),
            image: "agent-sandbox:test".into(),
            public_host: "127.0.0.1".parse().expect("ip"),
            sidecar_host_port: port,
            ssh_host_port: 1,
            sidecar_url: format!("http://127.0.0.1:{port}"),
            token: TOKEN.into(),
            sidecar_public_key: Some("11".repeat(32)),
            cpu_millis: 1000,
            memory_mb: 512,
            disk_gb: 1,
            created_at: 0,
            last_activity: 0,
            expires_at: None,
            idle_timeout_secs: 0,
            desired: Desired::Running,
        })
        .expect("record");
    let ctx = OperatorContext {
        manager: Arc::new(manager),
        metrics: Arc::new(Metrics::new().expect("metrics")),
    };
    Fixture {
        ctx,
        sidecar,
        _docker: docker,
        _dir: dir,
    }
}

async fn mount_commit(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/ves/commit"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "seq_end": 7,
            "state_root": format!("0x{}", "cd".repeat(32)),
        })))
        .mount(server)
        .await;
}

fn exec_req(command: &str, timeout_ms: u64) -> ExecRequest {
    ExecRequest {
        command: command.into(),
        cwd: String::new(),
        env: vec!["A=1".into()],
        timeoutMs: timeout_ms,
    }
}

#[tokio::test]
async fn exec_calls_the_sidecar_and_anchors_the_committed_head() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/v1/exec"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_partial_json(
            json!({"command": "echo hi", "env": ["A=1"], "timeout_ms": 5000}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "exit_code": 0, "stdout": "hi\n", "stderr": "", "timed_out": false,
            "truncated": false, "duration_ms": 3, "ves_sequence": 6, "ves_state_root": null
        })))
        .expect(1)
        .mount(&f.sidecar)
        .await;
    mount_commit(&f.sidecar).await;
    let (r, outcome) = exec::exec(&f.ctx, SERVICE, exec_req("echo hi", 5000))
        .await
        .expect("exec");
    assert_eq!(outcome, Outcome::Ok);
    assert_eq!(r.exitCode, 0);
    assert_eq!(r.stdout, "hi\n");
    assert_eq!(r.vesSequence, 7);
    assert_eq!(r.vesStateRoot.0, [0xcd; 32]);
}

#[tokio::test]
async fn exec_input_the_sandbox_refuses_becomes_a_result_that_says_so() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/v1/exec"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"code": "bad_request", "message": "invalid env name \"1A\""}
        })))
        .mount(&f.sidecar)
        .await;
    mount_commit(&f.sidecar).await;
    let (r, outcome) = exec::exec(&f.ctx, SERVICE, exec_req("true", 1000))
        .await
        .expect("a result");
    assert_eq!(outcome, Outcome::Rejected);
    assert_eq!(r.exitCode, -1);
    assert!(r.stderr.contains("invalid env name"), "{}", r.stderr);
}

#[tokio::test]
async fn exec_sidecar_failure_is_an_error_not_a_result() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/v1/exec"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "error": {"code": "exec_failed", "message": "spawn failed"}
        })))
        .mount(&f.sidecar)
        .await;
    let err = exec::exec(&f.ctx, SERVICE, exec_req("true", 1000))
        .await
        .expect_err("no result");
    assert!(matches!(
        err,
        JobError::Manager(ManagerError::Sidecar(SidecarError::Api { status: 500, .. }))
    ));
    // Through the handler wrapper, the failure is counted as an error outcome.
    let counted = f
        .ctx
        .observe(
            agent_types::Job::Exec,
            SERVICE,
            1,
            exec::exec(&f.ctx, SERVICE, exec_req("true", 1000)),
        )
        .await;
    assert!(counted.is_err());
    assert!(f
        .ctx
        .metrics
        .render()
        .contains(r#"agent_operator_jobs_total{job="EXEC",outcome="error"} 1"#));
}

#[tokio::test]
async fn exec_uses_the_job_timeout_not_a_global_one() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/v1/exec"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"exit_code": 0, "stdout": "", "stderr": ""}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&f.sidecar)
        .await;
    let start = std::time::Instant::now();
    let err = exec::exec(&f.ctx, SERVICE, exec_req("sleep 10", 200))
        .await
        .expect_err("timed out");
    assert!(
        matches!(
            err,
            JobError::Manager(ManagerError::Sidecar(SidecarError::Timeout { .. }))
        ),
        "{err}"
    );
    // 200 ms job timeout + 300 ms grace.
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn bad_input_and_unknown_service_are_clear_errors() {
    let f = fixture().await;
    let err = exec::exec(&f.ctx, SERVICE, exec_req("  ", 0))
        .await
        .expect_err("empty command");
    assert!(matches!(err, JobError::BadInput(_)));
    let err = exec::exec(&f.ctx, 99, exec_req("true", 0))
        .await
        .expect_err("no sandbox");
    assert!(matches!(
        err,
        JobError::Manager(ManagerError::NotProvisioned(99))
    ));
}

#[tokio::test]
async fn prompt_keeps_only_deterministic_fields() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/v1/agent/prompt"))
        .and(body_partial_json(
            json!({"prompt": "2+2?", "seed": 7, "max_tokens": 64}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "success": true, "response": "4",
            "transcript_digest": format!("sha256:{}", "ee".repeat(32)),
            "session_id": "s1", "metadata": {"duration_ms": 1234, "usage": {"total_tokens": 9}},
            "ves_sequence": 3, "ves_state_root": null
        })))
        .mount(&f.sidecar)
        .await;
    let req = PromptRequest {
        prompt: "2+2?".into(),
        systemPrompt: String::new(),
        model: String::new(),
        maxTokens: 64,
        seed: 7,
        timeoutMs: 10_000,
    };
    let (r, _) = agent::prompt(&f.ctx, SERVICE, req).await.expect("prompt");
    assert!(r.success);
    assert_eq!(r.response, "4");
    assert_eq!(r.transcriptDigest.0, [0xee; 32]);
}

#[tokio::test]
async fn prompt_refused_by_the_sandbox_is_an_unsuccessful_result() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/v1/agent/prompt"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"code": "bad_request", "message": "prompt is empty"}
        })))
        .mount(&f.sidecar)
        .await;
    let req = PromptRequest {
        prompt: String::new(),
        systemPrompt: String::new(),
        model: String::new(),
        maxTokens: 0,
        seed: 0,
        timeoutMs: 0,
    };
    let (r, outcome) = agent::prompt(&f.ctx, SERVICE, req).await.expect("result");
    assert_eq!(outcome, Outcome::Rejected);
    assert!(!r.success);
    assert_eq!(r.response, "error: bad_request: prompt is empty");
}

fn workflow_task(json_text: &str) -> TaskRequest {
    TaskRequest {
        prompt: String::new(),
        systemPrompt: String::new(),
        model: String::new(),
        maxTurns: 0,
        seed: 0,
        timeoutMs: 10_000,
        workflowJson: json_text.into(),
    }
}

#[tokio::test]
async fn workflow_task_polls_a_long_run_and_pins_its_receipt() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/v1/workflows/run"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "run_id": "r1", "status": "running", "timed_out": true
        })))
        .mount(&f.sidecar)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/runs/r1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "run_id": "r1", "status": "succeeded", "output": {"answer": 42},
            "receipt": {
                "steps_root": format!("0x{}", "aa".repeat(32)),
                "output_hash": format!("0x{}", "bb".repeat(32))
            }
        })))
        .mount(&f.sidecar)
        .await;
    let (r, _) = agent::task(&f.ctx, SERVICE, workflow_task(r#"{"name":"w","steps":[]}"#))
        .await
        .expect("task");
    assert!(r.success);
    assert_eq!(r.finalText, r#"{"answer":42}"#);
    assert_eq!(r.transcriptDigest.0, [0xaa; 32]);
    assert_eq!(r.outputHash.0, [0xbb; 32]);
}

#[tokio::test]
async fn workflow_task_with_invalid_json_is_refused_without_calling_the_sandbox() {
    let f = fixture().await;
    let (r, outcome) = agent::task(&f.ctx, SERVICE, workflow_task("{not json"))
        .await
        .expect("result");
    assert_eq!(outcome, Outcome::Rejected);
    assert!(!r.success);
    assert!(r
        .finalText
        .starts_with("error: workflowJson is not valid JSON"));
    assert!(f
        .sidecar
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());
}

#[tokio::test]
async fn ssh_key_refused_by_the_sandbox_reports_failure() {
    let f = fixture().await;
    Mock::given(method("POST"))
        .and(path("/v1/ssh/keys"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"code": "invalid_key", "message": "rsa keys need at least 2048 bits"}
        })))
        .mount(&f.sidecar)
        .await;
    let req = SshProvisionRequest {
        username: String::new(),
        publicKey: "ssh-rsa AAAA short".into(),
    };
    let (r, outcome) = ssh::provision(&f.ctx, SERVICE, req).await.expect("result");
    assert_eq!(outcome, Outcome::Rejected);
    assert!(!r.success);
    assert!(r.fingerprint.is_empty());
}
