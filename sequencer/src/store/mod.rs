//! Durable storage for the sequencer: the [`EventStore`] trait and its two backends,
//! [`SqliteStore`] (embedded, one process) and [`PostgresStore`] (shared by several
//! sequencer processes).
//!
//! # Why an object-safe trait
//!
//! [`EventStore`] is object safe (methods return boxed futures through `async_trait`), so the
//! engine holds an `Arc<dyn EventStore>`: the backend is chosen at run time from
//! configuration (SQLite or PostgreSQL) without making `Sequencer`, the axum router
//! and the sidecar generic over it. The cost, one boxed future per storage call, is noise next
//! to a database round trip or an `fsync`.
//!
//! # The ingest contract
//!
//! [`EventStore::ingest`] runs one batch in **one transaction**:
//!
//! 1. take the stream's write lock (SQLite: `BEGIN IMMEDIATE`, one writer at a time;
//!    PostgreSQL: `SELECT head_sequence … FOR UPDATE` on the stream row, created first with
//!    `INSERT … ON CONFLICT DO NOTHING`, which serialises sequence assignment per stream);
//! 2. load a [`BatchSnapshot`] for exactly the keys the batch names ([`IngestBatch::event_ids`],
//!    [`IngestBatch::command_ids`], [`IngestBatch::checked_entities`], [`IngestBatch::key_ids`]);
//! 3. call [`IngestBatch::resolve`] (pure, shared by every backend: it applies the spec's
//!    stateful checks in order and assigns sequence numbers and receipts);
//! 4. write [`Resolution::appended`], the entity version increments, the stream head and the
//!    agent's `last_pushed` cursor, then commit durably before returning.
//!
//! `event_id` must be unique across all streams (a unique index); `command_id` is unique per
//! `(tenant, store)` among stored events, which *is* the reservation: a rejected event never
//! reaches the table, so its reservation is released by construction.
//!
//! With per-stream locks (PostgreSQL), two batches on *different* streams may race on the
//! same `event_id`: the unique index fails one commit, and the backend must retry that
//! whole transaction (re-reading the snapshot, so the event becomes a replay or a
//! `duplicate_event_id`). SQLite has a single writer, so this cannot happen there.

mod batch;
mod codec;
pub mod postgres;
mod postgres_ingest;
mod postgres_notify;
mod postgres_rows;
mod postgres_schema;
mod postgres_writes;
pub mod sqlite;
#[cfg(test)]
mod sqlite_group_tests;
mod sqlite_ingest;
mod sqlite_rows;
mod sqlite_schema;
mod sqlite_writes;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::encoding::{Hash32, Sig64};
use crate::envelope::EventEnvelope;
use crate::error::VesError;
use crate::keys::AgentKeyRecord;
use crate::merkle::leaf_hash;
use crate::receipt::SignedReceipt;
use crate::stream::Commitment;

pub use batch::{
    BatchSnapshot, Candidate, EventOutcome, ExistingEvent, IngestBatch, Prechecked, Resolution,
    SignatureVerdict,
};
pub use postgres::{PostgresOptions, PostgresStore};
pub use sqlite::SqliteStore;

/// A stream: `(tenant_id, store_id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamKey {
    /// Tenant.
    pub tenant_id: Uuid,
    /// Store.
    pub store_id: Uuid,
}

impl StreamKey {
    /// The stream of `(tenant_id, store_id)`.
    pub fn new(tenant_id: Uuid, store_id: Uuid) -> Self {
        Self {
            tenant_id,
            store_id,
        }
    }
}

