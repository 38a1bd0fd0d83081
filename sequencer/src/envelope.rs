//! The event envelope as JSON on the wire.
//!
//! Field names are **snake_case**, exactly as in the `rest_envelope_json` objects of the test
//! vectors (`ves_version`, `event_id`, `tenant_id`, …, `agent_signature`); the batch wrapper
//! and receipts of the REST API use camelCase, events do not. Hashes and signatures are
//! written `0x` + lowercase hex and accepted with or without `0x` in any case; UUIDs must be
//! hyphenated. Unknown fields are rejected so that nothing unsigned can ride along.
//!
//! `payload` is kept exactly as sent: absent → `None`, `null` → `Some(Value::Null)` (which
//! plaintext events reject). Encrypted events carry `payload_encrypted` instead.
//! `command_id` and `base_version` are optional in both versions but only signed in V2.
//!
//! Parse with [`EventEnvelope::from_json_str`] (strict: no duplicate keys, no integer
//! beyond ±(2^53−1)) rather than plain `serde_json::from_str`.

use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::canonical::{parse_strict, parse_strict_slice};
use crate::context::EventContext;
use crate::encoding::{serde_uuid, serde_uuid_opt, Hash32, Sig64};
use crate::encrypted::{seal_payload_with_rng, PayloadEncrypted, RecipientPublicKey};
use crate::error::{SigningError, VesError};
use crate::payload::{payload_plain_hash, PAYLOAD_KIND_ENCRYPTED, PAYLOAD_KIND_PLAIN};
use crate::signing::{event_signing_hash, sign_event, SigningInput};

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A signed VES event as sent by an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEnvelope {
    /// 1 or 2 (others are rejected as `unsupported_version` during validation).
    pub ves_version: u32,
    /// Globally unique event id.
    #[serde(with = "serde_uuid")]
    pub event_id: Uuid,
    /// Tenant.
    #[serde(with = "serde_uuid")]
    pub tenant_id: Uuid,
    /// Store.
    #[serde(with = "serde_uuid")]
    pub store_id: Uuid,
    /// Signing agent.
    #[serde(with = "serde_uuid")]
    pub source_agent_id: Uuid,
    /// Signing key id.
    pub agent_key_id: u32,
    /// Entity type.
    pub entity_type: String,
    /// Entity id.
    pub entity_id: String,
    /// Event type.
    pub event_type: String,
    /// RFC 3339 timestamp, stored and signed verbatim.
    pub created_at: String,
    /// 0 = plaintext, 1 = VES-ENC-1.
    pub payload_kind: u32,
    /// Plaintext payload (kind 0).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub payload: Option<Value>,
    /// Encrypted payload (kind 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_encrypted: Option<PayloadEncrypted>,
    /// Plain payload hash.
    pub payload_plain_hash: Hash32,
    /// Cipher hash (zeros for kind 0).
    pub payload_cipher_hash: Hash32,
    /// Agent's Ed25519 signature over the event signing hash.
    pub agent_signature: Sig64,
    /// Idempotency key per stream (signed in V2).
    #[serde(
        default,
        with = "serde_uuid_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub command_id: Option<Uuid>,
    /// Expected entity version for optimistic concurrency (signed in V2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_version: Option<u64>,
}

impl EventEnvelope {
    /// Strictly parses one envelope from JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, VesError> {
        Self::from_value(parse_strict(text)?)
    }

    /// Strictly parses one envelope from JSON bytes.
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, VesError> {
        Self::from_value(parse_strict_slice(bytes)?)
    }

    /// Converts an already strictly parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, VesError> {
        serde_json::from_value(value).map_err(|e| VesError::Envelope(e.to_string()))
    }

    /// The fields shared by the signing preimage and the payload AAD.
    pub fn context(&self) -> EventContext<'_> {
        EventContext {
            tenant_id: self.tenant_id,
            store_id: self.store_id,
            event_id: self.event_id,
            source_agent_id: self.source_agent_id,
            agent_key_id: self.agent_key_id,
            entity_type: &self.entity_type,
            entity_id: &self.entity_id,
            event_type: &self.event_type,
            created_at: &self.created_at,
        }
    }

    /// Everything the signature covers.
    pub fn signing_input(&self) -> SigningInput<'_> {
        SigningInput {
            ves_version: self.ves_version,
            context: self.context(),
            payload_kind: self.payload_kind,
            payload_plain_hash: self.payload_plain_hash,
            payload_cipher_hash: self.payload_cipher_hash,
            command_id: self.command_id,
            base_version: self.base_version,
        }
    }

    /// The event signing hash of the envelope as it stands.
    pub fn event_signing_hash(&self) -> Result<Hash32, SigningError> {
        event_signing_hash(&self.signing_input())
    }
}

/// Client-side builder: the fields an agent chooses before attaching a payload and signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// 1 or 2.
    pub ves_version: u32,
    /// Event id.
    pub event_id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// Store.
    pub store_id: Uuid,
    /// Agent.
    pub source_agent_id: Uuid,
    /// Key id.
    pub agent_key_id: u32,
    /// Entity type.
    pub entity_type: String,
    /// Entity id.
    pub entity_id: String,
    /// Event type.
    pub event_type: String,
    /// RFC 3339 timestamp.
    pub created_at: String,
    /// Optional command id.
    pub command_id: Option<Uuid>,
    /// Optional expected entity version.
    pub base_version: Option<u64>,
}

impl NewEvent {
    fn envelope(self, kind: u32) -> EventEnvelope {
        EventEnvelope {
            ves_version: self.ves_version,
            event_id: self.event_id,
            tenant_id: self.tenant_id,
            store_id: self.store_id,
            source_agent_id: self.source_agent_id,
            agent_key_id: self.agent_key_id,
            entity_type: self.entity_type,
            entity_id: self.entity_id,
            event_type: self.event_type,
            created_at: self.created_at,
            payload_kind: kind,
            payload: None,
            payload_encrypted: None,
            payload_plain_hash: Hash32::ZERO,
            payload_cipher_hash: Hash32::ZERO,
            agent_signature: Sig64([0; 64]),
            command_id: self.command_id,
            base_version: self.base_version,
        }
    }

    /// A signed plaintext event.
    pub fn sign_plain(
        self,
        payload: Value,
        key: &ed25519_dalek::SigningKey,
    ) -> Result<EventEnvelope, VesError> {
        let mut env = self.envelope(PAYLOAD_KIND_PLAIN);
        env.payload_plain_hash = payload_plain_hash(&payload)?;
        env.payload = Some(payload);
        env.agent_signature = sign_event(key, &env.event_signing_hash()?);
        Ok(env)
    }

    /// A signed VES-ENC-1 event encrypted for `recipients`.
    pub fn sign_encrypted<R: CryptoRng + RngCore>(
        self,
        payload: &Value,
        recipients: &[(u32, RecipientPublicKey)],
        key: &ed25519_dalek::SigningKey,
        rng: &mut R,
    ) -> Result<EventEnvelope, VesError> {
        let mut env = self.envelope(PAYLOAD_KIND_ENCRYPTED);
        let sealed = seal_payload_with_rng(payload, &env.context(), recipients, rng)
            .map_err(VesError::from)?;
        env.payload_plain_hash = sealed.payload_plain_hash;
        env.payload_cipher_hash = sealed.payload_cipher_hash;
        env.payload_encrypted = Some(sealed.payload_encrypted);
        env.agent_signature = sign_event(key, &env.event_signing_hash()?);
        Ok(env)
    }
}
