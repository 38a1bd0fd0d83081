//! JSON-RPC through a real server on 127.0.0.1:0.

use std::sync::Arc;

use discovery::rpc::{serve, RpcState, MAX_BODY_BYTES};
use discovery::synth::SynthAgent;
use discovery::{AgentId, Index, RegistryEvent};
use serde_json::{json, Value};
use tokio::sync::RwLock;

const NOW: u64 = 1_800_000_000;

struct Server {
    url: String,
    ids: Vec<AgentId>,
    client: reqwest::Client,
}

async fn start() -> Server {
    let mut index = Index::new();
    let mut ids = Vec::new();
    for n in 0..30u64 {
        let a = SynthAgent::new(n, NOW).expect("agent");
        index
            .apply(&a.registered(NOW + 3600, n, 0).expect("event"))
            .expect("apply");
        if n != 5 {
            index
                .attach_manifest(&a.agent_id(), a.manifest.clone())
                .expect("attach");
        }
        ids.push(a.agent_id());
    }
    index
        .apply(&RegistryEvent::Jailed {
            agent_id: ids[7],
            reason: "misbehaved".into(),
            block: 100,
            log_index: 0,
        })
        .expect("jail");
    let state = RpcState {
        index: Arc::new(RwLock::new(index)),
        clock: Arc::new(|| NOW),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = serve(listener, state).await;
    });
    Server {
        url,
        ids,
        client: reqwest::Client::new(),
    }
}

impl Server {
    async fn raw(&self, body: impl Into<reqwest::Body>) -> (u16, String) {
        let resp = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }

    async fn call(&self, request: Value) -> Value {
        let (status, body) = self.raw(request.to_string()).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("json reply")
    }

    async fn method(&self, method: &str, params: Value) -> Value {
        self.call(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .await
    }
}

#[tokio::test]
async fn methods_answer() {
    let s = start().await;
    let id = s.ids[0].to_string();

    let r = s.method("agent_getRecord", json!([id])).await;
    assert_eq!(r["id"], 1);
    assert_eq!(r["result"]["agent_id"], id.as_str());
    assert_eq!(r["result"]["effective_status"], "active");

    let r = s
        .method("agent_status", json!({"agentId": s.ids[7].to_string()}))
        .await;
    assert_eq!(r["result"]["status"], "jailed");
    assert_eq!(r["result"]["jail_reason"], "misbehaved");

    let r = s.method("discover_resolve", json!([id])).await;
    assert_eq!(
        r["result"]["endpoint"],
        format!("https://agents.example/{id}")
    );
    assert!(r["result"]["manifest"]["manifest"]["tools"].is_array());
    let r = s
        .method("discover_resolve", json!([s.ids[5].to_string()]))
        .await;
    assert!(r["result"]["manifest"].is_null(), "no manifest attached");

    let r = s
        .method(
            "discover_query",
            json!([{"q": "deploy build scan", "limit": 5}]),
        )
        .await;
    let results = r["result"]["results"].as_array().expect("results");
    assert!(!results.is_empty() && results.len() <= 5);
    for hit in results {
        assert!(hit["score"].as_f64().is_some());
        assert!(hit["reasons"][0]
            .as_str()
            .expect("reason")
            .starts_with("text match"));
        assert_ne!(
            hit["agent_id"],
            s.ids[7].to_string(),
            "jailed agents are not listed"
        );
    }
    // Same request, same answer.
    let again = s
        .method(
            "discover_query",
            json!([{"q": "deploy build scan", "limit": 5}]),
        )
        .await;
    assert_eq!(r, again);

    let r = s
        .method(
            "discover_query",
            json!({"facets": {"region": "eu-west"}, "order_by": "agent_id"}),
        )
        .await;
    assert_eq!(r["result"]["total"], 5);
    let r = s
        .call(json!({"jsonrpc": "2.0", "id": "x", "method": "discover_query"}))
        .await;
    assert_eq!(r["result"]["total"], 29);
    assert_eq!(r["result"]["limit"], 20);
}

async fn expect_error(s: &Server, body: &str, code: i64) -> Value {
    let (status, text) = s.raw(body.to_string()).await;
    assert_eq!(status, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(reply["error"]["code"], code, "{body} -> {text}");
    assert_eq!(reply["jsonrpc"], "2.0");
    reply
}

#[tokio::test]
async fn errors_are_json_rpc_errors() {
    let s = start().await;
    expect_error(&s, "{not json", -32700).await;
    expect_error(&s, "", -32700).await;
    expect_error(&s, "42", -32600).await;
    expect_error(&s, "[]", -32600).await;
    expect_error(
        &s,
        r#"{"jsonrpc":"1.0","id":1,"method":"agent_status","params":[]}"#,
        -32600,
    )
    .await;
    expect_error(&s, r#"{"jsonrpc":"2.0","id":1,"method":5}"#, -32600).await;
    expect_error(
        &s,
        r#"{"jsonrpc":"2.0","id":{},"method":"agent_status"}"#,
        -32600,
    )
    .await;
    expect_error(
        &s,
        r#"{"jsonrpc":"2.0","id":1,"method":"agent_status","params":"x"}"#,
        -32600,
    )
    .await;
    let r = expect_error(
        &s,
        r#"{"jsonrpc":"2.0","id":9,"method":"eth_call","params":[]}"#,
        -32601,
    )
    .await;
    assert_eq!(r["id"], 9);
    for params in [r#"[]"#, r#"["0x12"]"#, r#"[12]"#, r#"{"agent":"0x00"}"#] {
        let body =
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"agent_getRecord","params":{params}}}"#);
        expect_error(&s, &body, -32602).await;
    }
    for query in [
        r#"[{"limit":-1}]"#,
        r#"[{"colour":"red"}]"#,
        r#"[{"q":"!!"}]"#,
        r#"[{"order_by":"random"}]"#,
    ] {
        let body =
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"discover_query","params":{query}}}"#);
        expect_error(&s, &body, -32602).await;
    }
    let unknown = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"agent_status","params":["0x{}"]}}"#,
        "ab".repeat(32)
    );
    expect_error(&s, &unknown, discovery::rpc::AGENT_NOT_FOUND).await;
}

#[tokio::test]
async fn batches_notifications_and_limits() {
    let s = start().await;
    let id = s.ids[1].to_string();
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "agent_status", "params": [id]},
        {"jsonrpc": "2.0", "method": "agent_status", "params": [id]},
        {"jsonrpc": "2.0", "id": 2, "method": "nope"},
        7
    ]);
    let r = s.call(batch).await;
    let replies = r.as_array().expect("array");
    assert_eq!(replies.len(), 3, "the notification gets no reply");
    assert_eq!(replies[0]["result"]["status"], "active");
    assert_eq!(replies[1]["error"]["code"], -32601);
    assert_eq!(replies[2]["error"]["code"], -32600);

    let (status, body) = s
        .raw(json!({"jsonrpc": "2.0", "method": "agent_status", "params": [id]}).to_string())
        .await;
    assert_eq!((status, body.as_str()), (204, ""));

    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"discover_query","params":[{{"q":"{}"}}]}}"#,
        "a".repeat(MAX_BODY_BYTES)
    );
    let (status, body) = s.raw(huge).await;
    assert_eq!(status, 413);
    let reply: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(reply["error"]["code"], -32600);

    // Other HTTP methods are refused by the router, not with a server error.
    let resp = s.client.get(&s.url).send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 405);
}
