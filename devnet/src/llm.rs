//! A small OpenAI-compatible stand-in for offline demos and tests, plainly labelled canned.
//!
//! `POST /v1/chat/completions` answers deterministically from the request alone (so every
//! operator's sandbox gets the same answer and PROMPT/TASK hashes agree):
//! - without tools (PROMPT): `canned answer <sha256 of the last user message, 16 hex>`;
//! - with tools (TASK): first a `run_command` tool call (`uname -s`), then, once a tool result
//!   is in the conversation, a final text quoting it.
//!
//! It answers non-streaming bodies only; the sidecar accepts that even when it asked to stream.

use std::net::SocketAddr;

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The model name it reports.
pub const MODEL: &str = "canned-standin";

/// Serves the stand-in on `addr`; returns the bound address.
pub async fn serve(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    serve_salted(addr, "").await
}

/// A stand-in whose answers differ from [`serve`]'s by `salt` (tests use it to make one
/// operator diverge).
pub async fn serve_salted(addr: SocketAddr, salt: &'static str) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route(
            "/v1/chat/completions",
            post(move |Json(req): Json<Value>| async move { Json(answer_salted(&req, salt)) }),
        )
        .route(
            "/v1/models",
            get(|| async { Json(json!({"data": [{"id": MODEL}]})) }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "LLM stand-in stopped");
        }
    });
    Ok(bound)
}

/// The canned answer to a chat-completions request.
pub fn answer(req: &Value) -> Value {
    answer_salted(req, "")
}

fn answer_salted(req: &Value, salt: &str) -> Value {
    let messages = req["messages"].as_array().cloned().unwrap_or_default();
    let has_tools = req["tools"].as_array().is_some_and(|t| !t.is_empty());
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap_or("");
    let tool_result = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "tool")
        .and_then(|m| m["content"].as_str());
    let digest = hex::encode(&Sha256::digest(last_user.as_bytes())[..8]);
    let message = match (has_tools, tool_result) {
        (true, None) => json!({
            "role": "assistant",
            "content": null,
            "tool_calls": [{
                "id": "call_canned_1",
                "type": "function",
                "function": {"name": "run_command", "arguments": "{\"command\":\"uname -s\"}"}
            }]
        }),
        (true, Some(out)) => json!({
            "role": "assistant",
            "content": format!("canned task result {digest}: the sandbox said {}", out.trim())
        }),
        (false, _) => {
            json!({"role": "assistant", "content": format!("canned answer {digest}{salt}")})
        }
    };
    let finish = if message.get("tool_calls").is_some() {
        "tool_calls"
    } else {
        "stop"
    };
    json!({
        "id": format!("canned-{digest}"),
        "object": "chat.completion",
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_deterministic_and_walk_the_tool_loop() {
        let prompt = json!({"messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(answer(&prompt), answer(&prompt));
        let text = answer(&prompt)["choices"][0]["message"]["content"].clone();
        assert!(text
            .as_str()
            .is_some_and(|t| t.starts_with("canned answer ")));
        let task = json!({"messages": [{"role": "user", "content": "go"}], "tools": [{"type": "function"}]});
        assert_eq!(answer(&task)["choices"][0]["finish_reason"], "tool_calls");
        let mut done = task.clone();
        done["messages"]
            .as_array_mut()
            .expect("array")
            .push(json!({"role": "tool", "content": "Linux\n"}));
        let last = answer(&done)["choices"][0]["message"]["content"].clone();
        assert!(last
            .as_str()
            .is_some_and(|t| t.ends_with("the sandbox said Linux")));
    }
}
