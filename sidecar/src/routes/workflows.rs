//! Workflow definitions and runs: `/v1/workflows...` and `/v1/runs/...`.

use std::convert::Infallible;
use std::time::Duration;

use agent_orchestrator::{EngineError, JournalError, RunStatus, StoredRun, ValidatedWorkflow};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::error::ApiError;
use crate::server::AppState;
use crate::workflows::executor::uses_llm;
use crate::workflows::{evidence, LiveEvent};

/// Default and longest wait of `POST /v1/workflows/run`.
const DEFAULT_WAIT_MS: u64 = 300_000;
const MAX_WAIT_MS: u64 = 3_600_000;

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::Definition(d) => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_workflow", d.to_string())
        }
        other => internal(other),
    }
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::bad_request(format!("invalid id {id:?}")))
}

fn validate(def: &Value, state: &AppState) -> Result<ValidatedWorkflow, ApiError> {
    let text = def.to_string();
    let wf = ValidatedWorkflow::parse(&text)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_workflow", e.to_string()))?;
    if uses_llm(wf.def()) && state.config.llm.base_url.is_none() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "llm_not_configured",
            "the workflow has llm steps but no LLM provider is configured (set SIDECAR_LLM_BASE_URL)",
        ));
    }
    Ok(wf)
}

fn load(state: &AppState, run_id: Uuid) -> Result<StoredRun, ApiError> {
    state
        .workflows
        .journal()
        .load_run(run_id)
        .map_err(|e| match e {
            JournalError::UnknownRun(_) => ApiError::not_found(format!("no run {run_id}")),
            other => internal(other),
        })
}

/// `POST /v1/workflows`: validate and store a definition (the body is the definition).
pub async fn create(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let def: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_workflow",
            format!("invalid workflow definition: {e}"),
        )
    })?;
    let wf = validate(&def, &state)?;
    let id = state
        .workflows
        .store_definition(&wf)
        .await
        .map_err(internal)?;
    let body = json!({ "id": id, "name": wf.def().name, "workflow_hash": wf.hash() });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /v1/workflows`.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut out = Vec::new();
    for id in state.workflows.definition_ids().await.map_err(internal)? {
        if let Ok(Some(wf)) = state.workflows.definition(id).await {
            out.push(json!({ "id": id, "name": wf.def().name, "workflow_hash": wf.hash() }));
        }
    }
    Ok(Json(json!({ "workflows": out })))
}

/// `GET /v1/workflows/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let wf = state
        .workflows
        .definition(id)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError::not_found(format!("no workflow {id}")))?;
    Ok(Json(
        json!({ "id": id, "workflow_hash": wf.hash(), "definition": wf.def() }),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    #[serde(default)]
    pub inputs: Option<Value>,
}

/// `POST /v1/workflows/{id}/runs`: start a run; answers with its id at once.
pub async fn start_run(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(req): Json<StartRun>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let wf = state
        .workflows
        .definition(id)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError::not_found(format!("no workflow {id}")))?;
    let inputs = req.inputs.unwrap_or_else(|| json!({}));
    let (run_id, _) = state
        .workflows
        .start(&wf, inputs)
        .await
        .map_err(engine_error)?;
    let body = json!({ "run_id": run_id, "workflow_id": id, "status": "running" });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineRun {
    pub workflow: Value,
    #[serde(default)]
    pub inputs: Option<Value>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// `POST /v1/workflows/run`: run an inline definition and wait for the end (or the timeout,
/// after which the run continues and `202` with its id is returned).
pub async fn run_inline(
    State(state): State<AppState>,
    Json(req): Json<InlineRun>,
) -> Result<Response, ApiError> {
    let wf = validate(&req.workflow, &state)?;
    // Answer (202) before the server's own request timeout would cut the request.
    let wait = Duration::from_millis(req.timeout_ms.unwrap_or(DEFAULT_WAIT_MS).min(MAX_WAIT_MS))
        .min(
            state
                .config
                .request_timeout
                .saturating_sub(Duration::from_secs(1)),
        );
    let inputs = req.inputs.unwrap_or_else(|| json!({}));
    let (run_id, handle) = state
        .workflows
        .start(&wf, inputs)
        .await
        .map_err(engine_error)?;
    match tokio::time::timeout(wait, handle).await {
        Ok(Ok(Ok(out))) => Ok(Json(json!({
            "run_id": run_id,
            "status": out.status.as_str(),
            "output": out.output,
            "error": out.error,
            "receipt": out.receipt,
        }))
        .into_response()),
        Ok(Ok(Err(e))) => Err(engine_error(e)),
        Ok(Err(e)) => Err(internal(format!("run task ended abnormally: {e}"))),
        Err(_) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "run_id": run_id, "status": "running", "timed_out": true })),
        )
            .into_response()),
    }
}

