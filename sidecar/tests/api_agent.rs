//! `/v1/agent/*` against a real sidecar, with wiremock speaking the OpenAI chat-completions wire
//! format (JSON and Server-Sent Events).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use common::{start, Harness, TOKEN};

const MODEL: &str = "test-model";
const KEY: &str = "sk-test-key";

async fn with_llm(server: &MockServer) -> Harness {
    let base = format!("{}/v1", server.uri());
    start(&[
        ("SIDECAR_LLM_BASE_URL", base.as_str()),
        ("SIDECAR_LLM_MODEL", MODEL),
        ("SIDECAR_LLM_API_KEY", KEY),
    ])
    .await
}

fn completion(id: &str, message: Value, finish: &str) -> Value {
    json!({
        "id": id, "object": "chat.completion", "created": 1_700_000_000, "model": "provider-model-1",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    })
}

fn text(id: &str, content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(completion(
        id,
        json!({"role": "assistant", "content": content}),
        "stop",
    ))
}

fn tool_call(id: &str, name: &str, arguments: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(completion(
        id,
        json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": format!("call_{id}"), "type": "function",
             "function": {"name": name, "arguments": arguments}}]}),
        "tool_calls",
    ))
}

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "provider-model-1",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn sse(chunks: &[Value]) -> ResponseTemplate {
    let mut body = String::new();
    for c in chunks {
        body.push_str(&format!("data: {c}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

/// Answers the n-th request with the n-th template (the last one repeats).
struct Seq(Vec<ResponseTemplate>, AtomicUsize);

impl Respond for Seq {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.1.fetch_add(1, Ordering::SeqCst);
        self.0[n.min(self.0.len() - 1)].clone()
    }
}

/// A fresh response id per request, same text.
struct Counting(AtomicUsize);

impl Respond for Counting {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        text(&format!("chatcmpl-{n}"), "The answer is 42.")
    }
}

async fn mount(server: &MockServer, r: impl Respond + 'static) {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(r)
        .mount(server)
        .await;
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .map(|r| r.body_json::<Value>().expect("json request"))
        .collect()
}

/// Posts to a streaming route and returns its `(event, data)` pairs.
async fn stream(h: &Harness, route: &str, body: Value) -> Vec<(String, Value)> {
    let r = h
        .http
        .post(h.url(route))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.expect("body");
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut name = None;
        let mut data = String::new();
        for line in block.lines() {
            if let Some(n) = line.strip_prefix("event:") {
                name = Some(n.trim().to_string());
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.trim_start());
            }
        }
        if let Some(name) = name {
            out.push((name, serde_json::from_str(&data).expect("event json")));
        }
    }
    out
}

