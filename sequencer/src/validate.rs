//! Per-event ingest checks in the order the spec pins, and whole-batch shape checks.
//!
//! Order per event: version → field limits → payload kind consistency → encrypted structure
//! → `created_at` parses → payload/cipher hash → key valid at receipt time → signature.
//! Deduplication (`duplicate_event_id`, `duplicate_command_id`) and `version_conflict` need
//! stream state and are decided by the engine; their codes are defined here.
//!
//! Limits not fixed by the spec (documented choices): `created_at` at most 64 bytes; the
//! 1 MiB payload limit applies to `JCS(payload)` for plaintext events and to the ciphertext
//! minus its 16-byte salt for encrypted ones; a batch must contain at least one event.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::encoding::Hash32;
use crate::encrypted::verify_cipher_hash;
use crate::envelope::EventEnvelope;
use crate::error::PayloadError;
use crate::keys::AgentKeyRecord;
use crate::payload::{
    canonical_payload, plain_hash_of_canonical, PAYLOAD_KIND_ENCRYPTED, PAYLOAD_KIND_PLAIN,
};
use crate::signing::verify_event_signature;

/// Most events in one ingest batch.
pub const MAX_EVENTS_PER_BATCH: usize = 1000;
/// `entity_type` length bounds in bytes.
pub const ENTITY_TYPE_BYTES: (usize, usize) = (1, 128);
/// `entity_id` length bounds in bytes.
pub const ENTITY_ID_BYTES: (usize, usize) = (1, 512);
/// `event_type` length bounds in bytes.
pub const EVENT_TYPE_BYTES: (usize, usize) = (1, 256);
/// Longest accepted `created_at` (not fixed by the spec).
pub const CREATED_AT_MAX_BYTES: usize = 64;

/// Reason codes of per-event rejections (serialized in snake_case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionReason {
    /// Same `event_id` already stored with different content.
    DuplicateEventId,
    /// Same `command_id` already used in the stream by a different event.
    DuplicateCommandId,
    /// `payload_plain_hash` does not match the payload.
    InvalidPayloadHash,
    /// `payload_cipher_hash` does not match the encrypted payload.
    InvalidCipherHash,
    /// Agent signature does not verify.
    InvalidSignature,
    /// Key not found, revoked, expired or not yet valid.
    AgentKeyInvalid,
    /// `ves_version` not supported (or V1 on a stream that requires V2).
    UnsupportedVersion,
    /// Field limits, payload kind consistency, encrypted structure, timestamp.
    SchemaValidation,
    /// `base_version` differs from the entity's current version.
    VersionConflict,
}

impl RejectionReason {
    /// The wire code, e.g. `invalid_signature`.
    pub fn code(self) -> &'static str {
        match self {
            Self::DuplicateEventId => "duplicate_event_id",
            Self::DuplicateCommandId => "duplicate_command_id",
            Self::InvalidPayloadHash => "invalid_payload_hash",
            Self::InvalidCipherHash => "invalid_cipher_hash",
            Self::InvalidSignature => "invalid_signature",
            Self::AgentKeyInvalid => "agent_key_invalid",
            Self::UnsupportedVersion => "unsupported_version",
            Self::SchemaValidation => "schema_validation",
            Self::VersionConflict => "version_conflict",
        }
    }
}

/// A per-event rejection: code plus a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}: {message}", reason.code())]
pub struct Rejection {
    /// Reason code.
    pub reason: RejectionReason,
    /// Explanation.
    pub message: String,
}

fn reject(reason: RejectionReason, message: impl Into<String>) -> Rejection {
    Rejection {
        reason,
        message: message.into(),
    }
}

/// Stream-level policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ValidationPolicy {
    /// Reject `ves_version = 1` events.
    pub require_v2: bool,
}

/// Result of the stateless checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedEvent {
    /// The event signing hash (what the signature, receipt and leaf bind to).
    pub event_signing_hash: Hash32,
    /// `created_at` parsed (the verbatim string stays in the envelope).
    pub created_at: DateTime<FixedOffset>,
}

fn check_len(field: &str, value: &str, (min, max): (usize, usize)) -> Result<(), Rejection> {
    if (min..=max).contains(&value.len()) {
        Ok(())
    } else {
        Err(reject(
            RejectionReason::SchemaValidation,
            format!("{field} must be {min}-{max} bytes, got {}", value.len()),
        ))
    }
}

