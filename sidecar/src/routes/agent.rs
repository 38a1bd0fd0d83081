//! `POST /v1/agent/prompt`, `POST /v1/agent/task` and `POST /v1/agent/task/stream` (SSE).
//!
//! The comparable (on-chain) part of a response is `success`, `response` / `final_text` and
//! `transcript_digest`; `metadata` (duration, usage, provider ids, turns) is kept apart and
//! differs between runs. The stream carries `delta` (`{turn, text}`), `tool_call`
//! (`{turn, name, arguments}`) and `tool_result` (`{turn, name, content}`) events and ends with
//! one `final` event (the same body `POST /v1/agent/task` returns) or an `error` event. Without
//! a configured provider every route answers 503 `llm_not_configured`.
//!
//! Every completed run is recorded in the VES stream (`agent.prompt.completed` /
//! `agent.task.completed`, entity `agent_session/<session_id>`) with its digest and metadata;
//! responses carry the recorded head (`ves_sequence`, `ves_state_root`).

use std::convert::Infallible;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::agent::{self, AgentContext, AgentError, LlmError, Mode, RunEvent, RunOutcome};
use crate::error::ApiError;
use crate::server::AppState;
use crate::ves::recorder::{RecordedHead, Recorder};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptRequest {
    pub prompt: String,
    #[serde(default)]
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub session_id: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    pub prompt: String,
    #[serde(default)]
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    pub max_turns: u32,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub session_id: Option<String>,
}

impl From<AgentError> for ApiError {
    fn from(e: AgentError) -> Self {
        let msg = e.to_string();
        let (status, code) = match &e {
            AgentError::NotConfigured => (StatusCode::SERVICE_UNAVAILABLE, "llm_not_configured"),
            AgentError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AgentError::Session(agent::SessionError::InvalidId) => {
                (StatusCode::BAD_REQUEST, "bad_request")
            }
            AgentError::Timeout(_) | AgentError::Llm(LlmError::Timeout(_)) => {
                (StatusCode::GATEWAY_TIMEOUT, "llm_timeout")
            }
            AgentError::Llm(LlmError::Status {
                status: 401 | 403, ..
            }) => (StatusCode::BAD_GATEWAY, "llm_unauthorized"),
            AgentError::Llm(LlmError::Status { .. } | LlmError::Provider(_)) => {
                (StatusCode::BAD_GATEWAY, "llm_provider_error")
            }
            AgentError::Llm(LlmError::Malformed(_)) => {
                (StatusCode::BAD_GATEWAY, "llm_bad_response")
            }
            AgentError::Llm(LlmError::Transport(_)) => (StatusCode::BAD_GATEWAY, "llm_unreachable"),
            AgentError::Session(_) => (StatusCode::INTERNAL_SERVER_ERROR, "session_error"),
            AgentError::Account(_) => (StatusCode::INTERNAL_SERVER_ERROR, "workspace_user"),
            AgentError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError::new(status, code, msg)
    }
}

fn body(mode: Mode, o: RunOutcome, head: RecordedHead) -> Value {
    let mut v = json!({
        "success": o.success,
        "transcript_digest": o.transcript_digest,
        "session_id": o.session_id,
        "metadata": o.metadata,
        "ves_sequence": head.sequence,
        "ves_state_root": head.state_root,
    });
    match mode {
        Mode::Prompt => v["response"] = json!(o.text),
        Mode::Task => {
            v["final_text"] = json!(o.text);
            v["reason"] = json!(o.reason);
        }
    }
    v
}

/// Runs, then records the completed run (digest and metadata) as a VES event.
async fn run_and_record(
    ctx: AgentContext,
    recorder: Recorder,
    mode: Mode,
    params: agent::RunParams,
    events: Option<mpsc::UnboundedSender<RunEvent>>,
) -> Result<Value, ApiError> {
    let o = agent::run(ctx, mode, params, events).await?;
    let event_type = match mode {
        Mode::Prompt => "agent.prompt.completed",
        Mode::Task => "agent.task.completed",
    };
    let payload = json!({
        "success": o.success,
        "reason": o.reason,
        "transcript_digest": o.transcript_digest,
        "final_text_sha256": crate::ves::recorder::sha256_hex(o.text.as_bytes()),
        "metadata": o.metadata,
    });
    let head = recorder
        .record("agent_session", &o.session_id, event_type, payload)
        .await?;
    Ok(body(mode, o, head))
}

/// Runs on its own task so a dropped request still finishes (stores and records) the run.
async fn spawn_run(
    state: &AppState,
    mode: Mode,
    params: agent::RunParams,
) -> Result<Json<Value>, ApiError> {
    let ctx = AgentContext::from_config(&state.config)?;
    let recorder = state.recorder.clone();
    tokio::spawn(run_and_record(ctx, recorder, mode, params, None))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map(Json)
}

pub async fn prompt(
    State(state): State<AppState>,
    Json(req): Json<PromptRequest>,
) -> Result<Json<Value>, ApiError> {
    let params = agent::RunParams {
        prompt: req.prompt,
        system_prompt: req.system_prompt,
        model: req.model,
        max_tokens: req.max_tokens,
        seed: req.seed,
        timeout_ms: req.timeout_ms,
        session_id: req.session_id,
        max_turns: 1,
    };
    spawn_run(&state, Mode::Prompt, params).await
}

fn task_params(req: TaskRequest) -> agent::RunParams {
    agent::RunParams {
        prompt: req.prompt,
        system_prompt: req.system_prompt,
        model: req.model,
        max_tokens: req.max_tokens,
        seed: req.seed,
        timeout_ms: req.timeout_ms,
        session_id: req.session_id,
        max_turns: req.max_turns,
    }
}

pub async fn task(
    State(state): State<AppState>,
    Json(req): Json<TaskRequest>,
) -> Result<Json<Value>, ApiError> {
    spawn_run(&state, Mode::Task, task_params(req)).await
}

pub async fn task_stream(
    State(state): State<AppState>,
    Json(req): Json<TaskRequest>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let ctx = AgentContext::from_config(&state.config)?;
    let recorder = state.recorder.clone();
    let (tx, rx) = mpsc::unbounded_channel::<RunEvent>();
    let (done_tx, done_rx) = oneshot::channel();
    let params = task_params(req);
    // Bad requests get a plain 400, not a stream that ends in an error event.
    agent::run::validate(Mode::Task, &params)?;
    tokio::spawn(async move {
        let done = run_and_record(ctx, recorder, Mode::Task, params, Some(tx)).await;
        let _ = done_tx.send(done);
    });
    let progress = UnboundedReceiverStream::new(rx).map(|ev| {
        let name = match &ev {
            RunEvent::Delta { .. } => "delta",
            RunEvent::ToolCall { .. } => "tool_call",
            RunEvent::ToolResult { .. } => "tool_result",
        };
        let data = serde_json::to_string(&ev).unwrap_or_else(|_| "{}".into());
        Ok(Event::default().event(name).data(data))
    });
    let last = stream::once(async move {
        let ev = match done_rx.await {
            Ok(Ok(body)) => Event::default().event("final").data(body.to_string()),
            Ok(Err(e)) => error_event(&e),
            Err(_) => error_event(&ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "agent run stopped",
            )),
        };
        Ok(ev)
    });
    Ok(Sse::new(progress.chain(last)).keep_alive(KeepAlive::default()))
}

fn error_event(e: &ApiError) -> Event {
    Event::default()
        .event("error")
        .data(json!({"error": {"code": e.code, "message": e.message}}).to_string())
}