/// An accepted event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Stream.
    pub stream: StreamKey,
    /// Assigned sequence number (from 1, gap-free per stream).
    pub sequence_number: u64,
    /// Globally unique event id.
    pub event_id: Uuid,
    /// Command id, if the event carried one.
    pub command_id: Option<Uuid>,
    /// Entity type.
    pub entity_type: String,
    /// Entity id.
    pub entity_id: String,
    /// SHA-256 of the JCS form of the whole envelope (what "identical in every field" means).
    pub content_hash: Hash32,
    /// Event signing hash.
    pub event_signing_hash: Hash32,
    /// Agent signature.
    pub agent_signature: Sig64,
    /// The envelope's JSON text exactly as the client sent it.
    pub envelope_json: String,
    /// The receipt issued when the event was accepted.
    pub receipt: SignedReceipt,
}

impl StoredEvent {
    /// Merkle leaf of this event.
    pub fn leaf_hash(&self) -> Hash32 {
        leaf_hash(
            &self.stream.tenant_id,
            &self.stream.store_id,
            self.sequence_number,
            &self.event_signing_hash,
            &self.agent_signature,
        )
    }

    /// Parses the stored envelope.
    pub fn envelope(&self) -> Result<EventEnvelope, VesError> {
        EventEnvelope::from_json_str(&self.envelope_json)
    }
}

/// A page of events plus the head read in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    /// Events in sequence order.
    pub events: Vec<StoredEvent>,
    /// Last assigned sequence number of the stream (0 when empty).
    pub head_sequence: u64,
}

/// Head of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHead {
    /// Last assigned sequence number (0 when the stream is empty).
    pub head_sequence: u64,
    /// Latest commitment, if any.
    pub latest_commitment: Option<Commitment>,
}

/// Outcome of [`EventStore::insert_agent_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyInsert {
    /// The record was stored.
    Inserted,
    /// `(tenant, agent, key_id)` already exists; the stored record is returned unchanged.
    Exists(Box<AgentKeyRecord>),
}

/// Per-agent sync cursor of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncCursor {
    /// Highest sequence number the agent has pushed (advanced by ingest).
    pub last_pushed_sequence: u64,
    /// Highest sequence number the agent reports as pulled.
    pub last_pulled_sequence: u64,
    /// Last time either cursor moved.
    pub last_sync_at: Option<DateTime<Utc>>,
}

/// Requested cursor positions; `None` leaves a cursor as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CursorUpdate {
    /// New `last_pushed_sequence`.
    pub last_pushed_sequence: Option<u64>,
    /// New `last_pulled_sequence`.
    pub last_pulled_sequence: Option<u64>,
}

/// Storage failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("storage backend error: {0}")]
    Backend(String),
    /// Stored data could not be decoded (corruption or a foreign writer).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A commitment does not extend the stored chain (a concurrent commit won).
    #[error("commitment conflict: {0}")]
    CommitmentConflict(String),
    /// A cursor was asked to move past the head of its stream.
    #[error("cursor {requested} is beyond the stream head {head}")]
    CursorBeyondHead {
        /// Requested position.
        requested: u64,
        /// Current head.
        head: u64,
    },
    /// A number does not fit the backend's integer type.
    #[error("value {0} out of range for storage")]
    OutOfRange(u64),
    /// The blocking task running the query failed.
    #[error("storage task failed: {0}")]
    Task(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Backend(e.to_string())
    }
}

/// "The stream's head moved": written by another process sharing the store. Subscribers read
/// the new events from storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadNotice {
    /// The stream; `None` = any stream may have moved (notices may have been lost).
    pub stream: Option<StreamKey>,
    /// Its head after the write (0 with `stream: None`).
    pub head: u64,
}

impl HeadNotice {
    /// Any stream may have moved.
    pub fn everything() -> Self {
        Self {
            stream: None,
            head: 0,
        }
    }

    /// Whether a subscriber of `stream` that has everything below `next` should read again.
    pub fn concerns(&self, stream: &StreamKey, next: u64) -> bool {
        match self.stream {
            None => true,
            Some(s) => s == *stream && self.head >= next,
        }
    }
}

