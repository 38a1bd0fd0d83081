//! The data exchanged between the engine and a backend during one ingest transaction.
//!
//! The engine does all stateless work before the transaction (structure and hash checks,
//! signature verification) and hands the store an [`IngestBatch`]. Inside its transaction the
//! store loads a [`BatchSnapshot`] and calls [`IngestBatch::resolve`] (in
//! `engine::resolve`), which decides every event and returns a [`Resolution`] to persist.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{StoredEvent, StreamKey};
use crate::encoding::{Hash32, Sig64};
use crate::engine::ReceiptIssuer;
use crate::keys::{AgentKeyRecord, Ed25519PublicKey};
use crate::receipt::SignedReceipt;
use crate::validate::Rejection;

/// A signature checked before the transaction, and the key it was checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureVerdict {
    /// Key used.
    pub public_key: Ed25519PublicKey,
    /// Whether `verify_strict` accepted the signature.
    pub valid: bool,
}

/// Result of the stateless checks of an event that passed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prechecked {
    /// Event signing hash.
    pub event_signing_hash: Hash32,
    /// Agent signature.
    pub agent_signature: Sig64,
    /// Signature verdict, when a valid key was found before the transaction.
    pub signature: Option<SignatureVerdict>,
}

/// One event of a batch, after the stateless checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Event id.
    pub event_id: Uuid,
    /// Command id.
    pub command_id: Option<Uuid>,
    /// Expected entity version.
    pub base_version: Option<u64>,
    /// Entity type.
    pub entity_type: String,
    /// Entity id.
    pub entity_id: String,
    /// Signing key id.
    pub agent_key_id: u32,
    /// SHA-256 of the JCS form of the envelope (`None` if it cannot be canonicalised).
    pub content_hash: Option<Hash32>,
    /// Stateless verdict: structure, hashes and (when possible) the signature.
    pub precheck: Result<Prechecked, Rejection>,
    /// The envelope's JSON text as sent.
    pub envelope_json: String,
}

/// One batch for one stream from one agent.
#[derive(Debug, Clone)]
pub struct IngestBatch {
    /// Stream.
    pub stream: StreamKey,
    /// Authenticated agent (the `source_agent_id` of every event).
    pub agent_id: Uuid,
    /// Receipt time: key validity is judged at this instant.
    pub received_at: DateTime<Utc>,
    /// Events in request order.
    pub candidates: Vec<Candidate>,
    /// Signs receipts.
    pub issuer: ReceiptIssuer,
}

impl IngestBatch {
    /// Distinct event ids of the batch.
    pub fn event_ids(&self) -> BTreeSet<Uuid> {
        self.candidates.iter().map(|c| c.event_id).collect()
    }

    /// Distinct command ids of the batch.
    pub fn command_ids(&self) -> BTreeSet<Uuid> {
        self.candidates
            .iter()
            .filter_map(|c| c.command_id)
            .collect()
    }

    /// Distinct `(entity_type, entity_id)` pairs that some event checks with `base_version`.
    pub fn checked_entities(&self) -> BTreeSet<(String, String)> {
        self.candidates
            .iter()
            .filter(|c| c.base_version.is_some())
            .map(|c| (c.entity_type.clone(), c.entity_id.clone()))
            .collect()
    }

    /// Distinct agent key ids of the batch.
    pub fn key_ids(&self) -> BTreeSet<u32> {
        self.candidates.iter().map(|c| c.agent_key_id).collect()
    }
}

/// A stored event as seen by deduplication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingEvent {
    /// Content hash of the stored envelope.
    pub content_hash: Hash32,
    /// Its receipt.
    pub receipt: SignedReceipt,
}

/// Stream state read inside the ingest transaction, limited to what the batch names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchSnapshot {
    /// Current head of the stream (0 when empty).
    pub head_sequence: u64,
    /// Stored events with the batch's event ids (in any stream).
    pub events: HashMap<Uuid, ExistingEvent>,
    /// Command ids of the batch already used in this stream → the event that holds them.
    pub commands: HashMap<Uuid, Uuid>,
    /// Current versions of [`IngestBatch::checked_entities`] (absent = 0).
    pub entity_versions: HashMap<(String, String), u64>,
    /// The agent's keys named by the batch.
    pub keys: HashMap<u32, AgentKeyRecord>,
}

/// Verdict on one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// Accepted and sequenced.
    Accepted(SignedReceipt),
    /// Exact replay of a stored event: its stored receipt (neither accepted nor rejected).
    Replayed(SignedReceipt),
    /// Rejected with a spec reason code.
    Rejected(Rejection),
}

/// What [`IngestBatch::resolve`] decided, for the store to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// One outcome per candidate, in order.
    pub outcomes: Vec<EventOutcome>,
    /// Accepted events, in sequence order.
    pub appended: Vec<StoredEvent>,
    /// Increment of each entity's version.
    pub entity_increments: HashMap<(String, String), u64>,
    /// Head after the batch.
    pub head_sequence: u64,
}
