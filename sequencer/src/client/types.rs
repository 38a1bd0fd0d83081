//! Typed request and response bodies of the REST API, as the client sees them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::encoding::{serde_uuid, serde_uuid_opt, Hash32, Sig64};
use crate::envelope::EventEnvelope;
use crate::error::VesError;
use crate::keys::{AgentKeyRecord, Ed25519PublicKey};
use crate::receipt::SignedReceipt;
use crate::stream::Commitment;
use crate::validate::RejectionReason;

/// `POST /api/v1/agents/keys` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRegistrationRequest {
    /// Tenant.
    #[serde(with = "serde_uuid")]
    pub tenant_id: Uuid,
    /// Agent.
    #[serde(with = "serde_uuid")]
    pub agent_id: Uuid,
    /// Key id.
    pub key_id: u32,
    /// Public key.
    pub public_key: Ed25519PublicKey,
    /// Start of validity (default: now on the server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<DateTime<Utc>>,
    /// Proof of possession.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof_of_possession: Option<Sig64>,
}

/// Result of a key registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The stored record.
    pub record: AgentKeyRecord,
    /// `true` when newly created (201), `false` when an identical key existed (200).
    pub created: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct KeyList {
    pub keys: Vec<AgentKeyRecord>,
}

/// One per-event rejection of an ingest batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestRejection {
    /// Index of the event in the batch.
    pub index: usize,
    /// Event id.
    #[serde(with = "serde_uuid")]
    pub event_id: Uuid,
    /// Reason code.
    pub reason: RejectionReason,
    /// Explanation.
    pub message: String,
}

/// `POST /api/v1/ves/events/ingest` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestResponse {
    /// Batch id.
    #[serde(with = "serde_uuid")]
    pub batch_id: Uuid,
    /// Newly accepted events.
    pub events_accepted: usize,
    /// Rejected events.
    pub events_rejected: usize,
    /// Exact replays (stored receipt returned).
    #[serde(default)]
    pub events_replayed: usize,
    /// First sequence number assigned.
    pub sequence_start: Option<u64>,
    /// Last sequence number assigned.
    pub sequence_end: Option<u64>,
    /// Stream head after the batch.
    pub head_sequence: u64,
    /// Rejections.
    pub rejections: Vec<IngestRejection>,
    /// Receipts of accepted and replayed events, in request order.
    pub receipts: Vec<SignedReceipt>,
}

/// One event as served by pulls, the single-event route and the live stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PulledEvent {
    /// Sequence number.
    pub sequence_number: u64,
    /// The envelope JSON exactly as the agent sent it.
    pub event: Box<RawValue>,
    /// The sequencer's receipt.
    pub receipt: SignedReceipt,
}

impl PulledEvent {
    /// Parses the envelope (strict JSON).
    pub fn envelope(&self) -> Result<EventEnvelope, VesError> {
        EventEnvelope::from_json_str(self.event.get())
    }
}

/// `GET /api/v1/events` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullPage {
    /// Events, in sequence order.
    pub events: Vec<PulledEvent>,
    /// Number of events.
    pub count: usize,
    /// Stream head.
    pub head_sequence: u64,
    /// Where the next page starts.
    pub next_sequence: u64,
    /// Whether more events exist.
    pub has_more: bool,
}

/// `GET /api/v1/events/{event_id}` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "EventWithReceiptJson", into = "EventWithReceiptJson")]
pub struct EventWithReceipt {
    /// Tenant.
    pub tenant_id: Uuid,
    /// Store.
    pub store_id: Uuid,
    /// Event signing hash computed by the sequencer.
    pub event_signing_hash: Hash32,
    /// The event, its sequence number and receipt.
    pub item: PulledEvent,
}

/// Wire form of [`EventWithReceipt`] (`#[serde(flatten)]` cannot carry a `RawValue`).
#[derive(Serialize, Deserialize)]
struct EventWithReceiptJson {
    #[serde(with = "serde_uuid")]
    tenant_id: Uuid,
    #[serde(with = "serde_uuid")]
    store_id: Uuid,
    event_signing_hash: Hash32,
    sequence_number: u64,
    event: Box<RawValue>,
    receipt: SignedReceipt,
}

impl From<EventWithReceiptJson> for EventWithReceipt {
    fn from(j: EventWithReceiptJson) -> Self {
        Self {
            tenant_id: j.tenant_id,
            store_id: j.store_id,
            event_signing_hash: j.event_signing_hash,
            item: PulledEvent {
                sequence_number: j.sequence_number,
                event: j.event,
                receipt: j.receipt,
            },
        }
    }
}

impl From<EventWithReceipt> for EventWithReceiptJson {
    fn from(e: EventWithReceipt) -> Self {
        Self {
            tenant_id: e.tenant_id,
            store_id: e.store_id,
            event_signing_hash: e.event_signing_hash,
            sequence_number: e.item.sequence_number,
            event: e.item.event,
            receipt: e.item.receipt,
        }
    }
}

/// `GET /api/v1/head` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Tenant.
    #[serde(with = "serde_uuid")]
    pub tenant_id: Uuid,
    /// Store.
    #[serde(with = "serde_uuid")]
    pub store_id: Uuid,
    /// Head sequence number (0 when empty).
    pub head_sequence: u64,
    /// Last sequence number covered by a commitment (0 when none).
    pub committed_sequence: u64,
    /// State root of the latest commitment.
    pub state_root: Option<Hash32>,
}

/// An agent's sync state on a stream: the very type the server answers with.
pub use crate::engine::SyncState;

/// `PUT /api/v1/sync/state` body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SyncUpdate {
    /// Tenant.
    #[serde(with = "serde_uuid")]
    pub tenant_id: Uuid,
    /// Store.
    #[serde(with = "serde_uuid")]
    pub store_id: Uuid,
    /// Agent (admins only; agents name themselves implicitly).
    #[serde(with = "serde_uuid_opt", skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Uuid>,
    /// New pushed cursor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_pushed_sequence: Option<u64>,
    /// New pulled cursor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_pulled_sequence: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CommitmentList {
    pub commitments: Vec<Commitment>,
}

/// `GET /api/v1/sequencer/key` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequencerKey {
    /// Sequencer id (as in receipts).
    pub sequencer_id: String,
    /// Ed25519 public key.
    pub public_key: Ed25519PublicKey,
    /// `ed25519`.
    pub signature_alg: String,
}
