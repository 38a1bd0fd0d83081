//! Commitments, inclusion proofs and the sequencer's public key (JSON: snake_case).
//!
//! * `POST /api/v1/commitments` `{tenant_id, store_id, seq_end?}` → 201 `Commitment` over
//!   every pending event (or up to `seq_end`); 409 `nothing_to_commit`.
//! * `GET /api/v1/commitments?tenant_id&store_id&after&limit` → `{commitments:[...]}`.
//! * `GET /api/v1/commitments/{seq_end}?tenant_id&store_id` → `Commitment`.
//! * `GET /api/v1/proofs/{event_id}` → `InclusionProof`; 409 `not_committed` before the
//!   event is covered.
//! * `GET /api/v1/sequencer/key` → `{sequencer_id, public_key, signature_alg}` (no auth).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::auth::Principal;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use super::pull::StreamQuery;
use super::ApiState;
use crate::encoding::serde_uuid;
use crate::engine::InclusionProof;
use crate::keys::Ed25519PublicKey;
use crate::receipt::SIGNATURE_ALG_ED25519;
use crate::store::StreamKey;
use crate::stream::Commitment;

/// Default `limit` of the commitment list.
const DEFAULT_LIST_LIMIT: u32 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateCommitment {
    #[serde(with = "serde_uuid")]
    tenant_id: Uuid,
    #[serde(with = "serde_uuid")]
    store_id: Uuid,
    #[serde(default)]
    seq_end: Option<u64>,
}

/// `POST /api/v1/commitments`.
pub(crate) async fn create(
    State(state): State<ApiState>,
    principal: Principal,
    ApiJson(req): ApiJson<CreateCommitment>,
) -> Result<(StatusCode, Json<Commitment>), ApiError> {
    let stream = StreamKey::new(req.tenant_id, req.store_id);
    principal.require_stream(&stream)?;
    let commitment = state.sequencer.commit(stream, req.seq_end).await?;
    Ok((StatusCode::CREATED, Json(commitment)))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(with = "serde_uuid")]
    tenant_id: Uuid,
    #[serde(with = "serde_uuid")]
    store_id: Uuid,
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CommitmentList {
    commitments: Vec<Commitment>,
}

/// `GET /api/v1/commitments`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<CommitmentList>, ApiError> {
    let stream = StreamKey::new(q.tenant_id, q.store_id);
    principal.require_stream(&stream)?;
    let commitments = state
        .sequencer
        .commitments(
            stream,
            q.after.unwrap_or(0),
            q.limit.unwrap_or(DEFAULT_LIST_LIMIT),
        )
        .await?;
    Ok(Json(CommitmentList { commitments }))
}

/// `GET /api/v1/commitments/{seq_end}`.
pub(crate) async fn get(
    State(state): State<ApiState>,
    principal: Principal,
    ApiPath(seq_end): ApiPath<u64>,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<Json<Commitment>, ApiError> {
    let stream = q.stream();
    principal.require_stream(&stream)?;
    Ok(Json(state.sequencer.commitment(stream, seq_end).await?))
}

/// `GET /api/v1/proofs/{event_id}`: 404 when unknown or outside the caller's scope.
pub(crate) async fn proof(
    State(state): State<ApiState>,
    principal: Principal,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<Json<InclusionProof>, ApiError> {
    let in_scope = state
        .sequencer
        .event(event_id)
        .await?
        .is_some_and(|e| principal.allows(&e.stream));
    if !in_scope {
        return Err(ApiError::not_found(format!("event {event_id} not found")));
    }
    Ok(Json(state.sequencer.inclusion_proof(event_id).await?))
}

#[derive(Debug, Serialize)]
pub(crate) struct SequencerKey {
    sequencer_id: String,
    public_key: Ed25519PublicKey,
    signature_alg: &'static str,
}

/// `GET /api/v1/sequencer/key`.
pub(crate) async fn sequencer_key(State(state): State<ApiState>) -> Json<SequencerKey> {
    Json(SequencerKey {
        sequencer_id: state.sequencer.sequencer_id().to_owned(),
        public_key: state.sequencer.public_key(),
        signature_alg: SIGNATURE_ALG_ED25519,
    })
}
