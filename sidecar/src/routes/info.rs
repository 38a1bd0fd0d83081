//! `GET /v1/info`: what this sidecar serves (authenticated).

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use uuid::Uuid;
use ves::Ed25519PublicKey;

use crate::server::AppState;

#[derive(Serialize)]
pub struct Info {
    pub version: &'static str,
    pub workspace: String,
    pub llm_configured: bool,
    /// The sidecar identity and its VES stream.
    pub ves: VesInfo,
}

#[derive(Serialize)]
pub struct VesInfo {
    /// Signs receipts (sequencer) and the sidecar's action events (agent, key id 1).
    pub public_key: Ed25519PublicKey,
    pub sequencer_id: String,
    pub tenant_id: Uuid,
    pub store_id: Uuid,
    pub agent_id: Uuid,
    pub agent_key_id: u32,
    /// Prefix of the embedded sequencer's REST API.
    pub api: &'static str,
    /// `none` or `development`.
    pub attestation: &'static str,
}

pub async fn info(State(state): State<AppState>) -> Json<Info> {
    let ves = &state.ves;
    Json(Info {
        version: env!("CARGO_PKG_VERSION"),
        workspace: state.config.workspace.display().to_string(),
        llm_configured: state.config.llm.base_url.is_some(),
        ves: VesInfo {
            public_key: ves.public_key(),
            sequencer_id: ves.sequencer.sequencer_id().to_owned(),
            tenant_id: ves.stream.tenant_id,
            store_id: ves.stream.store_id,
            agent_id: ves.agent_id(),
            agent_key_id: crate::ves::recorder::AGENT_KEY_ID,
            api: "/api/v1",
            attestation: state.config.attestation.name(),
        },
    })
}
