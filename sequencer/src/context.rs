//! The event fields that every preimage (signing hash, payload AAD) binds to.

use uuid::Uuid;

/// Borrowed view of an event's identity and metadata, shared by the signing preimage and the
/// VES-ENC-1 payload AAD. Strings are hashed exactly as given (no normalisation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventContext<'a> {
    /// Tenant the stream belongs to.
    pub tenant_id: Uuid,
    /// Store (second half of the stream key).
    pub store_id: Uuid,
    /// Globally unique event id.
    pub event_id: Uuid,
    /// Agent that signed the event.
    pub source_agent_id: Uuid,
    /// Which of the agent's keys signed it.
    pub agent_key_id: u32,
    /// Entity type, 1–128 bytes.
    pub entity_type: &'a str,
    /// Entity id, 1–512 bytes.
    pub entity_id: &'a str,
    /// Event type, 1–256 bytes.
    pub event_type: &'a str,
    /// RFC 3339 timestamp, verbatim as the client sent it.
    pub created_at: &'a str,
}
