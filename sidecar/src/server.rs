//! Router assembly and the server loop.

use std::sync::Arc;

use axum::handler::Handler;
use axum::http::{HeaderName, StatusCode};
use axum::routing;
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

/// A router being built, with the `(method, path)` of every route it serves: the single
/// source for both the router and the OpenAPI document's coverage test.
pub struct RouteTable {
    pub router: Router<AppState>,
    pub routes: Vec<(&'static str, &'static str)>,
}

macro_rules! route_method {
    ($name:ident, $method:literal) => {
        fn $name<H, T>(mut self, path: &'static str, handler: H) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.router = self.router.route(path, routing::$name(handler));
            self.routes.push(($method, path));
            self
        }
    };
}

impl RouteTable {
    fn new() -> Self {
        Self {
            router: Router::new(),
            routes: Vec::new(),
        }
    }
    route_method!(get, "GET");
    route_method!(post, "POST");
    route_method!(put, "PUT");
    route_method!(delete, "DELETE");
}

/// Routes served without the token: liveness, the API description and the agent's signed
/// tool manifest (public by design: the discovery index fetches it).
pub fn open_routes() -> RouteTable {
    RouteTable::new()
        .get("/health", routes::health::health)
        .get("/openapi.json", crate::openapi::serve)
        .get("/v1/manifest", routes::manifest::manifest)
}

/// Routes behind the bearer token (the embedded sequencer's `/api/v1/...` is mounted
/// separately, see [`crate::ves::Ves::api_router`]).
pub fn protected_routes() -> RouteTable {
    use routes::{agent, attestation, exec, files, info, snapshots, ssh, ves, workflows};
    RouteTable::new()
        .get("/v1/info", info::info)
        .get("/v1/attestation", attestation::attestation)
        .get("/v1/ves/head", ves::head)
        .post("/v1/ves/commit", ves::commit)
        .post("/v1/exec", exec::exec)
        .post("/v1/exec/stream", exec::exec_stream)
        .post("/v1/agent/prompt", agent::prompt)
        .post("/v1/agent/task", agent::task)
        .post("/v1/agent/task/stream", agent::task_stream)
        .get("/v1/files", files::read)
        .put("/v1/files", files::write)
        .get("/v1/files/list", files::list)
        .get("/v1/snapshots", snapshots::list)
        .post("/v1/snapshots", snapshots::create)
        .post("/v1/snapshots/restore", snapshots::restore)
        .get("/v1/workflows", workflows::list)
        .post("/v1/workflows", workflows::create)
        .post("/v1/workflows/run", workflows::run_inline)
        .get("/v1/workflows/{id}", workflows::get_one)
        .post("/v1/workflows/{id}/runs", workflows::start_run)
        .get("/v1/runs", workflows::list_runs)
        .get("/v1/runs/{run_id}", workflows::run_status)
        .post("/v1/runs/{run_id}/cancel", workflows::cancel)
        .get("/v1/runs/{run_id}/receipt", workflows::receipt)
        .get("/v1/runs/{run_id}/evidence", workflows::run_evidence)
        .get("/v1/runs/{run_id}/events", workflows::events)
        .post("/v1/ssh/keys", ssh::add)
        .delete("/v1/ssh/keys", ssh::revoke)
}

/// Every `(method, path)` the sidecar's own router serves (open and protected).
pub fn route_list() -> Vec<(&'static str, &'static str)> {
    let mut all = open_routes().routes;
    all.extend(protected_routes().routes);
    all
}

/// The full router over already opened state.
pub fn router_with_state(state: AppState) -> Router {
    let check = TokenCheck::new(&state.config.token);
    let body_limit = state.config.body_limit;
    let timeout = state.config.request_timeout;
    let ves_api = state.ves.api_router(check.clone());
    let protected = protected_routes()
        .router
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(middleware::from_fn_with_state(check, require_token));
    open_routes()
        .router
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
    // Not awaited: /health answers while host keys are made; sshd dies with the runtime.
    let _sshd = state
        .config
        .sshd
        .enabled
        .then(|| crate::sshd::spawn(&state.config.data_dir, state.config.sshd.clone()));
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
