//! Router assembly and the server loop.

use std::sync::Arc;

use axum::http::{HeaderName, StatusCode};
use axum::routing::get;
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

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
}

/// The full router: `/health` open, everything else behind the bearer token.
pub fn router(config: Config) -> Router {
    let check = TokenCheck::new(&config.token);
    let body_limit = config.body_limit;
    let timeout = config.request_timeout;
    let state = AppState {
        config: Arc::new(config),
    };
    let protected = Router::new()
        .route("/v1/info", get(routes::info::info))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(middleware::from_fn_with_state(check, require_token));
    Router::new()
        .route("/health", get(routes::health::health))
        .merge(protected)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Binds `config.listen` and serves until SIGTERM or Ctrl-C.
pub async fn serve(config: Config) -> std::io::Result<()> {
    let listener = TcpListener::bind(config.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "sidecar listening");
    axum::serve(listener, router(config))
        .with_graceful_shutdown(shutdown_signal())
        .await
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