/// Everything the engine needs from durable storage. See the module docs for the ingest
/// transaction contract. All methods are safe to call concurrently.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Heads moved by writers in other processes (see [`HeadNotice`]); `None` when this process
    /// is the only writer (SQLite), so the engine's own live channel sees every event.
    fn head_notices(&self) -> Option<tokio::sync::broadcast::Receiver<HeadNotice>> {
        None
    }

    /// Stores a new agent key; an existing `(tenant, agent, key_id)` is left untouched.
    async fn insert_agent_key(&self, record: &AgentKeyRecord) -> Result<KeyInsert, StoreError>;

    /// The key `(tenant, agent, key_id)`, read fresh (no cache: revocation takes effect at once).
    async fn agent_key(
        &self,
        tenant_id: Uuid,
        agent_id: Uuid,
        key_id: u32,
    ) -> Result<Option<AgentKeyRecord>, StoreError>;

    /// Keys of a tenant, optionally of one agent, ordered by agent then key id.
    async fn list_agent_keys(
        &self,
        tenant_id: Uuid,
        agent_id: Option<Uuid>,
    ) -> Result<Vec<AgentKeyRecord>, StoreError>;

    /// Marks a key revoked at `at` (a key already revoked keeps its first `revoked_at`).
    /// `None` when the key does not exist.
    async fn revoke_agent_key(
        &self,
        tenant_id: Uuid,
        agent_id: Uuid,
        key_id: u32,
        at: DateTime<Utc>,
    ) -> Result<Option<AgentKeyRecord>, StoreError>;

    /// Runs one ingest batch in one durable transaction (see the module docs).
    async fn ingest(&self, batch: IngestBatch) -> Result<Resolution, StoreError>;

    /// Up to `limit` events with `sequence_number >= from`, in order, plus the head.
    async fn events_from(
        &self,
        stream: StreamKey,
        from: u64,
        limit: u32,
    ) -> Result<EventPage, StoreError>;

    /// One event by its globally unique id.
    async fn event_by_id(&self, event_id: Uuid) -> Result<Option<StoredEvent>, StoreError>;

    /// Head sequence and latest commitment of a stream.
    async fn head(&self, stream: StreamKey) -> Result<StreamHead, StoreError>;

    /// Leaf hashes of `from..=to`; fails with [`StoreError::Corrupt`] if any is missing.
    async fn leaf_hashes(
        &self,
        stream: StreamKey,
        from: u64,
        to: u64,
    ) -> Result<Vec<Hash32>, StoreError>;

    /// Appends a commitment; it must extend the stored chain (start = previous end + 1,
    /// `prev_state_root` = previous state root) and end at or below the head.
    async fn append_commitment(&self, commitment: &Commitment) -> Result<(), StoreError>;

    /// Up to `limit` commitments with `seq_end > after_seq_end`, in order.
    async fn commitments(
        &self,
        stream: StreamKey,
        after_seq_end: u64,
        limit: u32,
    ) -> Result<Vec<Commitment>, StoreError>;

    /// The commitment ending at `seq_end`.
    async fn commitment_by_end(
        &self,
        stream: StreamKey,
        seq_end: u64,
    ) -> Result<Option<Commitment>, StoreError>;

    /// The commitment whose range contains `sequence_number`.
    async fn commitment_covering(
        &self,
        stream: StreamKey,
        sequence_number: u64,
    ) -> Result<Option<Commitment>, StoreError>;

    /// The agent's cursor on a stream (zeros when never set).
    async fn sync_cursor(
        &self,
        stream: StreamKey,
        agent_id: Uuid,
    ) -> Result<SyncCursor, StoreError>;

    /// Moves cursors forward: a value below the stored one is ignored, a value above the head
    /// is [`StoreError::CursorBeyondHead`]. Returns the cursor after the update.
    async fn advance_sync_cursor(
        &self,
        stream: StreamKey,
        agent_id: Uuid,
        update: CursorUpdate,
        at: DateTime<Utc>,
    ) -> Result<SyncCursor, StoreError>;
}
