//! Agent key management: register (with optional proof of possession), list, revoke.
//!
//! Keys are immutable once registered: re-registering the same `(tenant, agent, key_id)` with
//! the same public key and window is idempotent, anything else is a conflict. Rotation is
//! registering `key_id + 1`. Nothing is cached: ingest reads keys inside its transaction.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{EngineError, Sequencer};
use crate::encoding::{serde_uuid, Sig64};
use crate::keys::{verify_pop, AgentKeyRecord, Ed25519PublicKey};
use crate::store::KeyInsert;

/// A key registration request (JSON: snake_case).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRegistration {
    /// Tenant.
    #[serde(with = "serde_uuid")]
    pub tenant_id: Uuid,
    /// Agent.
    #[serde(with = "serde_uuid")]
    pub agent_id: Uuid,
    /// Key id.
    pub key_id: u32,
    /// Ed25519 public key (`0x` + hex).
    pub public_key: Ed25519PublicKey,
    /// Start of validity (inclusive); default: now.
    #[serde(default)]
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity (inclusive); default: none.
    #[serde(default)]
    pub valid_to: Option<DateTime<Utc>>,
    /// `Ed25519.sign(sk, SHA256("VES_POP_V1" || public_key))`, checked when present.
    #[serde(default)]
    pub proof_of_possession: Option<Sig64>,
}

impl Sequencer {
    /// Registers a key. Returns the stored record and whether it was newly created.
    /// `require_pop`: refuse a registration without proof of possession.
    pub async fn register_key(
        &self,
        registration: KeyRegistration,
        require_pop: bool,
    ) -> Result<(AgentKeyRecord, bool), EngineError> {
        match &registration.proof_of_possession {
            Some(pop) => verify_pop(&registration.public_key, pop).map_err(|_| {
                EngineError::invalid(
                    "invalid_proof_of_possession",
                    "proof_of_possession does not verify under public_key",
                )
            })?,
            None if require_pop => {
                return Err(EngineError::invalid(
                    "proof_of_possession_required",
                    "agents must sign SHA256(\"VES_POP_V1\" || public_key) as proof_of_possession",
                ))
            }
            None => {}
        }
        let valid_from = registration.valid_from.unwrap_or_else(Utc::now);
        if registration.valid_to.is_some_and(|to| to < valid_from) {
            return Err(EngineError::invalid(
                "invalid_validity_window",
                "valid_to is before valid_from",
            ));
        }
        let record = AgentKeyRecord {
            tenant_id: registration.tenant_id,
            agent_id: registration.agent_id,
            key_id: registration.key_id,
            public_key: registration.public_key,
            valid_from,
            valid_to: registration.valid_to,
            revoked_at: None,
        };
        match self.store.insert_agent_key(&record).await? {
            KeyInsert::Inserted => Ok((record, true)),
            KeyInsert::Exists(existing)
                if existing.public_key == record.public_key
                    && existing.valid_to == record.valid_to
                    && registration
                        .valid_from
                        .is_none_or(|from| from == existing.valid_from)
                    && existing.revoked_at.is_none() =>
            {
                Ok((*existing, false))
            }
            KeyInsert::Exists(_) => Err(EngineError::conflict(
                "key_exists",
                format!(
                    "key {} of agent {} is already registered differently (rotate with a new key_id)",
                    record.key_id, record.agent_id
                ),
            )),
        }
    }

    /// Keys of a tenant, optionally of one agent.
    pub async fn list_keys(
        &self,
        tenant_id: Uuid,
        agent_id: Option<Uuid>,
    ) -> Result<Vec<AgentKeyRecord>, EngineError> {
        Ok(self.store.list_agent_keys(tenant_id, agent_id).await?)
    }

    /// Revokes a key now (idempotent: a revoked key keeps its first revocation time).
    pub async fn revoke_key(
        &self,
        tenant_id: Uuid,
        agent_id: Uuid,
        key_id: u32,
    ) -> Result<AgentKeyRecord, EngineError> {
        self.store
            .revoke_agent_key(tenant_id, agent_id, key_id, Utc::now())
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("agent {agent_id} has no key {key_id}")))
    }
}
