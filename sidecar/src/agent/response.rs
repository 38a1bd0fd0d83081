//! Parsing provider answers: non-streaming chat-completions bodies and error bodies.

use serde::Deserialize;
use serde_json::Value;

use super::llm::{
    function_kind, Completion, FunctionCall, LlmError, Message, Role, ToolCall, Usage,
};

/// Longest provider error message kept.
const MAX_ERROR_MESSAGE: usize = 1000;

/// The provider's error message from an error body (`{"error":{"message":..}}`, `{"error":..}`,
/// `{"message":..}`, or the text itself), bounded in length.
pub fn provider_message(body: &[u8], fallback: &str) -> String {
    let text = String::from_utf8_lossy(body);
    let from_json = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
        [
            v.pointer("/error/message"),
            v.get("error"),
            v.get("message"),
            v.get("detail"),
        ]
        .into_iter()
        .flatten()
        .find_map(|m| m.as_str().map(str::to_string))
    });
    let msg = from_json.unwrap_or_else(|| text.trim().to_string());
    let msg = if msg.is_empty() {
        fallback.to_string()
    } else {
        msg
    };
    truncate(msg, MAX_ERROR_MESSAGE)
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[derive(Deserialize)]
struct RawResponse {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<RawChoice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct RawChoice {
    #[serde(default)]
    message: Option<RawMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<RawToolCall>>,
}

#[derive(Deserialize)]
struct RawToolCall {
    #[serde(default)]
    id: Option<String>,
    function: RawFunction,
}

#[derive(Deserialize)]
struct RawFunction {
    name: String,
    #[serde(default)]
    arguments: Option<Value>,
}

/// Parses a non-streaming chat-completions response body.
pub fn parse_completion(body: &[u8]) -> Result<Completion, LlmError> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(LlmError::Provider(provider_message(
                err.to_string().as_bytes(),
                "unknown error",
            )));
        }
    }
    let raw: RawResponse =
        serde_json::from_slice(body).map_err(|e| LlmError::Malformed(e.to_string()))?;
    let choice = raw
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| LlmError::Malformed("no choices".into()))?;
    let msg = choice
        .message
        .ok_or_else(|| LlmError::Malformed("choice without a message".into()))?;
    let tool_calls = msg
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let arguments = match c.function.arguments {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s,
                Some(other) => other.to_string(),
            };
            ToolCall {
                id: c
                    .id
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(|| format!("call_{i}")),
                kind: function_kind(),
                function: FunctionCall {
                    name: c.function.name,
                    arguments,
                },
            }
        })
        .collect();
    Ok(Completion {
        message: Message {
            role: Role::Assistant,
            content: msg.content,
            tool_calls,
            tool_call_id: None,
        },
        finish_reason: choice.finish_reason,
        id: raw.id,
        model: raw.model,
        usage: raw.usage.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_completion_and_errors() {
        let body = br#"{"id":"x","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"run_command","arguments":"{\"command\":\"ls\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#;
        let c = parse_completion(body).expect("parse");
        assert_eq!(c.message.tool_calls[0].function.name, "run_command");
        assert_eq!(c.usage.total_tokens, 5);
        assert!(matches!(
            parse_completion(b"{\"choices\":[]}"),
            Err(LlmError::Malformed(_))
        ));
        assert!(matches!(
            parse_completion(b"not json"),
            Err(LlmError::Malformed(_))
        ));
        assert_eq!(
            provider_message(br#"{"error":{"message":"bad key","type":"x"}}"#, "f"),
            "bad key"
        );
        assert_eq!(provider_message(b"", "Unauthorized"), "Unauthorized");
    }
}
