//! `GET /v1/attestation?nonce=<32-byte hex>`: the sidecar's public key, the VES stream and
//! `report_data = SHA256(nonce || public_key)`; with `SIDECAR_ATTESTATION=dev`, also
//! development evidence (labelled `"provider":"development"`, signed by the sidecar key —
//! NOT a TEE quote). Real TEE quotes are produced by the operator over the same report data.

use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use ves::{Ed25519PublicKey, Hash32};

use crate::error::ApiError;
use crate::server::AppState;
use crate::ves::attestation::{self, AttestationProvider, DevEvidence};

#[derive(Debug, Deserialize)]
pub struct AttestationQuery {
    pub nonce: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Attestation {
    /// `none` or `development`.
    pub provider: &'static str,
    pub public_key: Ed25519PublicKey,
    pub tenant_id: Uuid,
    pub store_id: Uuid,
    pub agent_id: Uuid,
    pub sequencer_id: String,
    pub nonce: Hash32,
    /// `SHA256(nonce || public_key)`.
    pub report_data: Hash32,
    /// Development evidence (`dev` provider only).
    pub evidence: Option<DevEvidence>,
}

fn parse_nonce(text: Option<&str>) -> Result<[u8; 32], ApiError> {
    let text = text.ok_or_else(|| ApiError::bad_request("nonce (32 bytes, hex) is required"))?;
    let hex_text = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    let mut nonce = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut nonce)
        .map_err(|_| ApiError::bad_request("nonce must be exactly 32 bytes of hex (64 digits)"))?;
    Ok(nonce)
}

pub async fn attestation(
    State(state): State<AppState>,
    Query(query): Query<AttestationQuery>,
) -> Result<Json<Attestation>, ApiError> {
    let nonce = parse_nonce(query.nonce.as_deref())?;
    let ves = &state.ves;
    let public_key = ves.public_key();
    let provider = state.config.attestation;
    let evidence = match provider {
        AttestationProvider::None => None,
        AttestationProvider::Dev => Some(
            attestation::issue_dev(
                ves.identity.signing_key(),
                &nonce,
                ves.stream.tenant_id,
                ves.stream.store_id,
            )
            .map_err(|e| {
                ApiError::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "attestation_failed",
                    e.to_string(),
                )
            })?,
        ),
    };
    Ok(Json(Attestation {
        provider: provider.name(),
        public_key,
        tenant_id: ves.stream.tenant_id,
        store_id: ves.stream.store_id,
        agent_id: ves.agent_id(),
        sequencer_id: ves.sequencer.sequencer_id().to_owned(),
        nonce: Hash32(nonce),
        report_data: attestation::report_data(&nonce, &public_key),
        evidence,
    }))
}