/// Checks from version through payload/cipher hash (everything that needs no key).
pub fn check_event_structure(
    env: &EventEnvelope,
    policy: &ValidationPolicy,
) -> Result<CheckedEvent, Rejection> {
    use RejectionReason::*;
    match env.ves_version {
        1 if policy.require_v2 => {
            return Err(reject(UnsupportedVersion, "stream requires ves_version 2"))
        }
        1 | 2 => {}
        v => {
            return Err(reject(
                UnsupportedVersion,
                format!("unsupported ves_version {v}"),
            ))
        }
    }
    check_len("entity_type", &env.entity_type, ENTITY_TYPE_BYTES)?;
    check_len("entity_id", &env.entity_id, ENTITY_ID_BYTES)?;
    check_len("event_type", &env.event_type, EVENT_TYPE_BYTES)?;
    check_len("created_at", &env.created_at, (1, CREATED_AT_MAX_BYTES))?;
    let schema = |e: PayloadError| reject(SchemaValidation, e.to_string());
    let canonical = match &env.payload {
        Some(p) if !p.is_null() => Some(canonical_payload(p).map_err(schema)?),
        _ => None,
    };

    match env.payload_kind {
        PAYLOAD_KIND_PLAIN => {
            if canonical.is_none() {
                return Err(reject(
                    SchemaValidation,
                    "payload must be present and not null",
                ));
            }
            if env.payload_encrypted.is_some() {
                return Err(reject(
                    SchemaValidation,
                    "plaintext event must not carry payload_encrypted",
                ));
            }
            if env.payload_cipher_hash != Hash32::ZERO {
                return Err(reject(
                    SchemaValidation,
                    "plaintext event must have a zero payload_cipher_hash",
                ));
            }
        }
        PAYLOAD_KIND_ENCRYPTED => {
            if env.payload.as_ref().is_some_and(|p| !p.is_null()) {
                return Err(reject(
                    SchemaValidation,
                    "encrypted event must not carry a plaintext payload",
                ));
            }
        }
        k => {
            return Err(reject(
                SchemaValidation,
                format!("unknown payload_kind {k}"),
            ))
        }
    }
    if let Some(enc) = &env.payload_encrypted {
        enc.decode().map_err(schema)?;
    }
    let encrypted = match (&env.payload_encrypted, env.payload_kind) {
        (Some(enc), PAYLOAD_KIND_ENCRYPTED) => Some(enc),
        (None, PAYLOAD_KIND_ENCRYPTED) => {
            return Err(reject(
                SchemaValidation,
                "encrypted event requires payload_encrypted",
            ))
        }
        _ => None,
    };

    let created_at = DateTime::parse_from_rfc3339(&env.created_at)
        .map_err(|e| reject(SchemaValidation, format!("created_at is not RFC 3339: {e}")))?;

    match (encrypted, canonical) {
        (Some(enc), _) => {
            verify_cipher_hash(
                enc,
                &env.context(),
                &env.payload_plain_hash,
                &env.payload_cipher_hash,
            )
            .map_err(|e| match e {
                PayloadError::CipherHashMismatch => reject(InvalidCipherHash, e.to_string()),
                other => reject(SchemaValidation, other.to_string()),
            })?;
        }
        (None, Some(jcs)) => {
            if plain_hash_of_canonical(&[], &jcs) != env.payload_plain_hash {
                return Err(reject(
                    InvalidPayloadHash,
                    "payload_plain_hash does not match JCS(payload)",
                ));
            }
        }
        (None, None) => return Err(reject(SchemaValidation, "payload missing")),
    }

    let event_signing_hash = env
        .event_signing_hash()
        .map_err(|e| reject(SchemaValidation, e.to_string()))?;
    Ok(CheckedEvent {
        event_signing_hash,
        created_at,
    })
}

/// Key check for an event received at `received_at`: the record must exist, be the event's
/// `(tenant, source_agent_id, agent_key_id)`, not be revoked and be inside its window.
pub fn check_event_key(
    env: &EventEnvelope,
    key: Option<&AgentKeyRecord>,
    received_at: DateTime<Utc>,
) -> Result<(), Rejection> {
    let key = key.ok_or_else(|| reject(RejectionReason::AgentKeyInvalid, "agent key not found"))?;
    if !key.matches(&env.tenant_id, &env.source_agent_id, env.agent_key_id) {
        return Err(reject(
            RejectionReason::AgentKeyInvalid,
            "agent key record does not match the event",
        ));
    }
    key.check_valid_at(received_at)
        .map_err(|e| reject(RejectionReason::AgentKeyInvalid, e.to_string()))
}

/// All stateless checks in spec order, ending with the strict signature check.
pub fn check_event(
    env: &EventEnvelope,
    policy: &ValidationPolicy,
    key: Option<&AgentKeyRecord>,
    received_at: DateTime<Utc>,
) -> Result<CheckedEvent, Rejection> {
    let checked = check_event_structure(env, policy)?;
    check_event_key(env, key, received_at)?;
    if let Some(key) = key {
        verify_event_signature(
            &key.public_key,
            &checked.event_signing_hash,
            &env.agent_signature,
        )
        .map_err(|e| reject(RejectionReason::InvalidSignature, e.to_string()))?;
    }
    Ok(checked)
}

/// Whole-batch problems (answered with a 4xx, not per-event rejections).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// No events.
    #[error("batch contains no events")]
    Empty,
    /// More than [`MAX_EVENTS_PER_BATCH`] events.
    #[error("batch has {0} events, limit is {MAX_EVENTS_PER_BATCH}")]
    TooManyEvents(usize),
    /// Events for more than one `(tenant, store)`.
    #[error("all events in a batch must share one (tenant_id, store_id)")]
    MixedStreams,
    /// An event's `source_agent_id` is not the authenticated agent.
    #[error("event {index} was not produced by the authenticated agent")]
    WrongAgent {
        /// Position of the first offending event.
        index: usize,
    },
}

/// Checks the batch shape and returns its `(tenant_id, store_id)`.
pub fn check_batch(
    events: &[EventEnvelope],
    authenticated_agent: &Uuid,
) -> Result<(Uuid, Uuid), BatchError> {
    let first = events.first().ok_or(BatchError::Empty)?;
    if events.len() > MAX_EVENTS_PER_BATCH {
        return Err(BatchError::TooManyEvents(events.len()));
    }
    let stream = (first.tenant_id, first.store_id);
    if events.iter().any(|e| (e.tenant_id, e.store_id) != stream) {
        return Err(BatchError::MixedStreams);
    }
    if let Some(index) = events
        .iter()
        .position(|e| e.source_agent_id != *authenticated_agent)
    {
        return Err(BatchError::WrongAgent { index });
    }
    Ok(stream)
}
