//! Reads: pull pages, single events, heads and per-agent sync cursors.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{EngineError, Sequencer, MAX_PULL_LIMIT};
use crate::encoding::serde_uuid;
use crate::store::{CursorUpdate, StoreError, StoredEvent, StreamHead, StreamKey, SyncCursor};

/// One page of a pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullPage {
    /// Events with `sequence_number >= from`, in order.
    pub events: Vec<StoredEvent>,
    /// Stream head when the page was read.
    pub head_sequence: u64,
    /// Where the next pull starts.
    pub next_sequence: u64,
    /// Whether events at or after `next_sequence` exist.
    pub has_more: bool,
}

/// An agent's sync state on a stream (JSON: snake_case); the client decodes the same type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// Tenant.
    #[serde(with = "serde_uuid")]
    pub tenant_id: Uuid,
    /// Store.
    #[serde(with = "serde_uuid")]
    pub store_id: Uuid,
    /// Agent.
    #[serde(with = "serde_uuid")]
    pub agent_id: Uuid,
    /// Highest sequence number the agent pushed.
    pub last_pushed_sequence: u64,
    /// Highest sequence number the agent reported as pulled.
    pub last_pulled_sequence: u64,
    /// Stream head.
    pub head_sequence: u64,
    /// `head_sequence − last_pulled_sequence`.
    pub lag: u64,
    /// Last time a cursor moved.
    pub last_sync_at: Option<DateTime<Utc>>,
}

impl SyncState {
    fn new(stream: StreamKey, agent_id: Uuid, cursor: SyncCursor, head_sequence: u64) -> Self {
        Self {
            tenant_id: stream.tenant_id,
            store_id: stream.store_id,
            agent_id,
            last_pushed_sequence: cursor.last_pushed_sequence,
            last_pulled_sequence: cursor.last_pulled_sequence,
            head_sequence,
            lag: head_sequence.saturating_sub(cursor.last_pulled_sequence),
            last_sync_at: cursor.last_sync_at,
        }
    }
}

impl Sequencer {
    /// Events from `from` (inclusive; 0 is read as 1), at most `limit` (1..=1000).
    pub async fn pull(
        &self,
        stream: StreamKey,
        from: u64,
        limit: u32,
    ) -> Result<PullPage, EngineError> {
        if limit == 0 || limit > MAX_PULL_LIMIT {
            return Err(EngineError::invalid(
                "invalid_limit",
                format!("limit must be 1..={MAX_PULL_LIMIT}"),
            ));
        }
        let from = from.max(1);
        let page = self.store.events_from(stream, from, limit).await?;
        let next_sequence = page
            .events
            .last()
            .map_or(from, |e| e.sequence_number.saturating_add(1));
        Ok(PullPage {
            has_more: next_sequence <= page.head_sequence,
            head_sequence: page.head_sequence,
            next_sequence,
            events: page.events,
        })
    }

    /// One event by id.
    pub async fn event(&self, event_id: Uuid) -> Result<Option<StoredEvent>, EngineError> {
        Ok(self.store.event_by_id(event_id).await?)
    }

    /// Head sequence and latest commitment.
    pub async fn head(&self, stream: StreamKey) -> Result<StreamHead, EngineError> {
        Ok(self.store.head(stream).await?)
    }

    /// The agent's cursors and lag.
    pub async fn sync_state(
        &self,
        stream: StreamKey,
        agent_id: Uuid,
    ) -> Result<SyncState, EngineError> {
        let cursor = self.store.sync_cursor(stream, agent_id).await?;
        let head = self.store.head(stream).await?.head_sequence;
        Ok(SyncState::new(stream, agent_id, cursor, head))
    }

    /// Moves the agent's cursors forward (lower values are ignored; beyond the head is a
    /// `cursor_beyond_head` conflict).
    pub async fn update_sync_state(
        &self,
        stream: StreamKey,
        agent_id: Uuid,
        update: CursorUpdate,
    ) -> Result<SyncState, EngineError> {
        let cursor = self
            .store
            .advance_sync_cursor(stream, agent_id, update, Utc::now())
            .await
            .map_err(|e| match e {
                StoreError::CursorBeyondHead { .. } => {
                    EngineError::conflict("cursor_beyond_head", e.to_string())
                }
                other => EngineError::Store(other),
            })?;
        let head = self.store.head(stream).await?.head_sequence;
        Ok(SyncState::new(stream, agent_id, cursor, head))
    }
}
