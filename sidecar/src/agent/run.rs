//! The run loop shared by PROMPT (one model call, no tools) and TASK (tool loop).
//!
//! A run loads the session history (if any), appends the system prompt (only when the session
//! is new) and the user prompt, talks to the model, and on completion — a final answer or
//! `max_turns` exhausted — stores the whole history back and digests it. A provider error or
//! timeout fails the call and leaves the stored session unchanged (tool side effects in the
//! workspace, of course, remain).

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use super::llm::{ChatRequest, Message, Role, Usage};
use super::{session, tools, transcript, AgentContext, AgentError};

/// Most model calls a TASK may make.
pub const MAX_TURNS: u32 = 64;
/// Whole-run timeout when the request gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest whole-run timeout a request may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// Longest accepted prompt or system prompt.
pub const MAX_PROMPT_BYTES: usize = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Prompt,
    Task,
}

#[derive(Clone, Debug, Default)]
pub struct RunParams {
    pub prompt: String,
    pub system_prompt: Option<String>,
    pub model: Option<String>,
    pub max_tokens: Option<u32>,
    pub seed: Option<u64>,
    /// Bounds the whole run (all model calls and tools).
    pub timeout_ms: Option<u64>,
    pub session_id: Option<String>,
    /// Model calls allowed (PROMPT: always 1).
    pub max_turns: u32,
}

/// Progress of a streamed run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// A fragment of assistant text.
    Delta { turn: u32, text: String },
    ToolCall {
        turn: u32,
        name: String,
        arguments: String,
    },
    ToolResult {
        turn: u32,
        name: String,
        content: String,
    },
}

