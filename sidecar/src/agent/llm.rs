//! An OpenAI-compatible chat-completions client: `POST {base_url}/chat/completions`, either
//! non-streaming or streaming (Server-Sent Events, see [`super::stream`]).
//!
//! Every call is bounded by a timeout covering connect, headers and the whole body. Provider
//! HTTP errors keep the provider's own error message; nothing read from the network is trusted
//! to have any particular shape.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::response::{parse_completion, provider_message};
use super::stream::StreamState;

/// Largest response body (or SSE stream) accepted from a provider.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("provider returned HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("provider reported an error: {0}")]
    Provider(String),
    #[error("malformed provider response: {0}")]
    Malformed(String),
    #[error("provider did not answer within {0} ms")]
    Timeout(u64),
    #[error("cannot reach provider: {0}")]
    Transport(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One chat message in the OpenAI wire format (also the session file format).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    pub fn text(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    pub fn tool_result(call_id: &str, content: String) -> Self {
        Self {
            role: Role::Tool,
            content: Some(content),
            tool_calls: Vec::new(),
            tool_call_id: Some(call_id.to_string()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    pub function: FunctionCall,
}

pub(super) fn function_kind() -> String {
    "function".to_string()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    /// The arguments as the model produced them: a JSON document in a string.
    pub arguments: String,
}

/// Token counts as reported by the provider (zero when not reported).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
}

impl Usage {
    pub fn add(&mut self, other: Usage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
    }
}

/// What one chat-completions call sends.
#[derive(Clone, Debug)]
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: &'a [Message],
    /// Function-tool definitions (`{"type":"function","function":{...}}`); none when empty.
    pub tools: &'a [Value],
    pub temperature: f64,
    pub seed: Option<u64>,
    pub max_tokens: Option<u32>,
}

impl ChatRequest<'_> {
    pub fn body(&self, stream: bool) -> Value {
        let mut body = json!({
            "model": self.model,
            "messages": self.messages,
            "temperature": self.temperature,
        });
        if !self.tools.is_empty() {
            body["tools"] = Value::from(self.tools.to_vec());
        }
        if let Some(seed) = self.seed {
            body["seed"] = json!(seed);
        }
        if let Some(m) = self.max_tokens {
            body["max_tokens"] = json!(m);
        }
        if stream {
            body["stream"] = json!(true);
            body["stream_options"] = json!({"include_usage": true});
        }
        body
    }
}

/// One model answer with the provider's bookkeeping.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// The assistant message (content and/or tool calls).
    pub message: Message,
    pub finish_reason: Option<String>,
    pub id: Option<String>,
    pub model: Option<String>,
    pub usage: Usage,
}

#[derive(Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    endpoint: String,
    api_key: Option<String>,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl LlmClient {
    pub fn new(http: reqwest::Client, base_url: &str, api_key: Option<String>) -> Self {
        Self {
            http,
            endpoint: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            api_key,
        }
    }

    /// A non-streaming call.
    pub async fn complete(
        &self,
        req: &ChatRequest<'_>,
        timeout: Duration,
    ) -> Result<Completion, LlmError> {
        bounded(timeout, async {
            let resp = self.send(req.body(false)).await?;
            let body = read_capped(resp).await?;
            parse_completion(&body)
        })
        .await
    }

    /// A streaming call; `on_delta` sees every content fragment as it arrives.
    pub async fn complete_stream(
        &self,
        req: &ChatRequest<'_>,
        timeout: Duration,
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Completion, LlmError> {
        bounded(timeout, async {
            let mut resp = self.send(req.body(true)).await?;
            let is_json = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            if is_json {
                // The provider ignored `stream: true` and answered in one piece.
                let body = read_capped(resp).await?;
                let c = parse_completion(&body)?;
                if let Some(text) = c.message.content.as_deref().filter(|t| !t.is_empty()) {
                    on_delta(text);
                }
                return Ok(c);
            }
            let mut state = StreamState::default();
            while let Some(chunk) = resp.chunk().await.map_err(transport)? {
                state.push(&chunk, on_delta)?;
                if state.is_done() {
                    break;
                }
            }
            state.finish()
        })
        .await
    }

    async fn send(&self, body: Value) -> Result<reqwest::Response, LlmError> {
        let mut rb = self.http.post(&self.endpoint).json(&body);
        if let Some(key) = &self.api_key {
            rb = rb.bearer_auth(key);
        }
        let resp = rb.send().await.map_err(transport)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = read_capped(resp).await.unwrap_or_default();
        Err(LlmError::Status {
            status: status.as_u16(),
            message: provider_message(&body, status.canonical_reason().unwrap_or("error")),
        })
    }
}

async fn bounded<T>(
    timeout: Duration,
    fut: impl std::future::Future<Output = Result<T, LlmError>>,
) -> Result<T, LlmError> {
    let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(LlmError::Timeout(ms)),
    }
}

fn transport(e: reqwest::Error) -> LlmError {
    LlmError::Transport(e.to_string())
}

async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, LlmError> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if out.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(LlmError::Malformed(format!(
                "response larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
