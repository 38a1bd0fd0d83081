mod common;

use std::sync::{Arc, Mutex};

use agent_orchestrator::{CancelToken, EchoExecutor, HttpConfig, HttpExecutor, RunStatus};
use common::{workflow, Env};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A tiny HTTP/1.1 server: answers each request with the next scripted status (the last one
/// repeats) and a JSON body; records the requests it saw.
async fn server(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut tmp = [0u8; 4096];
            loop {
                let k = sock.read(&mut tmp).await.unwrap_or(0);
                if k == 0 {
                    break;
                }
                buf.extend_from_slice(&tmp[..k]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            seen2
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf).to_string());
            let status = statuses[n.min(statuses.len() - 1)];
            n += 1;
            let body = json!({ "n": n }).to_string();
            let resp = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    (format!("http://{addr}/hook"), seen)
}

/// The test servers listen on loopback, which the default configuration refuses.
fn loopback_allowed() -> Arc<HttpExecutor<EchoExecutor>> {
    let config = HttpConfig {
        allow_private: true,
        ..HttpConfig::default()
    };
    Arc::new(HttpExecutor::with_config(EchoExecutor, config).unwrap())
}

#[tokio::test]
async fn http_step_posts_inputs_and_retries_server_errors() {
    let (url, seen) = server(vec![503, 200]).await;
    let env = Env::new();
    let exec = loopback_allowed();
    let engine = env.engine(exec, 4);
    let wf = workflow(
        vec![
            json!({ "id": "prep", "kind": { "type": "noop" }, "inputs": { "x": { "from": "literal", "value": 5 } } }),
            json!({ "id": "call", "kind": { "type": "http", "method": "POST", "url": url },
                    "inputs": { "x": { "from": "step", "step": "prep", "pointer": "/x" } },
                    "retry": { "max_attempts": 3, "initial_backoff_ms": 10 } }),
        ],
        json!({}),
    );
    let out = engine
        .run(wf, json!({}), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Succeeded, "{:?}", out.error);
    assert_eq!(
        out.output,
        json!({ "call": { "status": 200, "body": { "n": 2 } } })
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1].to_ascii_lowercase().contains(":call:2"),
        "{}",
        seen[1]
    );
    assert!(seen[1].ends_with("{\"x\":5}"), "{}", seen[1]);
}

#[tokio::test]
async fn http_client_errors_are_not_retried() {
    let (url, seen) = server(vec![404]).await;
    let env = Env::new();
    let engine = env.engine(loopback_allowed(), 4);
    let wf = workflow(
        vec![
            json!({ "id": "get", "kind": { "type": "http", "method": "GET", "url": url },
                     "retry": { "max_attempts": 3, "initial_backoff_ms": 1 } }),
        ],
        json!({}),
    );
    let out = engine
        .run(wf, json!({}), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Failed);
    assert!(out.error.unwrap().contains("HTTP 404"));
    assert_eq!(seen.lock().unwrap().len(), 1);
}
