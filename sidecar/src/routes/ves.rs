//! `GET /v1/ves/head` and `POST /v1/ves/commit`: the sandbox stream's head and commitments on
//! demand (the operator puts them into job results as `vesSequence` / `vesStateRoot`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use uuid::Uuid;
use ves::engine::EngineError;
use ves::Hash32;

use crate::error::ApiError;
use crate::server::AppState;

/// `GET /v1/ves/head`.
#[derive(Debug, Serialize)]
pub struct Head {
    pub tenant_id: Uuid,
    pub store_id: Uuid,
    /// Last assigned sequence number (0 when empty).
    pub sequence: u64,
    /// Last sequence number covered by a commitment (0 when none).
    pub committed_sequence: u64,
    /// State root of the latest commitment.
    pub state_root: Option<Hash32>,
}

/// `POST /v1/ves/commit`.
#[derive(Debug, Serialize)]
pub struct Committed {
    pub tenant_id: Uuid,
    pub store_id: Uuid,
    pub seq_start: u64,
    pub seq_end: u64,
    pub leaf_count: u32,
    pub merkle_root: Hash32,
    pub prev_state_root: Hash32,
    pub state_root: Hash32,
    /// `false` when nothing was pending and the latest commitment is returned.
    pub created: bool,
}

pub(crate) fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::Invalid { code, message } => {
            ApiError::new(StatusCode::BAD_REQUEST, code, message)
        }
        EngineError::Conflict { code, message } => {
            ApiError::new(StatusCode::CONFLICT, code, message)
        }
        EngineError::NotFound(m) => ApiError::not_found(m),
        other => {
            tracing::error!(error = %other, "VES engine failure");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ves_error",
                "the embedded sequencer failed",
            )
        }
    }
}

pub async fn head(State(state): State<AppState>) -> Result<Json<Head>, ApiError> {
    let stream = state.ves.stream;
    let head = state
        .ves
        .sequencer
        .head(stream)
        .await
        .map_err(engine_error)?;
    Ok(Json(Head {
        tenant_id: stream.tenant_id,
        store_id: stream.store_id,
        sequence: head.head_sequence,
        committed_sequence: head.latest_commitment.as_ref().map_or(0, |c| c.seq_end),
        state_root: head.latest_commitment.map(|c| c.state_root),
    }))
}

pub async fn commit(State(state): State<AppState>) -> Result<Json<Committed>, ApiError> {
    let stream = state.ves.stream;
    let sequencer = &state.ves.sequencer;
    let (commitment, created) = match sequencer.commit(stream, None).await {
        Ok(c) => (c, true),
        Err(EngineError::Conflict {
            code: "nothing_to_commit",
            message,
        }) => {
            let head = sequencer.head(stream).await.map_err(engine_error)?;
            match head.latest_commitment {
                Some(c) => (c, false),
                None => {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "nothing_to_commit",
                        message,
                    ))
                }
            }
        }
        Err(e) => return Err(engine_error(e)),
    };
    Ok(Json(Committed {
        tenant_id: commitment.tenant_id,
        store_id: commitment.store_id,
        seq_start: commitment.seq_start,
        seq_end: commitment.seq_end,
        leaf_count: commitment.leaf_count,
        merkle_root: commitment.merkle_root,
        prev_state_root: commitment.prev_state_root,
        state_root: commitment.state_root,
        created,
    }))
}