#[tokio::test]
async fn prompt_non_streaming_sends_deterministic_request() {
    let server = MockServer::start().await;
    mount(
        &server,
        Seq(vec![text("chatcmpl-1", "Hello there")], AtomicUsize::new(0)),
    )
    .await;
    let h = with_llm(&server).await;
    let (s, b) = h
        .post(
            "/v1/agent/prompt",
            json!({"prompt": "Say hi", "system_prompt": "Be brief.", "seed": 7, "max_tokens": 50}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["success"], true);
    assert_eq!(b["response"], "Hello there");
    assert!(b["transcript_digest"]
        .as_str()
        .expect("digest")
        .starts_with("sha256:"));
    assert_eq!(b["metadata"]["response_ids"], json!(["chatcmpl-1"]));
    assert_eq!(b["metadata"]["usage"]["total_tokens"], 18);
    assert_eq!(b["metadata"]["provider_model"], "provider-model-1");
    assert_eq!(b["metadata"]["turns"], 1);
    assert!(b["ves_sequence"].is_u64(), "run recorded in VES: {b}");
    let sid = b["session_id"].as_str().expect("session id");
    assert!(h
        .data
        .path()
        .join(format!("agent/sessions/{sid}.json"))
        .is_file());

    let req = &bodies(&server).await[0];
    assert_eq!(req["model"], MODEL);
    assert_eq!(req["temperature"], 0.0);
    assert_eq!(req["seed"], 7);
    assert_eq!(req["max_tokens"], 50);
    assert!(req.get("tools").is_none(), "PROMPT offers no tools: {req}");
    assert!(req.get("stream").is_none());
    assert_eq!(
        req["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}])
    );
}

#[tokio::test]
async fn streamed_task_accumulates_content_deltas() {
    let server = MockServer::start().await;
    let chunks = [
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": "Hel"}), None),
        chunk(json!({"content": "lo wo"}), None),
        chunk(json!({"content": "rld"}), None),
        chunk(json!({}), Some("stop")),
    ];
    mount(&server, Seq(vec![sse(&chunks)], AtomicUsize::new(0))).await;
    let h = with_llm(&server).await;
    let events = stream(
        &h,
        "/v1/agent/task/stream",
        json!({"prompt": "greet", "max_turns": 3}),
    )
    .await;
    let deltas: String = events
        .iter()
        .filter(|(n, _)| n == "delta")
        .map(|(_, d)| d["text"].as_str().expect("text").to_string())
        .collect();
    assert_eq!(deltas, "Hello world");
    let (name, fin) = events.last().expect("final");
    assert_eq!(name, "final", "{events:?}");
    assert_eq!(fin["success"], true);
    assert_eq!(fin["final_text"], "Hello world");
    assert_eq!(fin["metadata"]["stop_reason"], "final");
    assert!(fin["ves_sequence"].is_u64(), "{fin}");
    let req = &bodies(&server).await[0];
    assert_eq!(req["stream"], true);
    let tools: Vec<&str> = req["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["function"]["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        tools,
        ["run_command", "read_file", "write_file", "list_files"]
    );
}

#[tokio::test]
async fn tool_call_flow_executes_command_in_workspace() {
    let server = MockServer::start().await;
    let first = [
        chunk(
            json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                   "function": {"name": "run_command", "arguments": ""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"comm"}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "and\": \"printf hi > out.txt && "}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "cat out.txt\"}"}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
    ];
    let second = [
        chunk(json!({"content": "Wrote out.txt."}), None),
        chunk(json!({}), Some("stop")),
    ];
    mount(
        &server,
        Seq(vec![sse(&first), sse(&second)], AtomicUsize::new(0)),
    )
    .await;
    let h = with_llm(&server).await;
    let events = stream(
        &h,
        "/v1/agent/task/stream",
        json!({"prompt": "write hi", "max_turns": 4}),
    )
    .await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["tool_call", "tool_result", "delta", "final"],
        "{events:?}"
    );
    let args = "{\"command\": \"printf hi > out.txt && cat out.txt\"}";
    assert_eq!(events[0].1["name"], "run_command");
    assert_eq!(events[0].1["arguments"], args);
    let result: Value =
        serde_json::from_str(events[1].1["content"].as_str().expect("content")).expect("json");
    assert_eq!(result["exit_code"], 0);
    assert_eq!(result["stdout"], "hi");
    assert_eq!(events[3].1["success"], true);
    assert_eq!(events[3].1["final_text"], "Wrote out.txt.");
    assert_eq!(events[3].1["metadata"]["tool_calls"], 1);
    assert_eq!(
        std::fs::read_to_string(h.ws().join("out.txt")).expect("file"),
        "hi"
    );

    let reqs = bodies(&server).await;
    assert_eq!(reqs.len(), 2);
    let msgs = reqs[1]["messages"].as_array().expect("messages");
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[1]["role"], "assistant");
    assert_eq!(msgs[1]["tool_calls"][0]["id"], "call_1");
    assert_eq!(msgs[1]["tool_calls"][0]["function"]["arguments"], args);
    assert_eq!(msgs[2]["role"], "tool");
    assert_eq!(msgs[2]["tool_call_id"], "call_1");
    assert!(msgs[2]["content"]
        .as_str()
        .expect("content")
        .contains("\"stdout\":\"hi\""));
}

