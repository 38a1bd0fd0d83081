//! API-key authentication with per-tenant/store scopes.
//!
//! Keys arrive as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Only SHA-256 digests
//! of the configured keys are kept; a presented key is hashed and compared with **every**
//! digest in constant time (`subtle`), without stopping at the first match.
//!
//! Configuration (JSON object, API key → scope):
//!
//! ```json
//! {
//!   "agent-key-at-least-16-chars": {"tenant_id": "…", "store_id": "…", "agent_id": "…"},
//!   "admin-key-at-least-16-chars": {"tenant_id": "…", "admin": true}
//! }
//! ```
//!
//! `store_id` absent = any store of the tenant; an admin without `tenant_id` may act on any
//! tenant. An agent principal pushes, pulls and manages only its own keys and cursors; an
//! admin manages keys and cursors of any agent in scope but cannot push (events must be
//! signed by the authenticated agent).

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::error::ApiError;
use super::ApiState;
use crate::encoding::serde_uuid_opt;
use crate::store::StreamKey;

/// Shortest accepted API key.
pub const MIN_API_KEY_LEN: usize = 16;

/// What an authenticated caller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An agent: pushes events it signed, reads its scope.
    Agent(Uuid),
    /// An operator: manages keys, cursors and commitments in its scope.
    Admin,
}

/// An authenticated caller and its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// Tenant in scope (`None` = every tenant; admins only).
    pub tenant_id: Option<Uuid>,
    /// Store in scope (`None` = every store of the tenant).
    pub store_id: Option<Uuid>,
    /// Role.
    pub role: Role,
}

impl Principal {
    /// The agent id, for agent principals.
    pub fn agent_id(&self) -> Option<Uuid> {
        match self.role {
            Role::Agent(id) => Some(id),
            Role::Admin => None,
        }
    }

    /// Whether the stream is in scope.
    pub fn allows(&self, stream: &StreamKey) -> bool {
        self.tenant_id.is_none_or(|t| t == stream.tenant_id)
            && self.store_id.is_none_or(|s| s == stream.store_id)
    }

    /// 403 unless the stream is in scope.
    pub fn require_stream(&self, stream: &StreamKey) -> Result<(), ApiError> {
        if self.allows(stream) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "forbidden",
                "the API key is not authorised for this tenant/store",
            ))
        }
    }

    /// The tenant to act on: the requested one (403 if out of scope) or the principal's own.
    pub fn tenant(&self, requested: Option<Uuid>) -> Result<Uuid, ApiError> {
        match (requested, self.tenant_id) {
            (Some(r), Some(own)) if r != own => Err(ApiError::forbidden(
                "forbidden",
                "the API key is not authorised for this tenant",
            )),
            (Some(r), _) => Ok(r),
            (None, Some(own)) => Ok(own),
            (None, None) => Err(ApiError::bad_request(
                "missing_tenant_id",
                "tenant_id is required",
            )),
        }
    }

    /// The agent to act on: an agent principal may only name itself (403 otherwise); an
    /// admin acts on the requested agent.
    pub fn agent(&self, requested: Option<Uuid>) -> Result<Option<Uuid>, ApiError> {
        match (self.role, requested) {
            (Role::Agent(own), Some(r)) if r != own => Err(ApiError::forbidden(
                "forbidden",
                "an agent may only act on itself",
            )),
            (Role::Agent(own), _) => Ok(Some(own)),
            (Role::Admin, r) => Ok(r),
        }
    }

    /// Like [`Principal::agent`] but an admin must name the agent.
    pub fn required_agent(&self, requested: Option<Uuid>) -> Result<Uuid, ApiError> {
        self.agent(requested)?
            .ok_or_else(|| ApiError::bad_request("missing_agent_id", "agent_id is required"))
    }
}

/// Scope of one key in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyScope {
    /// Tenant (required for agents).
    #[serde(default, with = "serde_uuid_opt")]
    pub tenant_id: Option<Uuid>,
    /// Store (absent = any).
    #[serde(default, with = "serde_uuid_opt")]
    pub store_id: Option<Uuid>,
    /// Agent id (exactly one of `agent_id` and `admin: true`).
    #[serde(default, with = "serde_uuid_opt")]
    pub agent_id: Option<Uuid>,
    /// Admin key.
    #[serde(default)]
    pub admin: bool,
}

/// Invalid API key configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthConfigError {
    /// Not a JSON object of key → scope.
    #[error("invalid API key file: {0}")]
    Json(String),
    /// A key shorter than [`MIN_API_KEY_LEN`].
    #[error("API keys must be at least {MIN_API_KEY_LEN} characters")]
    TooShort,
    /// Neither or both of `agent_id` / `admin`, or an agent without tenant.
    #[error("invalid scope: {0}")]
    Scope(String),
}

/// The configured API keys (digests only).
#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    entries: Vec<([u8; 32], Principal)>,
}

impl ApiKeys {
    /// No keys (every request is 401).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key.
    pub fn insert(&mut self, key: &str, principal: Principal) -> Result<(), AuthConfigError> {
        if key.len() < MIN_API_KEY_LEN {
            return Err(AuthConfigError::TooShort);
        }
        if matches!(principal.role, Role::Agent(_)) && principal.tenant_id.is_none() {
            return Err(AuthConfigError::Scope(
                "agent keys need a tenant_id".to_owned(),
            ));
        }
        self.entries.push((Sha256::digest(key).into(), principal));
        Ok(())
    }

    /// Builder form of [`ApiKeys::insert`].
    pub fn with(mut self, key: &str, principal: Principal) -> Result<Self, AuthConfigError> {
        self.insert(key, principal)?;
        Ok(self)
    }

    /// Parses the JSON configuration (see the module docs).
    pub fn from_json(text: &str) -> Result<Self, AuthConfigError> {
        let map: HashMap<String, KeyScope> =
            serde_json::from_str(text).map_err(|e| AuthConfigError::Json(e.to_string()))?;
        let mut keys = Self::new();
        for (key, scope) in map {
            let role = match (scope.agent_id, scope.admin) {
                (Some(agent), false) => Role::Agent(agent),
                (None, true) => Role::Admin,
                _ => {
                    return Err(AuthConfigError::Scope(
                        "set exactly one of agent_id and admin: true".to_owned(),
                    ))
                }
            };
            keys.insert(
                &key,
                Principal {
                    tenant_id: scope.tenant_id,
                    store_id: scope.store_id,
                    role,
                },
            )?;
        }
        Ok(keys)
    }

    /// The principal of `presented`, comparing against every key in constant time.
    pub fn authenticate(&self, presented: &str) -> Option<Principal> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for (stored, principal) in &self.entries {
            if bool::from(stored.ct_eq(&digest)) {
                found = Some(*principal);
            }
        }
        found
    }
}

fn presented_key(parts: &Parts) -> Option<&str> {
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let text = value.to_str().ok()?;
        let (scheme, token) = text.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim());
    }
    parts.headers.get("x-api-key")?.to_str().ok().map(str::trim)
}

impl FromRequestParts<ApiState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        presented_key(parts)
            .and_then(|key| state.keys.authenticate(key))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "missing or invalid API key",
                )
            })
    }
}
