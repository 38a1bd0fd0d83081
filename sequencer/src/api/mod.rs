//! The REST API over a [`Sequencer`]: `router(state)` returns an `axum::Router` that a
//! standalone server or the sidecar mounts.
//!
//! | route | auth | success | errors |
//! |---|---|---|---|
//! | `POST /api/v1/agents/keys` | agent (self, with PoP) / admin | 201 new, 200 identical | 400 401 403 409 |
//! | `GET /api/v1/agents/keys?tenant_id&agent_id` | agent (self) / admin | 200 | 400 401 403 |
//! | `DELETE /api/v1/agents/keys/{key_id}?tenant_id&agent_id` | agent (self) / admin | 200 | 400 401 403 404 |
//! | `POST /api/v1/ves/events/ingest` | agent | 200 | 400 401 403 413 |
//! | `GET /api/v1/events?tenant_id&store_id&from&limit` | scope | 200 | 400 401 403 |
//! | `GET /api/v1/events/stream?tenant_id&store_id&from` | scope | 200 SSE | 400 401 403 |
//! | `GET /api/v1/events/{event_id}` | scope | 200 | 401 404 |
//! | `GET /api/v1/head?tenant_id&store_id` | scope | 200 | 400 401 403 |
//! | `GET`/`PUT /api/v1/sync/state` | agent (self) / admin | 200 | 400 401 403 409 |
//! | `POST /api/v1/commitments` | scope | 201 | 400 401 403 409 |
//! | `GET /api/v1/commitments?tenant_id&store_id&after&limit` | scope | 200 | 400 401 403 |
//! | `GET /api/v1/commitments/{seq_end}?tenant_id&store_id` | scope | 200 | 400 401 403 404 |
//! | `GET /api/v1/proofs/{event_id}` | scope | 200 | 401 404 409 |
//! | `GET /api/v1/sequencer/key` | none | 200 | |
//! | `GET /health`, `GET /metrics` | none | 200 | |
//!
//! Every error is `{"error":{"code","message"}}`; bodies over the limit are 413.
//! The ingest route and receipts use camelCase as the spec shows; every other route uses
//! snake_case like the spec's pull route.

mod auth;
mod commitments;
mod error;
mod ingest;
mod keys;
mod metrics;
mod pull;
mod stream;
mod sync;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;
use tokio::sync::watch;
use tower_http::trace::TraceLayer;

use crate::engine::Sequencer;

pub use auth::{ApiKeys, AuthConfigError, KeyScope, Principal, Role, MIN_API_KEY_LEN};
pub use error::ApiError;
pub use metrics::Metrics;

/// Default request body limit: 8 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Shared state of the API.
#[derive(Clone)]
pub struct ApiState {
    /// The engine.
    pub sequencer: Arc<Sequencer>,
    /// Configured API keys.
    pub keys: Arc<ApiKeys>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Largest request body in bytes.
    pub body_limit: usize,
    /// Set to `true` by [`ApiState::close_streams`]: live event streams end.
    closing: Arc<watch::Sender<bool>>,
}

impl ApiState {
    /// State with fresh metrics and the default body limit.
    pub fn new(sequencer: Arc<Sequencer>, keys: ApiKeys) -> Self {
        Self {
            sequencer,
            keys: Arc::new(keys),
            metrics: Arc::new(Metrics::new()),
            body_limit: DEFAULT_BODY_LIMIT,
            closing: Arc::new(watch::channel(false).0),
        }
    }

    /// Ends every open event stream (call on shutdown: graceful shutdown waits for open
    /// connections, and SSE connections never end by themselves).
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }
}

/// All routes of the API (see the module docs), with the body limit and request tracing.
pub fn router(state: ApiState) -> Router {
    let body_limit = state.body_limit;
    Router::new()
        .route("/api/v1/agents/keys", post(keys::register).get(keys::list))
        .route("/api/v1/agents/keys/{key_id}", delete(keys::revoke))
        .route("/api/v1/ves/events/ingest", post(ingest::ingest))
        .route("/api/v1/events", get(pull::pull))
        .route("/api/v1/events/stream", get(stream::stream))
        .route("/api/v1/events/{event_id}", get(pull::event))
        .route("/api/v1/head", get(pull::head))
        .route("/api/v1/sync/state", get(sync::get).put(sync::put))
        .route(
            "/api/v1/commitments",
            post(commitments::create).get(commitments::list),
        )
        .route("/api/v1/commitments/{seq_end}", get(commitments::get))
        .route("/api/v1/proofs/{event_id}", get(commitments::proof))
        .route("/api/v1/sequencer/key", get(commitments::sequencer_key))
        .route("/health", get(metrics::health))
        .route("/metrics", get(metrics::metrics))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
