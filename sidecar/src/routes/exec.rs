//! `POST /v1/exec` (run to completion) and `POST /v1/exec/stream` (Server-Sent Events).
//!
//! The stream carries `stdout` and `stderr` events (`{"data": "..."}`, in the order they were
//! read from each pipe) and ends with one `exit` event (`{exit_code, timed_out, truncated,
//! duration_ms}`) or an `error` event. A client that disconnects does not stop the command; it
//! runs on until it exits or its timeout kills its process group.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;

use crate::account::{self, AccountError};
use crate::error::ApiError;
use crate::exec::{self, ExecError, ExecEvent, ExecRequest, ExecResult, ExecSpec};
use crate::server::AppState;
use crate::ves::recorder::Recorded;
use crate::ves::{RecordError, RecordedHead, Recorder};

impl From<ExecError> for ApiError {
    fn from(e: ExecError) -> Self {
        match e {
            ExecError::Spawn(_) | ExecError::Wait(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "exec_failed",
                e.to_string(),
            ),
            _ => ApiError::bad_request(e.to_string()),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "workspace_user",
            e.to_string(),
        )
    }
}

fn spec(state: &AppState, req: ExecRequest) -> Result<ExecSpec, ApiError> {
    let cfg = &state.config;
    let run_as = account::workspace_account(cfg.workspace_user.as_deref())?;
    Ok(exec::prepare(
        req,
        &cfg.workspace,
        cfg.exec_max_output,
        run_as,
    )?)
}

/// What an exec record names about the command (env values are omitted: they may be secret).
fn exec_subject(spec: &ExecSpec) -> serde_json::Value {
    json!({
        "command": spec.command,
        "cwd": spec.cwd.display().to_string(),
        "env_names": spec.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        "timeout_ms": u64::try_from(spec.timeout.as_millis()).unwrap_or(u64::MAX),
    })
}

/// SHA-256 and length of the output exactly as returned (or streamed) to the client.
#[derive(Default)]
struct OutputDigest {
    stdout: Sha256,
    stderr: Sha256,
    stdout_bytes: usize,
    stderr_bytes: usize,
}

impl OutputDigest {
    fn of(r: &ExecResult) -> Self {
        let mut d = Self::default();
        d.stdout.update(r.stdout.as_bytes());
        d.stdout_bytes = r.stdout.len();
        d.stderr.update(r.stderr.as_bytes());
        d.stderr_bytes = r.stderr.len();
        d
    }

    fn add(&mut self, ev: &ExecEvent) {
        match ev {
            ExecEvent::Stdout(s) => {
                self.stdout.update(s.as_bytes());
                self.stdout_bytes += s.len();
            }
            ExecEvent::Stderr(s) => {
                self.stderr.update(s.as_bytes());
                self.stderr_bytes += s.len();
            }
        }
    }
}

/// Records a finished exec: the command, exit status, duration and output digests (the
/// digests are of the output exactly as returned, so a client can check it).
async fn record_exec(
    recorder: &Recorder,
    mut subject: serde_json::Value,
    r: &ExecResult,
    output: OutputDigest,
) -> Result<RecordedHead, RecordError> {
    if let Some(map) = subject.as_object_mut() {
        map.extend([
            ("exit_code".to_owned(), json!(r.exit_code)),
            ("timed_out".to_owned(), json!(r.timed_out)),
            ("truncated".to_owned(), json!(r.truncated)),
            ("duration_ms".to_owned(), json!(r.duration_ms)),
            (
                "stdout_sha256".to_owned(),
                json!(format!("0x{}", hex::encode(output.stdout.finalize()))),
            ),
            (
                "stderr_sha256".to_owned(),
                json!(format!("0x{}", hex::encode(output.stderr.finalize()))),
            ),
            ("stdout_bytes".to_owned(), json!(output.stdout_bytes)),
            ("stderr_bytes".to_owned(), json!(output.stderr_bytes)),
        ]);
    }
    let exec_id = uuid::Uuid::new_v4().to_string();
    recorder
        .record("exec", &exec_id, "exec.completed", subject)
        .await
}

pub async fn exec(
    State(state): State<AppState>,
    Json(req): Json<ExecRequest>,
) -> Result<Json<Recorded<ExecResult>>, ApiError> {
    let spec = spec(&state, req)?;
    let subject = exec_subject(&spec);
    let recorder = state.recorder.clone();
    // Run (and record) on a separate task so the command is still bounded by its own
    // timeout (and its group killed), and still recorded, even if this request future is
    // dropped.
    let (result, head) = tokio::spawn(async move {
        let result = exec::run(spec, None).await?;
        let digest = OutputDigest::of(&result);
        let head = record_exec(&recorder, subject, &result, digest).await;
        Ok::<_, ExecError>((result, head))
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exec_failed",
            e.to_string(),
        )
    })??;
    Ok(Json(Recorded::new(result, head?)))
}

pub async fn exec_stream(
    State(state): State<AppState>,
    Json(req): Json<ExecRequest>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let spec = spec(&state, req)?;
    let subject = exec_subject(&spec);
    let recorder = state.recorder.clone();
    let (tx, rx) = mpsc::channel::<ExecEvent>(64);
    type Done = Result<(ExecResult, Result<RecordedHead, RecordError>), ExecError>;
    let (done_tx, done_rx) = oneshot::channel::<Done>();
    tokio::spawn(async move {
        // Output goes through here to be hashed; the command keeps running (and is
        // recorded) when the client goes away.
        let (inner_tx, mut inner_rx) = mpsc::channel::<ExecEvent>(64);
        let forward = async move {
            let mut digest = OutputDigest::default();
            let mut client = Some(tx);
            while let Some(ev) = inner_rx.recv().await {
                digest.add(&ev);
                if let Some(c) = &client {
                    if c.send(ev).await.is_err() {
                        client = None;
                    }
                }
            }
            digest
        };
        let (result, digest) = tokio::join!(exec::run(spec, Some(inner_tx)), forward);
        let done = match result {
            Ok(r) => {
                let head = record_exec(&recorder, subject, &r, digest).await;
                Ok((r, head))
            }
            Err(e) => Err(e),
        };
        let _ = done_tx.send(done);
    });
    let output = ReceiverStream::new(rx).map(|ev| {
        let (name, data) = match ev {
            ExecEvent::Stdout(d) => ("stdout", d),
            ExecEvent::Stderr(d) => ("stderr", d),
        };
        Ok(json_event(name, &json!({ "data": data })))
    });
    let last = stream::once(async move {
        let ev = match done_rx.await {
            Ok(Ok((r, recorded))) => match recorded {
                Ok(head) => json_event(
                    "exit",
                    &json!({
                        "exit_code": r.exit_code,
                        "timed_out": r.timed_out,
                        "truncated": r.truncated,
                        "duration_ms": r.duration_ms,
                        "ves_sequence": head.sequence,
                        "ves_state_root": head.state_root,
                    }),
                ),
                Err(e) => error_event(&ApiError::from(e)),
            },
            Ok(Err(e)) => error_event(&ApiError::from(e)),
            Err(_) => error_event(&ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "exec_failed",
                "runner stopped",
            )),
        };
        Ok(ev)
    });
    Ok(Sse::new(output.chain(last)).keep_alive(KeepAlive::default()))
}

fn json_event(name: &str, value: &serde_json::Value) -> Event {
    Event::default().event(name).data(value.to_string())
}

fn error_event(e: &ApiError) -> Event {
    json_event(
        "error",
        &json!({"error": {"code": e.code, "message": e.message}}),
    )
}
