//! The canonical transcript and its digest (design decision 4: comparable result hashes).
//!
//! The digest covers only what the conversation *is*: the ordered messages with their roles and
//! contents, each tool call's function name and arguments, and each tool result (with the name
//! of the tool that produced it). Provider-assigned ids (response ids, tool-call ids),
//! timestamps, durations and token counts are left out, so N operators that ran the same
//! conversation get the same digest.
//!
//! Canonical form: `{"messages":[...],"version":"agent-transcript/1"}` serialized as JSON with
//! object keys sorted, no insignificant whitespace, and serde_json's string escaping. Tool-call
//! arguments that parse as JSON are included as parsed values (so whitespace and key order in
//! the model's output do not matter); otherwise as the raw string.

use std::collections::HashMap;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::llm::{Message, Role};

pub const TRANSCRIPT_VERSION: &str = "agent-transcript/1";

/// The canonical transcript as a JSON value.
pub fn canonical(messages: &[Message]) -> Value {
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut out = Vec::with_capacity(messages.len());
    for m in messages {
        let mut obj = Map::new();
        obj.insert("role".into(), json!(m.role.as_str()));
        obj.insert("content".into(), json!(m.content));
        if !m.tool_calls.is_empty() {
            let calls: Vec<Value> = m
                .tool_calls
                .iter()
                .map(|c| {
                    names.insert(c.id.as_str(), c.function.name.as_str());
                    let args = serde_json::from_str::<Value>(&c.function.arguments)
                        .unwrap_or_else(|_| Value::String(c.function.arguments.clone()));
                    json!({"name": c.function.name, "arguments": args})
                })
                .collect();
            obj.insert("tool_calls".into(), Value::Array(calls));
        }
        if m.role == Role::Tool {
            let name = m
                .tool_call_id
                .as_deref()
                .and_then(|id| names.get(id).copied());
            obj.insert("name".into(), json!(name));
        }
        out.push(Value::Object(obj));
    }
    json!({"version": TRANSCRIPT_VERSION, "messages": out})
}

/// Canonical JSON text: sorted keys, compact.
pub fn to_canonical_string(v: &Value) -> String {
    let mut s = String::new();
    write(v, &mut s);
    s
}

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(item) = map.get(k) {
                    write(item, out);
                }
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// `sha256:<hex>` of the canonical transcript.
pub fn digest(messages: &[Message]) -> String {
    let text = to_canonical_string(&canonical(messages));
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::llm::{FunctionCall, ToolCall};

    fn convo(call_id: &str, args: &str) -> Vec<Message> {
        vec![
            Message::text(Role::User, "list"),
            Message {
                role: Role::Assistant,
                content: None,
                tool_calls: vec![ToolCall {
                    id: call_id.into(),
                    kind: "function".into(),
                    function: FunctionCall {
                        name: "run_command".into(),
                        arguments: args.into(),
                    },
                }],
                tool_call_id: None,
            },
            Message::tool_result(call_id, "{\"exit_code\":0}".into()),
            Message::text(Role::Assistant, "done"),
        ]
    }

    #[test]
    fn ids_and_argument_formatting_do_not_matter() {
        let a = digest(&convo("call_abc", "{\"command\":\"ls\",\"cwd\":\".\"}"));
        let b = digest(&convo(
            "call_xyz",
            "{ \"cwd\": \".\", \"command\": \"ls\" }",
        ));
        assert_eq!(a, b);
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
        let c = digest(&convo("call_abc", "{\"command\":\"ls -l\"}"));
        assert_ne!(a, c);
        let text = to_canonical_string(&canonical(&convo("i", "{\"b\":1,\"a\":2}")));
        assert!(text.contains("\"arguments\":{\"a\":2,\"b\":1}"), "{text}");
        assert!(
            text.contains("\"name\":\"run_command\",\"role\":\"tool\""),
            "{text}"
        );
    }
}
