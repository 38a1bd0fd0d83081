//! The SQLite backend.
//!
//! One writer connection behind a mutex (SQLite has a single writer anyway; every write is
//! one `IMMEDIATE` transaction) and a small pool of read-only connections, which WAL lets
//! run concurrently with the writer.
//!
//! Ingest uses group commit: a batch is queued, and whichever task holds the writer next
//! takes every queued batch and stores them in one transaction with one fsync
//! (`sqlite_ingest::ingest_group`). Nobody waits for a group to fill: a lone batch is committed
//! at once; batches that arrive while the writer is busy share the next commit. All SQLite calls run on tokio's blocking pool
//! (`spawn_blocking`), never on the async workers. Statements go through `prepare_cached`.
//! Durability settings and migrations: see `sqlite_schema`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use rusqlite::Connection;
use uuid::Uuid;

use super::sqlite_ingest::PendingIngest;
use super::sqlite_schema::{open_reader, open_writer};
use super::{
    sqlite_ingest, sqlite_rows as rows, sqlite_writes as writes, CursorUpdate, EventPage,
    EventStore, IngestBatch, KeyInsert, Resolution, StoreError, StoredEvent, StreamHead, StreamKey,
    SyncCursor,
};
use crate::encoding::Hash32;
use crate::keys::AgentKeyRecord;
use crate::stream::Commitment;

/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 8;

/// Most events committed in one group (a group always takes at least one batch).
const MAX_GROUP_EVENTS: usize = 10_000;

/// The oldest queued batches, up to [`MAX_GROUP_EVENTS`] events; the rest stay queued for the
/// next holder of the writer (every queued batch has a task that will take the writer).
fn take_group(pending: &mut Vec<PendingIngest>) -> Vec<PendingIngest> {
    let mut events = 0;
    let count = pending
        .iter()
        .take_while(|p| {
            events += p.batch.candidates.len();
            events <= MAX_GROUP_EVENTS
        })
        .count()
        .max(1)
        .min(pending.len());
    pending.drain(..count).collect()
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Batches waiting for the writer (group commit).
    pending: Mutex<Vec<PendingIngest>>,
}

/// Durable event store in one SQLite file (WAL, `synchronous = FULL`).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    /// Blocking: call it before serving, or from `spawn_blocking`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let writer = open_writer(&path)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                pending: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Holds the writer (tests of group commit).
    #[cfg(test)]
    pub(crate) fn hold_writer(&self) -> parking_lot::MutexGuard<'_, Connection> {
        self.inner.writer.lock()
    }

    /// Batches waiting for the writer (tests of group commit).
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.inner.pending.lock().len()
    }

    /// Database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock();
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => open_reader(&inner.path)?,
            };
            let result = f(&conn);
            let mut idle = inner.readers.lock();
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn insert_agent_key(&self, record: &AgentKeyRecord) -> Result<KeyInsert, StoreError> {
        let record = record.clone();
        self.write(move |conn| writes::insert_agent_key(conn, &record))
            .await
    }

    async fn agent_key(
        &self,
        tenant_id: Uuid,
        agent_id: Uuid,
        key_id: u32,
    ) -> Result<Option<AgentKeyRecord>, StoreError> {
        self.read(move |conn| rows::agent_key(conn, &tenant_id, &agent_id, key_id))
            .await
    }

    async fn list_agent_keys(
        &self,
        tenant_id: Uuid,
        agent_id: Option<Uuid>,
    ) -> Result<Vec<AgentKeyRecord>, StoreError> {
        self.read(move |conn| rows::list_agent_keys(conn, &tenant_id, agent_id.as_ref()))
            .await
    }

    async fn revoke_agent_key(
        &self,
        tenant_id: Uuid,
        agent_id: Uuid,
        key_id: u32,
        at: DateTime<Utc>,
    ) -> Result<Option<AgentKeyRecord>, StoreError> {
        self.write(move |conn| writes::revoke_agent_key(conn, &tenant_id, &agent_id, key_id, &at))
            .await
    }

    async fn ingest(&self, batch: IngestBatch) -> Result<Resolution, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.inner
            .pending
            .lock()
            .push(PendingIngest { batch, reply });
        // Take the writer and store everything queued by then: ours too, unless a task that
        // held the writer before us already took it (then its commit answers us).
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock();
            let group = take_group(&mut inner.pending.lock());
            if !group.is_empty() {
                sqlite_ingest::ingest_group(&mut conn, group);
            }
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
        answer
            .await
            .map_err(|_| StoreError::Task("the ingest writer dropped the batch".to_owned()))?
    }

    async fn events_from(
        &self,
        stream: StreamKey,
        from: u64,
        limit: u32,
    ) -> Result<EventPage, StoreError> {
        self.read(move |conn| rows::events_from(conn, &stream, from, limit))
            .await
    }

    async fn event_by_id(&self, event_id: Uuid) -> Result<Option<StoredEvent>, StoreError> {
        self.read(move |conn| rows::event_by_id(conn, &event_id))
            .await
    }

    async fn head(&self, stream: StreamKey) -> Result<StreamHead, StoreError> {
        self.read(move |conn| rows::head(conn, &stream)).await
    }

    async fn leaf_hashes(
        &self,
        stream: StreamKey,
        from: u64,
        to: u64,
    ) -> Result<Vec<Hash32>, StoreError> {
        self.read(move |conn| rows::leaf_hashes(conn, &stream, from, to))
            .await
    }

    async fn append_commitment(&self, commitment: &Commitment) -> Result<(), StoreError> {
        let commitment = commitment.clone();
        self.write(move |conn| writes::append_commitment(conn, &commitment))
            .await
    }

    async fn commitments(
        &self,
        stream: StreamKey,
        after_seq_end: u64,
        limit: u32,
    ) -> Result<Vec<Commitment>, StoreError> {
        self.read(move |conn| rows::commitments(conn, &stream, after_seq_end, limit))
            .await
    }

    async fn commitment_by_end(
        &self,
        stream: StreamKey,
        seq_end: u64,
    ) -> Result<Option<Commitment>, StoreError> {
        self.read(move |conn| rows::commitment_by_end(conn, &stream, seq_end))
            .await
    }

    async fn commitment_covering(
        &self,
        stream: StreamKey,
        sequence_number: u64,
    ) -> Result<Option<Commitment>, StoreError> {
        self.read(move |conn| rows::commitment_covering(conn, &stream, sequence_number))
            .await
    }

    async fn sync_cursor(
        &self,
        stream: StreamKey,
        agent_id: Uuid,
    ) -> Result<SyncCursor, StoreError> {
        self.read(move |conn| rows::sync_cursor(conn, &stream, &agent_id))
            .await
    }

    async fn advance_sync_cursor(
        &self,
        stream: StreamKey,
        agent_id: Uuid,
        update: CursorUpdate,
        at: DateTime<Utc>,
    ) -> Result<SyncCursor, StoreError> {
        self.write(move |conn| writes::advance_sync_cursor(conn, &stream, &agent_id, update, &at))
            .await
    }
}
