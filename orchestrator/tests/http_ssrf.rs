//! The `http` step kind's destination guard: internal destinations are refused by default
//! (literal addresses, names resolving to them, and redirects to them), allowed when the
//! configuration says so; response size and redirect limits.

mod common;

use std::sync::Arc;

use agent_orchestrator::{
    CancelToken, EchoExecutor, HttpConfig, HttpExecutor, RunOutcome, RunStatus,
};
use common::{workflow, Env};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn executor(config: HttpConfig) -> Arc<HttpExecutor<EchoExecutor>> {
    Arc::new(HttpExecutor::with_config(EchoExecutor, config).unwrap())
}

fn allowed() -> HttpConfig {
    HttpConfig {
        allow_private: true,
        ..HttpConfig::default()
    }
}

async fn call(exec: Arc<HttpExecutor<EchoExecutor>>, url: &str) -> RunOutcome {
    let env = Env::new();
    let engine = env.engine(exec, 2);
    let wf = workflow(
        vec![
            json!({ "id": "get", "kind": { "type": "http", "method": "GET", "url": url },
                     "retry": { "max_attempts": 3, "initial_backoff_ms": 1 } }),
        ],
        json!({}),
    );
    engine
        .run(wf, json!({}), &CancelToken::new())
        .await
        .unwrap()
}

fn refused(out: &RunOutcome) -> bool {
    out.status == RunStatus::Failed
        && out
            .error
            .as_deref()
            .is_some_and(|e| e.contains("refused HTTP destination"))
}

#[tokio::test]
async fn allowed_config_reaches_loopback() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "fine": true })))
        .mount(&server)
        .await;
    let out = call(executor(allowed()), &format!("{}/ok", server.uri())).await;
    assert_eq!(out.status, RunStatus::Succeeded, "{:?}", out.error);
    assert_eq!(
        out.output,
        json!({ "get": { "status": 200, "body": { "fine": true } } })
    );
    // By name too (resolved once by the guarded resolver).
    let by_name = server.uri().replace("127.0.0.1", "localhost");
    let out = call(executor(allowed()), &format!("{by_name}/ok")).await;
    assert_eq!(out.status, RunStatus::Succeeded, "{:?}", out.error);
}

#[tokio::test]
async fn default_config_refuses_internal_destinations_without_retrying() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let uri = server.uri();
    let port = server.address().port();
    for url in [
        format!("{uri}/x"),
        format!("http://localhost:{port}/x"),
        format!("http://[::ffff:127.0.0.1]:{port}/x"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://10.0.0.1/x".to_string(),
        "http://[fd00:ec2::254]/x".to_string(),
    ] {
        let out = call(executor(HttpConfig::default()), &url).await;
        assert!(refused(&out), "{url}: {:?} {:?}", out.status, out.error);
        let error = out.error.unwrap_or_default();
        assert!(error.contains("private, loopback"), "{error}");
    }
    let out = call(executor(HttpConfig::default()), "file:///etc/passwd").await;
    assert!(refused(&out), "{:?}", out.error);
    // Nothing reached the server, and refusals are not retried.
    assert!(server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());
}

#[tokio::test]
async fn redirects_are_checked_and_limited() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/to-metadata"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", "http://169.254.169.254/latest/meta-data/"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/to-v6-loopback"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "http://[::1]:9/x"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/loop"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/hop"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/ok"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_string("done"))
        .mount(&server)
        .await;
    // Only the mock's own address is allowed: the first hop passes, and each redirect is
    // checked again.
    let only_mock = HttpConfig {
        allowed_addrs: vec![server.address().ip()],
        ..HttpConfig::default()
    };
    let out = call(
        executor(only_mock.clone()),
        &format!("{}/to-metadata", server.uri()),
    )
    .await;
    assert!(refused(&out), "{:?}", out.error);
    assert!(
        out.error
            .as_deref()
            .is_some_and(|e| e.contains("169.254.169.254")),
        "{:?}",
        out.error
    );
    let out = call(
        executor(only_mock.clone()),
        &format!("{}/to-v6-loopback", server.uri()),
    )
    .await;
    assert!(refused(&out), "{:?}", out.error);
    let out = call(executor(only_mock), &format!("{}/hop", server.uri())).await;
    assert_eq!(out.status, RunStatus::Succeeded, "{:?}", out.error);
    let out = call(executor(allowed()), &format!("{}/hop", server.uri())).await;
    assert_eq!(out.status, RunStatus::Succeeded, "{:?}", out.error);
    assert_eq!(out.output["get"]["body"], "done");
    let out = call(executor(allowed()), &format!("{}/loop", server.uri())).await;
    assert_eq!(out.status, RunStatus::Failed);
    let no_redirects = HttpConfig {
        max_redirects: 0,
        ..allowed()
    };
    let out = call(executor(no_redirects), &format!("{}/hop", server.uri())).await;
    assert_eq!(out.status, RunStatus::Failed, "{:?}", out.output);
}

#[tokio::test]
async fn oversized_responses_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(4096)))
        .mount(&server)
        .await;
    let exec = Arc::new(
        HttpExecutor::with_config(EchoExecutor, allowed())
            .unwrap()
            .with_max_body(1024),
    );
    let out = call(exec, &format!("{}/big", server.uri())).await;
    assert_eq!(out.status, RunStatus::Failed);
    assert!(
        out.error
            .as_deref()
            .is_some_and(|e| e.contains("larger than 1024")),
        "{:?}",
        out.error
    );
}
