//! Agent keys: `POST /api/v1/agents/keys`, `GET /api/v1/agents/keys`,
//! `DELETE /api/v1/agents/keys/{key_id}` (JSON: snake_case, records as `AgentKeyRecord`).
//!
//! An agent key registers, lists and revokes only its own keys (registration needs a proof
//! of possession unless the engine is configured otherwise); an admin key acts on any agent
//! of the tenants in its scope.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::auth::{Principal, Role};
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use super::ApiState;
use crate::encoding::serde_uuid_opt;
use crate::engine::KeyRegistration;
use crate::keys::AgentKeyRecord;

#[derive(Debug, Deserialize)]
pub(crate) struct KeyQuery {
    #[serde(default, with = "serde_uuid_opt")]
    tenant_id: Option<Uuid>,
    #[serde(default, with = "serde_uuid_opt")]
    agent_id: Option<Uuid>,
}

#[derive(Debug, Serialize)]
pub(crate) struct KeyList {
    keys: Vec<AgentKeyRecord>,
}

/// `POST /api/v1/agents/keys`: 201 when created, 200 when an identical key exists.
pub(crate) async fn register(
    State(state): State<ApiState>,
    principal: Principal,
    ApiJson(registration): ApiJson<KeyRegistration>,
) -> Result<(StatusCode, Json<AgentKeyRecord>), ApiError> {
    principal.tenant(Some(registration.tenant_id))?;
    principal.agent(Some(registration.agent_id))?;
    let require_pop =
        matches!(principal.role, Role::Agent(_)) && state.sequencer.config().require_pop_for_agents;
    let (record, created) = state
        .sequencer
        .register_key(registration, require_pop)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(record)))
}

/// `GET /api/v1/agents/keys?tenant_id&agent_id`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<KeyQuery>,
) -> Result<Json<KeyList>, ApiError> {
    let tenant = principal.tenant(q.tenant_id)?;
    let agent = principal.agent(q.agent_id)?;
    let keys = state.sequencer.list_keys(tenant, agent).await?;
    Ok(Json(KeyList { keys }))
}

/// `DELETE /api/v1/agents/keys/{key_id}?tenant_id&agent_id`: revokes now (idempotent).
pub(crate) async fn revoke(
    State(state): State<ApiState>,
    principal: Principal,
    ApiPath(key_id): ApiPath<u32>,
    ApiQuery(q): ApiQuery<KeyQuery>,
) -> Result<Json<AgentKeyRecord>, ApiError> {
    let tenant = principal.tenant(q.tenant_id)?;
    let agent = principal.required_agent(q.agent_id)?;
    let record = state.sequencer.revoke_key(tenant, agent, key_id).await?;
    Ok(Json(record))
}