/// `GET /v1/runs?limit=N`: the most recent runs, newest first (limit 1..=100, default 20).
pub async fn list_runs(
    State(state): State<AppState>,
    Query(q): Query<RunsQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    let runs = state
        .workflows
        .journal()
        .recent_runs(limit)
        .map_err(|e| internal(e.to_string()))?;
    let runs: Vec<Value> = runs
        .into_iter()
        .map(|(id, status, at)| json!({"run_id": id, "status": status, "started_at_ms": at}))
        .collect();
    Ok(Json(json!({ "runs": runs })))
}

#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    pub limit: Option<usize>,
}

/// `GET /v1/runs/{run_id}`.
pub async fn run_status(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let run_id = parse_id(&run_id)?;
    let run = load(&state, run_id)?;
    Ok(Json(evidence::status(
        &run,
        state.workflows.is_running(run_id),
    )))
}

/// `POST /v1/runs/{run_id}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
) -> Result<Response, ApiError> {
    let run_id = parse_id(&run_id)?;
    let run = load(&state, run_id)?;
    if run.status != RunStatus::Running {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "run_finished",
            format!("run {run_id} already {}", run.status.as_str()),
        ));
    }
    if !state.workflows.cancel(run_id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_executing",
            format!("run {run_id} is not executing in this sidecar"),
        ));
    }
    let body = json!({ "run_id": run_id, "status": "cancelling" });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

fn not_finished(run_id: Uuid) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "run_not_finished",
        format!("run {run_id} has not finished"),
    )
}

/// `GET /v1/runs/{run_id}/receipt`.
pub async fn receipt(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let run_id = parse_id(&run_id)?;
    let run = load(&state, run_id)?;
    let receipt = run.receipt.ok_or_else(|| not_finished(run_id))?;
    Ok(Json(json!(receipt)))
}

/// `GET /v1/runs/{run_id}/evidence`.
pub async fn run_evidence(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
) -> Result<Json<evidence::RunEvidence>, ApiError> {
    let run_id = parse_id(&run_id)?;
    let run = load(&state, run_id)?;
    evidence::build(&state.ves.sequencer, state.ves.stream, &run)
        .await
        .map(Json)
        .map_err(|e| match e {
            evidence::EvidenceError::NotFinished => not_finished(run_id),
            evidence::EvidenceError::SpansCommitments(_) => {
                ApiError::new(StatusCode::CONFLICT, "evidence_unavailable", e.to_string())
            }
            other => internal(other),
        })
}

fn sse_event(e: &LiveEvent) -> Result<Event, Infallible> {
    Ok(Event::default()
        .event(e.event_type.clone())
        .id(e.sequence.to_string())
        .data(json!(e).to_string()))
}

const FINISHED: &str = "orchestrator.run_finished";

/// `GET /v1/runs/{run_id}/events`: the run's journal events so far, then live ones, until the
/// run finishes.
pub async fn events(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let run_id = parse_id(&run_id)?;
    let rx = state.workflows.subscribe();
    let run = load(&state, run_id)?;
    let history: Vec<LiveEvent> = run
        .entries
        .iter()
        .map(|e| LiveEvent {
            run_id,
            sequence: e.ves_sequence,
            event_type: e.entry.event_type(),
            payload: e.entry.signed_payload(run_id),
        })
        .collect();
    let last = history.iter().map(|e| e.sequence).max().unwrap_or(0);
    let done = run.status != RunStatus::Running;
    let past = stream::iter(history.iter().map(sse_event).collect::<Vec<_>>());
    let live = stream::unfold((rx, done), move |(mut rx, done)| async move {
        if done {
            return None;
        }
        loop {
            match rx.recv().await {
                Ok(e) if e.run_id == run_id && e.sequence > last => {
                    let finished = e.event_type == FINISHED;
                    return Some((sse_event(&e), (rx, finished)));
                }
                Ok(_) | Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(past.chain(live)).keep_alive(KeepAlive::default()))
}
