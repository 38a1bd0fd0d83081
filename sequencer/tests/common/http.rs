//! The router served on a loopback port, and a reqwest client with helpers.
#![allow(dead_code)]

use std::sync::Arc;

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;
use uuid::Uuid;
use ves::api::{router, ApiKeys, ApiState, Principal, Role};
use ves::*;

use super::*;

pub const AGENT_KEY: &str = "agent-key-0123456789abcdef";
pub const OTHER_AGENT_KEY: &str = "other-agent-key-0123456789";
pub const ADMIN_KEY: &str = "admin-key-0123456789abcdef";
pub const OTHER_STORE_KEY: &str = "other-store-agent-key-0123";
pub const OTHER_AGENT: Uuid = Uuid::from_u128(0xa9_0002);
pub const OTHER_STORE: Uuid = Uuid::from_u128(0x5_0002);
/// Small body limit so that the 413 test stays cheap.
pub const TEST_BODY_LIMIT: usize = 256 * 1024;

pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub seq: Arc<Sequencer>,
    pub state: ApiState,
    _dir: Option<TempDir>,
}

fn api_keys() -> ApiKeys {
    let agent = |agent, store| Principal {
        tenant_id: Some(TENANT),
        store_id: store,
        role: Role::Agent(agent),
    };
    ApiKeys::new()
        .with(AGENT_KEY, agent(AGENT, None))
        .and_then(|k| k.with(OTHER_AGENT_KEY, agent(OTHER_AGENT, None)))
        .and_then(|k| k.with(OTHER_STORE_KEY, agent(AGENT, Some(OTHER_STORE))))
        .and_then(|k| {
            k.with(
                ADMIN_KEY,
                Principal {
                    tenant_id: Some(TENANT),
                    store_id: None,
                    role: Role::Admin,
                },
            )
        })
        .expect("api keys")
}

/// A server with no agent keys registered.
pub async fn serve() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let seq = open_sequencer(
        &dir.path().join("ves.db"),
        SequencerConfig::new("http-sequencer"),
    );
    serve_sequencer(seq, Some(dir)).await
}

/// The router of `seq` on a loopback port (`dir`: kept alive as long as the server).
pub async fn serve_sequencer(seq: Arc<Sequencer>, dir: Option<TempDir>) -> Server {
    let mut state = ApiState::new(seq.clone(), api_keys());
    state.body_limit = TEST_BODY_LIMIT;
    let app = router(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        seq,
        state,
        _dir: dir,
    }
}

/// Reads SSE frames until `n` `ves_event` events arrived; returns their (id, data).
pub async fn read_events(resp: &mut Response, n: usize) -> Vec<(u64, Value)> {
    // One deadline for all of them: keep-alive comments must not keep a stalled stream going.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut buffer = String::new();
    let mut out = Vec::new();
    while out.len() < n {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("{n} events within 20 s; got {}", out.len()))
            .expect("chunk")
            .expect("stream open");
        buffer.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let (mut id, mut data, mut kind) = (None, String::new(), None);
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse::<u64>().ok();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                } else if let Some(v) = line.strip_prefix("event:") {
                    kind = Some(v.trim().to_owned());
                }
            }
            if kind.as_deref() == Some("ves_event") {
                let id = id.expect("id");
                out.push((id, serde_json::from_str(&data).expect("data json")));
            }
        }
    }
    out
}

/// A server where `AGENT` registered key 1 over HTTP.
pub async fn serve_with_key() -> Server {
    let s = serve().await;
    let (status, _) = s
        .call(
            Method::POST,
            "/api/v1/agents/keys",
            Some(AGENT_KEY),
            Some(registration(AGENT, 1, true)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    s
}

pub fn registration(agent: Uuid, key_id: u32, with_pop: bool) -> Value {
    let sk = agent_key(key_id);
    let mut body = json!({
        "tenant_id": TENANT,
        "agent_id": agent,
        "key_id": key_id,
        "public_key": Ed25519PublicKey::from_signing_key(&sk),
        "valid_from": "2020-01-01T00:00:00Z",
    });
    if with_pop {
        body["proof_of_possession"] = json!(sign_pop(&sk));
    }
    body
}

pub fn ingest_body(events: &[EventEnvelope]) -> Value {
    json!({ "agentId": AGENT, "events": events })
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body);
        }
        req.send().await.expect("request")
    }

    /// Sends JSON, returns the status and the JSON body (`Null` when empty or not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let body = body.map(|b| serde_json::to_vec(&b).expect("json"));
        let resp = self.send(method, path, key, body).await;
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(key), None).await
    }

    pub async fn ingest(&self, events: &[EventEnvelope]) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/api/v1/ves/events/ingest",
            Some(AGENT_KEY),
            Some(ingest_body(events)),
        )
        .await
    }
}

/// Asserts the JSON error shape and returns its code.
pub fn error_code(body: &Value) -> String {
    let code = body["error"]["code"].as_str().expect("error.code");
    assert!(body["error"]["message"].is_string(), "{body}");
    code.to_owned()
}

pub fn signed_batch(n: u64) -> Vec<EventEnvelope> {
    (0..n).map(|i| sign(new_event(i))).collect()
}
