//! Per-agent sync cursors: `GET /api/v1/sync/state?tenant_id&store_id[&agent_id]` and
//! `PUT /api/v1/sync/state` with `{tenant_id, store_id, agent_id?, last_pushed_sequence?,
//! last_pulled_sequence?}`. Both answer the `SyncState` (snake_case).
//!
//! Ingest advances `last_pushed_sequence` by itself; `last_pulled_sequence` is what the
//! agent acknowledges having applied. Cursors only move forward (a lower value is ignored)
//! and never past the head (409 `cursor_beyond_head`). Agents name themselves implicitly;
//! admins pass `agent_id`.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::Principal;
use super::error::{ApiError, ApiJson, ApiQuery};
use super::ApiState;
use crate::encoding::{serde_uuid, serde_uuid_opt};
use crate::engine::SyncState;
use crate::store::{CursorUpdate, StreamKey};

#[derive(Debug, Deserialize)]
pub(crate) struct SyncQuery {
    #[serde(with = "serde_uuid")]
    tenant_id: Uuid,
    #[serde(with = "serde_uuid")]
    store_id: Uuid,
    #[serde(default, with = "serde_uuid_opt")]
    agent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyncUpdate {
    #[serde(with = "serde_uuid")]
    tenant_id: Uuid,
    #[serde(with = "serde_uuid")]
    store_id: Uuid,
    #[serde(default, with = "serde_uuid_opt")]
    agent_id: Option<Uuid>,
    #[serde(default)]
    last_pushed_sequence: Option<u64>,
    #[serde(default)]
    last_pulled_sequence: Option<u64>,
}

/// `GET /api/v1/sync/state`.
pub(crate) async fn get(
    State(state): State<ApiState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<SyncQuery>,
) -> Result<Json<SyncState>, ApiError> {
    let stream = StreamKey::new(q.tenant_id, q.store_id);
    principal.require_stream(&stream)?;
    let agent = principal.required_agent(q.agent_id)?;
    Ok(Json(state.sequencer.sync_state(stream, agent).await?))
}

/// `PUT /api/v1/sync/state`.
pub(crate) async fn put(
    State(state): State<ApiState>,
    principal: Principal,
    ApiJson(update): ApiJson<SyncUpdate>,
) -> Result<Json<SyncState>, ApiError> {
    let stream = StreamKey::new(update.tenant_id, update.store_id);
    principal.require_stream(&stream)?;
    let agent = principal.required_agent(update.agent_id)?;
    let cursors = CursorUpdate {
        last_pushed_sequence: update.last_pushed_sequence,
        last_pulled_sequence: update.last_pulled_sequence,
    };
    Ok(Json(
        state
            .sequencer
            .update_sync_state(stream, agent, cursors)
            .await?,
    ))
}