/// Non-deterministic facts about a run; never part of the digest.
#[derive(Clone, Debug, Serialize)]
pub struct Metadata {
    /// The model requested.
    pub model: String,
    /// The model the provider reports having used (last answer).
    pub provider_model: Option<String>,
    pub response_ids: Vec<String>,
    pub turns: u32,
    pub tool_calls: u32,
    pub duration_ms: u64,
    pub usage: Usage,
    /// `final` (the model answered) or `max_turns`.
    pub stop_reason: &'static str,
    pub finish_reason: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunOutcome {
    pub success: bool,
    /// The final assistant text (empty when the run did not finish).
    pub text: String,
    /// Why the run did not succeed (deterministic text), `None` on success.
    pub reason: Option<String>,
    pub transcript_digest: String,
    pub session_id: String,
    pub metadata: Metadata,
}

/// Checks a run's parameters (done by [`run`]; callers may check early); returns the timeout.
pub fn validate(mode: Mode, p: &RunParams) -> Result<Duration, AgentError> {
    let bad = |m: String| Err(AgentError::BadRequest(m));
    if let Some(id) = &p.session_id {
        session::validate_id(id)?;
    }
    if p.prompt.trim().is_empty() {
        return bad("prompt must not be empty".into());
    }
    if p.prompt.len() > MAX_PROMPT_BYTES
        || p.system_prompt.as_ref().map_or(0, String::len) > MAX_PROMPT_BYTES
    {
        return bad(format!(
            "prompt is too long (at most {MAX_PROMPT_BYTES} bytes)"
        ));
    }
    if mode == Mode::Task && !(1..=MAX_TURNS).contains(&p.max_turns) {
        return bad(format!("max_turns must be between 1 and {MAX_TURNS}"));
    }
    if p.max_tokens == Some(0) {
        return bad("max_tokens must be positive".into());
    }
    match p.timeout_ms {
        None => Ok(DEFAULT_TIMEOUT),
        Some(ms) if ms == 0 || Duration::from_millis(ms) > MAX_TIMEOUT => bad(format!(
            "timeout_ms must be between 1 and {}",
            MAX_TIMEOUT.as_millis()
        )),
        Some(ms) => Ok(Duration::from_millis(ms)),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs a PROMPT or TASK. With `events`, model calls stream and progress is reported.
pub async fn run(
    ctx: AgentContext,
    mode: Mode,
    p: RunParams,
    events: Option<UnboundedSender<RunEvent>>,
) -> Result<RunOutcome, AgentError> {
    let start = Instant::now();
    let timeout = validate(mode, &p)?;
    let deadline = start + timeout;
    let timed_out = || AgentError::Timeout(millis(timeout));
    let model = p
        .model
        .clone()
        .filter(|m| !m.is_empty())
        .or_else(|| ctx.default_model.clone())
        .ok_or_else(|| {
            AgentError::BadRequest("no model: pass `model` or set SIDECAR_LLM_MODEL".into())
        })?;
    let session_id = p
        .session_id
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let max_turns = match mode {
        Mode::Prompt => 1,
        Mode::Task => p.max_turns,
    };

    let _guard = ctx.sessions.lock(&session_id).await;
    let mut messages = ctx.sessions.load(&session_id).await?;
    if messages.is_empty() {
        if let Some(sp) = p.system_prompt.filter(|s| !s.is_empty()) {
            messages.push(Message::text(Role::System, sp));
        }
    }
    messages.push(Message::text(Role::User, p.prompt));
    let tool_defs = match mode {
        Mode::Prompt => Vec::new(),
        Mode::Task => tools::definitions(),
    };
    let mut meta = Metadata {
        model: model.clone(),
        provider_model: None,
        response_ids: Vec::new(),
        turns: 0,
        tool_calls: 0,
        duration_ms: 0,
        usage: Usage::default(),
        stop_reason: "max_turns",
        finish_reason: None,
    };
    let emit = |ev: RunEvent| {
        if let Some(tx) = &events {
            // A gone client does not stop the run.
            let _ = tx.send(ev);
        }
    };
    let mut final_text = None;
    for turn in 1..=max_turns {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(timed_out());
        }
        let req = ChatRequest {
            model: &model,
            messages: &messages,
            tools: &tool_defs,
            temperature: 0.0,
            seed: p.seed,
            max_tokens: p.max_tokens,
        };
        let completion = match &events {
            Some(tx) => {
                let tx = tx.clone();
                let mut on_delta = move |d: &str| {
                    let _ = tx.send(RunEvent::Delta {
                        turn,
                        text: d.to_string(),
                    });
                };
                ctx.client
                    .complete_stream(&req, remaining, &mut on_delta)
                    .await?
            }
            None => ctx.client.complete(&req, remaining).await?,
        };
        meta.turns = turn;
        meta.response_ids.extend(completion.id);
        if completion.model.is_some() {
            meta.provider_model = completion.model;
        }
        meta.usage.add(completion.usage);
        meta.finish_reason = completion.finish_reason;
        let mut msg = completion.message;
        if mode == Mode::Prompt {
            // No tools were offered; a stray tool call is not part of a PROMPT's answer.
            msg.tool_calls.clear();
        }
        if msg.content.is_none() && msg.tool_calls.is_empty() {
            msg.content = Some(String::new());
        }
        let calls = msg.tool_calls.clone();
        let text = msg.content.clone().unwrap_or_default();
        messages.push(msg);
        if calls.is_empty() {
            final_text = Some(text);
            break;
        }
        for call in calls {
            let budget = deadline.saturating_duration_since(Instant::now());
            if budget.is_zero() {
                return Err(timed_out());
            }
            let (name, arguments) = (call.function.name, call.function.arguments);
            emit(RunEvent::ToolCall {
                turn,
                name: name.clone(),
                arguments: arguments.clone(),
            });
            let content = tools::execute(&ctx.tools, &name, &arguments, budget).await;
            meta.tool_calls += 1;
            emit(RunEvent::ToolResult {
                turn,
                name,
                content: content.clone(),
            });
            messages.push(Message::tool_result(&call.id, content));
        }
    }

    ctx.sessions.save(&session_id, &messages).await?;
    let transcript_digest = transcript::digest(&messages);
    meta.duration_ms = millis(start.elapsed());
    let (success, text, reason) = match final_text {
        Some(text) => {
            meta.stop_reason = "final";
            (true, text, None)
        }
        None => (
            false,
            String::new(),
            Some(format!(
                "max_turns ({max_turns}) reached before the model gave a final answer"
            )),
        ),
    };
    Ok(RunOutcome {
        success,
        text,
        reason,
        transcript_digest,
        session_id,
        metadata: meta,
    })
}
