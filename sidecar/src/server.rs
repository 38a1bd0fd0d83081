//! Router assembly and the server loop.

use std::sync::Arc;

use axum::http::{HeaderName, StatusCode};
use axum::routing::{get, post};
use axum::{middleware, Router};
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{require_token, TokenCheck};
use crate::config::Config;
use crate::error::ApiError;
use crate::routes;
use crate::ves::{Recorder, Ves, VesStartError};
use crate::workflows::{WorkflowStartError, Workflows};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The embedded VES sequencer and the sidecar identity.
    pub ves: Arc<Ves>,
    /// Records the sidecar's actions as signed VES events (`recorder.record(...)`).
    pub recorder: Recorder,
    /// The workflow engine (journal at `<data_dir>/workflows.sqlite`).
    pub workflows: Workflows,
}

/// Why the sidecar cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("embedded VES sequencer: {0}")]
    Ves(#[from] VesStartError),
    #[error("workflows: {0}")]
    Workflows(#[from] WorkflowStartError),
}

impl AppState {
    /// Opens everything the handlers share (identity, VES store).
    pub async fn open(config: Config) -> Result<Self, StartupError> {
        let ves = Ves::open(&config).await?;
        let config = Arc::new(config);
        // Resumes unfinished runs in the background.
        let workflows = Workflows::open(config.clone(), &ves)?;
        Ok(Self {
            config,
            recorder: ves.recorder.clone(),
            ves: Arc::new(ves),
            workflows,
        })
    }
}

/// The full router over freshly opened state: `/health` open, everything else behind the
/// bearer token.
pub async fn router(config: Config) -> Result<Router, StartupError> {
    Ok(router_with_state(AppState::open(config).await?))
}

/// The full router over already opened state.
pub fn router_with_state(state: AppState) -> Router {
    let check = TokenCheck::new(&state.config.token);
    let body_limit = state.config.body_limit;
    let timeout = state.config.request_timeout;
    let ves_api = state.ves.api_router(check.clone());
    let protected = Router::new()
        .route("/v1/info", get(routes::info::info))
        .route("/v1/attestation", get(routes::attestation::attestation))
        .route("/v1/ves/head", get(routes::ves::head))
        .route("/v1/ves/commit", post(routes::ves::commit))
        .route("/v1/exec", post(routes::exec::exec))
        .route("/v1/exec/stream", post(routes::exec::exec_stream))
        .route("/v1/agent/prompt", post(routes::agent::prompt))
        .route("/v1/agent/task", post(routes::agent::task))
        .route("/v1/agent/task/stream", post(routes::agent::task_stream))
        .route(
            "/v1/files",
            get(routes::files::read).put(routes::files::write),
        )
        .route("/v1/files/list", get(routes::files::list))
        .route(
            "/v1/snapshots",
            get(routes::snapshots::list).post(routes::snapshots::create),
        )
        .route("/v1/snapshots/restore", post(routes::snapshots::restore))
        .route(
            "/v1/workflows",
            get(routes::workflows::list).post(routes::workflows::create),
        )
        .route("/v1/workflows/run", post(routes::workflows::run_inline))
        .route("/v1/workflows/{id}", get(routes::workflows::get_one))
        .route(
            "/v1/workflows/{id}/runs",
            post(routes::workflows::start_run),
        )
        .route("/v1/runs", get(routes::workflows::list_runs))
        .route("/v1/runs/{run_id}", get(routes::workflows::run_status))
        .route("/v1/runs/{run_id}/cancel", post(routes::workflows::cancel))
        .route("/v1/runs/{run_id}/receipt", get(routes::workflows::receipt))
        .route(
            "/v1/runs/{run_id}/evidence",
            get(routes::workflows::run_evidence),
        )
        .route("/v1/runs/{run_id}/events", get(routes::workflows::events))
        .route(
            "/v1/ssh/keys",
            post(routes::ssh::add).delete(routes::ssh::revoke),
        )
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(middleware::from_fn_with_state(check, require_token));
    Router::new()
        .route("/health", get(routes::health::health))
        .merge(protected)
        .with_state(state)
        .merge(ves_api)
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Opens the state, binds `config.listen` and serves until SIGTERM or Ctrl-C.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    let state = AppState::open(config).await?;
    tracing::info!(
        public_key = %state.ves.public_key(),
        tenant_id = %state.ves.stream.tenant_id,
        store_id = %state.ves.stream.store_id,
        "sidecar identity loaded"
    );
    let api = state.ves.api.clone();
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "sidecar listening");
    axum::serve(listener, router_with_state(state))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Live event streams never end by themselves.
            api.close_streams();
        })
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
