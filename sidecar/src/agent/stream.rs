//! Streaming chat completions: Server-Sent Events `data:` lines carrying `chat.completion.chunk`
//! objects, ending with `data: [DONE]`. Content deltas are concatenated; tool-call deltas are
//! merged by their `index` (ids and names arrive once, arguments in fragments).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::llm::{
    Completion, FunctionCall, LlmError, Message, Role, ToolCall, Usage, MAX_RESPONSE_BYTES,
};
use super::response::provider_message;

#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// Accumulates a streamed completion from raw bytes.
#[derive(Default)]
pub struct StreamState {
    line: Vec<u8>,
    total: usize,
    content: String,
    calls: BTreeMap<u64, PartialCall>,
    finish_reason: Option<String>,
    id: Option<String>,
    model: Option<String>,
    usage: Option<Usage>,
    chunks: usize,
    done: bool,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

impl StreamState {
    /// True once `data: [DONE]` was seen; later bytes are ignored.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds raw bytes (any split, even mid-line or mid-character).
    pub fn push(
        &mut self,
        bytes: &[u8],
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), LlmError> {
        self.total = self.total.saturating_add(bytes.len());
        if self.total > MAX_RESPONSE_BYTES {
            return Err(LlmError::Malformed(format!(
                "stream larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        for &b in bytes {
            if self.done {
                return Ok(());
            }
            if b == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.handle_line(&line, on_delta)?;
            } else {
                self.line.push(b);
            }
        }
        Ok(())
    }

    fn handle_line(
        &mut self,
        raw: &[u8],
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), LlmError> {
        let text = std::str::from_utf8(raw)
            .map_err(|_| LlmError::Malformed("stream line is not UTF-8".into()))?;
        let text = text.strip_suffix('\r').unwrap_or(text);
        // Comments (`:`), blank separators and other SSE fields carry nothing we need.
        let Some(data) = text.strip_prefix("data:") else {
            return Ok(());
        };
        let data = data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let value: Value = serde_json::from_str(data)
            .map_err(|e| LlmError::Malformed(format!("stream chunk is not JSON: {e}")))?;
        if let Some(err) = value.get("error").filter(|e| !e.is_null()) {
            return Err(LlmError::Provider(provider_message(
                err.to_string().as_bytes(),
                "unknown error",
            )));
        }
        let chunk: Chunk = serde_json::from_value(value)
            .map_err(|e| LlmError::Malformed(format!("unexpected stream chunk: {e}")))?;
        self.chunks += 1;
        if chunk.id.is_some() {
            self.id = chunk.id;
        }
        if chunk.model.is_some() {
            self.model = chunk.model;
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        let Some(choice) = chunk.choices.into_iter().next() else {
            return Ok(());
        };
        if choice.finish_reason.is_some() {
            self.finish_reason = choice.finish_reason;
        }
        let Some(delta) = choice.delta else {
            return Ok(());
        };
        if let Some(c) = delta.content.filter(|c| !c.is_empty()) {
            on_delta(&c);
            self.content.push_str(&c);
        }
        for (pos, d) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
            let index = d.index.unwrap_or(pos as u64);
            let call = self.calls.entry(index).or_default();
            if let Some(id) = d.id.filter(|id| !id.is_empty()) {
                call.id = id;
            }
            if let Some(f) = d.function {
                if let Some(n) = f.name {
                    call.name.push_str(&n);
                }
                if let Some(a) = f.arguments {
                    call.arguments.push_str(&a);
                }
            }
        }
        Ok(())
    }

    /// The accumulated completion. A stream must end with `[DONE]` or at least a finish reason.
    pub fn finish(mut self) -> Result<Completion, LlmError> {
        if !self.line.is_empty() && !self.done {
            let line = std::mem::take(&mut self.line);
            self.handle_line(&line, &mut |_| {})?;
        }
        if self.chunks == 0 {
            return Err(LlmError::Malformed("stream carried no chunks".into()));
        }
        if !self.done && self.finish_reason.is_none() {
            return Err(LlmError::Malformed("stream ended before [DONE]".into()));
        }
        let mut tool_calls = Vec::with_capacity(self.calls.len());
        for (index, c) in self.calls {
            if c.name.is_empty() {
                return Err(LlmError::Malformed(format!(
                    "tool call {index} has no function name"
                )));
            }
            tool_calls.push(ToolCall {
                id: if c.id.is_empty() {
                    format!("call_{index}")
                } else {
                    c.id
                },
                kind: "function".to_string(),
                function: FunctionCall {
                    name: c.name,
                    arguments: c.arguments,
                },
            });
        }
        let content = if self.content.is_empty() && !tool_calls.is_empty() {
            None
        } else {
            Some(self.content)
        };
        Ok(Completion {
            message: Message {
                role: Role::Assistant,
                content,
                tool_calls,
                tool_call_id: None,
            },
            finish_reason: self.finish_reason,
            id: self.id,
            model: self.model,
            usage: self.usage.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = concat!(
        ": keep-alive\n\n",
        "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\r\n\r\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo wörld\"}}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":\"run_command\",\"arguments\":\"{\\\"comm\"}}]}}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"and\\\":\\\"ls\\\"}\"}}]}}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n",
        "data: [DONE]\n\n",
    );

    fn run(split: usize) -> (Completion, String) {
        let mut st = StreamState::default();
        let mut seen = String::new();
        for part in STREAM.as_bytes().chunks(split) {
            st.push(part, &mut |d| seen.push_str(d)).expect("push");
        }
        (st.finish().expect("finish"), seen)
    }

    #[test]
    fn any_split_gives_the_same_completion() {
        let (whole, seen) = run(usize::MAX);
        assert_eq!(seen, "Hello wörld");
        assert_eq!(whole.message.content.as_deref(), Some("Hello wörld"));
        assert_eq!(
            whole.message.tool_calls[0].function.arguments,
            "{\"command\":\"ls\"}"
        );
        assert_eq!(whole.usage.total_tokens, 3);
        assert_eq!(whole.finish_reason.as_deref(), Some("tool_calls"));
        for split in [1, 2, 3, 7, 64] {
            assert_eq!(run(split).0, whole, "split {split}");
        }
    }

    #[test]
    fn truncated_and_error_streams() {
        let mut st = StreamState::default();
        st.push(
            b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n",
            &mut |_| {},
        )
        .expect("push");
        assert!(matches!(st.finish(), Err(LlmError::Malformed(_))));
        let mut st = StreamState::default();
        let err = st
            .push(
                b"data: {\"error\":{\"message\":\"overloaded\"}}\n",
                &mut |_| {},
            )
            .expect_err("error chunk");
        assert!(err.to_string().contains("overloaded"));
        let mut st = StreamState::default();
        assert!(st.push(b"data: {nope\n", &mut |_| {}).is_err());
    }
}
