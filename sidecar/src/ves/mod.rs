//! The embedded VES sequencer.
//!
//! * [`identity`] – the sidecar's Ed25519 key (`<data_dir>/sidecar.key`): it signs receipts
//!   (the sidecar is the sequencer) and the events of its own actions (the sidecar is also
//!   the agent, key id 1, registered in the embedded store at start-up).
//! * [`recorder`] – [`Recorder::record`] signs and ingests one action event in process.
//! * [`attestation`] – nonce binding and the clearly labelled development evidence.
//!
//! The store is SQLite at `<data_dir>/ves.sqlite`. The sandbox has exactly one stream
//! `(tenant_id, store_id)`: by default the tenant is a constant derived from
//! `"agent-instance"` and the store is derived from the sidecar public key, so a restart on
//! the same data directory continues the same stream; `SIDECAR_VES_TENANT` /
//! `SIDECAR_VES_STORE` override them.
//!
//! The sequencer's REST API is served under `/api/v1/...` behind the sidecar's bearer token.
//! The token is also configured in the sequencer as an *admin* key scoped to exactly this
//! stream, so token holders can read everything (events, receipts, head, commitments,
//! proofs, the SSE stream) and create commitments; the sequencer itself refuses ingest from
//! admins (events must be signed by the authenticated agent), and the sidecar refuses agent
//! key registration/revocation through the API (403 `managed_by_sidecar`): the only writer
//! of the stream is the sidecar agent, whose key must not be revocable from outside.

pub mod attestation;
pub mod identity;
pub mod recorder;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceExt;
use uuid::Uuid;
use ves::api::{ApiKeys, ApiState, Principal, Role};
use ves::engine::KeyRegistration;
use ves::{Ed25519PublicKey, Sequencer, SequencerConfig, SqliteStore, StreamKey};

use crate::auth::{require_token, TokenCheck};
use crate::config::Config;
use crate::error::ApiError;

pub use attestation::AttestationProvider;
pub use identity::{Identity, IdentityError};
pub use recorder::{RecordError, Recorded, RecordedHead, Recorder};

/// File name of the event store inside the data directory.
pub const STORE_FILE: &str = "ves.sqlite";

/// Why the embedded sequencer could not start.
#[derive(Debug, thiserror::Error)]
pub enum VesStartError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("cannot open the VES store {0}: {1}")]
    Store(PathBuf, String),
    #[error("invalid VES API configuration: {0}")]
    Auth(String),
    #[error("cannot register the sidecar agent key: {0}")]
    AgentKey(String),
    #[error("start-up task failed: {0}")]
    Task(String),
}

/// The embedded sequencer and everything derived from the sidecar identity.
pub struct Ves {
    /// The sidecar key.
    pub identity: Identity,
    /// The engine.
    pub sequencer: Arc<Sequencer>,
    /// The sandbox's stream.
    pub stream: StreamKey,
    /// Signs and ingests action events.
    pub recorder: Recorder,
    /// State of the mounted REST API (call `close_streams` on shutdown).
    pub api: ApiState,
}

impl std::fmt::Debug for Ves {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ves")
            .field("identity", &self.identity)
            .field("stream", &self.stream)
            .finish()
    }
}

impl Ves {
    /// Loads or creates the identity, opens the store, registers the agent key.
    pub async fn open(config: &Config) -> Result<Self, VesStartError> {
        let data_dir = config.data_dir.clone();
        let (identity, store) = tokio::task::spawn_blocking(move || {
            let identity = Identity::load_or_create(&data_dir)?;
            let path = data_dir.join(STORE_FILE);
            let store =
                SqliteStore::open(&path).map_err(|e| VesStartError::Store(path, e.to_string()))?;
            Ok::<_, VesStartError>((identity, store))
        })
        .await
        .map_err(|e| VesStartError::Task(e.to_string()))??;
        let public_key = identity.public_key();
        let stream = StreamKey::new(
            config.ves_tenant.unwrap_or_else(identity::default_tenant),
            config
                .ves_store
                .unwrap_or_else(|| identity::default_store(&public_key)),
        );
        let agent_id = identity.agent_id();
        let mut sequencer_config = SequencerConfig::new(format!("sidecar:{}", public_key));
        sequencer_config.require_v2 = true;
        let sequencer = Arc::new(Sequencer::new(
            Arc::new(store),
            identity.signing_key().clone(),
            sequencer_config,
        ));
        sequencer
            .register_key(
                KeyRegistration {
                    tenant_id: stream.tenant_id,
                    agent_id,
                    key_id: recorder::AGENT_KEY_ID,
                    public_key,
                    // A fixed start keeps re-registration on restart idempotent.
                    valid_from: Some(chrono::DateTime::UNIX_EPOCH),
                    valid_to: None,
                    proof_of_possession: Some(ves::sign_pop(identity.signing_key())),
                },
                true,
            )
            .await
            .map_err(|e| VesStartError::AgentKey(e.to_string()))?;
        let keys = ApiKeys::new()
            .with(
                &config.token,
                Principal {
                    tenant_id: Some(stream.tenant_id),
                    store_id: Some(stream.store_id),
                    role: Role::Admin,
                },
            )
            .map_err(|e| VesStartError::Auth(e.to_string()))?;
        let mut api = ApiState::new(Arc::clone(&sequencer), keys);
        api.body_limit = config.body_limit;
        let recorder = Recorder::new(
            Arc::clone(&sequencer),
            identity.signing_key().clone(),
            stream,
            agent_id,
        );
        Ok(Self {
            identity,
            sequencer,
            stream,
            recorder,
            api,
        })
    }

    /// The sidecar public key (receipts, events, attestation).
    pub fn public_key(&self) -> Ed25519PublicKey {
        self.identity.public_key()
    }

    /// The agent id of the sidecar.
    pub fn agent_id(&self) -> Uuid {
        self.recorder.agent_id()
    }

    /// The sequencer REST API (`/api/v1/...`) behind the sidecar token, with key management
    /// closed (see the module docs). Mount with `Router::merge`.
    pub fn api_router(&self, check: TokenCheck) -> Router {
        let api = ves::api::router(self.api.clone())
            .layer(middleware::from_fn(refuse_key_management))
            .layer(middleware::from_fn_with_state(check, require_token));
        // A plain service (not `nest`), so the sequencer routes see their full paths. The
        // request is rebuilt without extensions: the outer `{*rest}` path parameter would
        // otherwise be seen by the sequencer's own `Path` extractors.
        let svc = tower::service_fn(move |req: Request| {
            let api = api.clone();
            async move {
                let (parts, body) = req.into_parts();
                let mut fresh = Request::new(body);
                *fresh.method_mut() = parts.method;
                *fresh.uri_mut() = parts.uri;
                *fresh.version_mut() = parts.version;
                *fresh.headers_mut() = parts.headers;
                api.oneshot(fresh).await
            }
        });
        Router::new().route_service("/api/v1/{*rest}", svc)
    }
}

/// Agent keys of the embedded stream are managed by the sidecar only.
async fn refuse_key_management(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("/api/v1/agents/keys") && req.method() != Method::GET {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "managed_by_sidecar",
            "agent keys of the embedded sequencer are managed by the sidecar",
        )
        .into_response();
    }
    next.run(req).await
}