#[tokio::test]
async fn max_turns_exhaustion_fails_with_reason() {
    let server = MockServer::start().await;
    mount(
        &server,
        Seq(
            vec![tool_call("a", "run_command", "{\"command\":\"true\"}")],
            AtomicUsize::new(0),
        ),
    )
    .await;
    let h = with_llm(&server).await;
    let (s, b) = h
        .post("/v1/agent/task", json!({"prompt": "loop", "max_turns": 2}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["success"], false);
    assert_eq!(b["final_text"], "");
    assert!(
        b["reason"]
            .as_str()
            .expect("reason")
            .contains("max_turns (2)"),
        "{b}"
    );
    assert_eq!(b["metadata"]["turns"], 2);
    assert_eq!(b["metadata"]["tool_calls"], 2);
    assert_eq!(b["metadata"]["stop_reason"], "max_turns");
    assert_eq!(bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn provider_errors_map_to_clear_api_errors() {
    for (status, body, code, needle) in [
        (
            500,
            json!({"error": {"message": "The server had an error", "type": "server_error"}}),
            "llm_provider_error",
            "The server had an error",
        ),
        (
            401,
            json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}),
            "llm_unauthorized",
            "Incorrect API key provided",
        ),
    ] {
        let server = MockServer::start().await;
        mount(
            &server,
            Seq(
                vec![ResponseTemplate::new(status).set_body_json(body)],
                AtomicUsize::new(0),
            ),
        )
        .await;
        let h = with_llm(&server).await;
        let (s, b) = h.post("/v1/agent/prompt", json!({"prompt": "hi"})).await;
        assert_eq!(s, 502, "{b}");
        assert_eq!(b["error"]["code"], code);
        let msg = b["error"]["message"].as_str().expect("message");
        assert!(
            msg.contains(needle) && msg.contains(&status.to_string()),
            "{msg}"
        );
    }
    let server = MockServer::start().await;
    mount(
        &server,
        Seq(
            vec![ResponseTemplate::new(200).set_body_string("{\"choices\": 5}")],
            AtomicUsize::new(0),
        ),
    )
    .await;
    let h = with_llm(&server).await;
    let (s, b) = h
        .post("/v1/agent/task", json!({"prompt": "hi", "max_turns": 1}))
        .await;
    assert_eq!(
        (s, b["error"]["code"].clone()),
        (502, json!("llm_bad_response")),
        "{b}"
    );
}

#[tokio::test]
async fn provider_timeout_is_reported() {
    let server = MockServer::start().await;
    mount(
        &server,
        Seq(
            vec![text("x", "late").set_delay(Duration::from_secs(3))],
            AtomicUsize::new(0),
        ),
    )
    .await;
    let h = with_llm(&server).await;
    let t = Instant::now();
    let (s, b) = h
        .post(
            "/v1/agent/prompt",
            json!({"prompt": "hi", "timeout_ms": 300}),
        )
        .await;
    assert_eq!(s, 504, "{b}");
    assert_eq!(b["error"]["code"], "llm_timeout");
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn same_inputs_give_same_digest_but_different_metadata() {
    let server = MockServer::start().await;
    mount(&server, Counting(AtomicUsize::new(0))).await;
    let h = with_llm(&server).await;
    let req = json!({"prompt": "What is 6*7?", "system_prompt": "Answer briefly.", "seed": 1});
    let (_, a) = h.post("/v1/agent/prompt", req.clone()).await;
    let (_, b) = h.post("/v1/agent/prompt", req).await;
    assert_eq!(a["success"], true);
    assert_eq!(a["transcript_digest"], b["transcript_digest"]);
    assert_eq!(a["response"], b["response"]);
    assert_ne!(a["metadata"]["response_ids"], b["metadata"]["response_ids"]);
    assert_ne!(a["session_id"], b["session_id"]);
    let (_, c) = h
        .post(
            "/v1/agent/prompt",
            json!({"prompt": "What is 6*8?", "seed": 1}),
        )
        .await;
    assert_ne!(a["transcript_digest"], c["transcript_digest"]);
}

#[tokio::test]
async fn sessions_continue_the_conversation() {
    let server = MockServer::start().await;
    mount(
        &server,
        Seq(
            vec![
                text("r1", "Nice to meet you, Ada."),
                text("r2", "Your name is Ada."),
            ],
            AtomicUsize::new(0),
        ),
    )
    .await;
    let h = with_llm(&server).await;
    let first = json!({"prompt": "I am Ada.", "system_prompt": "Be kind.", "session_id": "conv-1"});
    let (s, a) = h.post("/v1/agent/prompt", first).await;
    assert_eq!((s, a["session_id"].clone()), (200, json!("conv-1")), "{a}");
    let (s, b) = h
        .post(
            "/v1/agent/task",
            json!({"prompt": "Who am I?", "max_turns": 2, "session_id": "conv-1"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["final_text"], "Your name is Ada.");
    assert_ne!(a["transcript_digest"], b["transcript_digest"]);
    let reqs = bodies(&server).await;
    assert_eq!(
        reqs[1]["messages"],
        json!([
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "I am Ada."},
            {"role": "assistant", "content": "Nice to meet you, Ada."},
            {"role": "user", "content": "Who am I?"},
        ])
    );
}

#[tokio::test]
async fn unconfigured_llm_and_bad_requests() {
    let h = start(&[]).await;
    for (route, body) in [
        ("/v1/agent/prompt", json!({"prompt": "hi"})),
        ("/v1/agent/task", json!({"prompt": "hi", "max_turns": 1})),
        (
            "/v1/agent/task/stream",
            json!({"prompt": "hi", "max_turns": 1}),
        ),
    ] {
        let (s, b) = h.post(route, body).await;
        assert_eq!(s, 503, "{route}: {b}");
        assert_eq!(b["error"]["code"], "llm_not_configured");
    }
    let server = MockServer::start().await;
    let h = with_llm(&server).await;
    for body in [
        json!({"prompt": "hi", "max_turns": 0}),
        json!({"prompt": "", "max_turns": 1}),
        json!({"prompt": "hi", "max_turns": 1, "session_id": "../x"}),
        json!({"prompt": "hi", "max_turns": 1, "timeout_ms": 0}),
    ] {
        for route in ["/v1/agent/task", "/v1/agent/task/stream"] {
            let (s, b) = h.post(route, body.clone()).await;
            assert_eq!(s, 400, "{route} {body} -> {b}");
            assert_eq!(b["error"]["code"], "bad_request");
        }
    }
    assert!(bodies(&server).await.is_empty());
}
