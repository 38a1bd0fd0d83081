//! Local sync cursors of the outbox: last pushed, durable last pulled, head.

use rusqlite::{params, OptionalExtension};
use uuid::Uuid;

use super::outbox::{LocalSyncState, Outbox, OutboxError};
use crate::store::StreamKey;

impl Outbox {
    /// Local sync cursors of `(stream, agent)` (zeros when never synced).
    pub fn sync_state(
        &self,
        stream: StreamKey,
        agent: Uuid,
    ) -> Result<LocalSyncState, OutboxError> {
        let conn = self.conn().lock();
        let state = conn
            .query_row(
                "SELECT last_pushed, last_pulled, head, last_sync_at FROM sync_state \
                 WHERE tenant_id = ?1 AND store_id = ?2 AND agent_id = ?3",
                params![
                    stream.tenant_id.to_string(),
                    stream.store_id.to_string(),
                    agent.to_string()
                ],
                |r| {
                    Ok(LocalSyncState {
                        last_pushed: r.get(0)?,
                        last_pulled: r.get(1)?,
                        head: r.get(2)?,
                        last_sync_at: r.get(3)?,
                    })
                },
            )
            .optional()?;
        Ok(state.unwrap_or_default())
    }

    /// Moves local cursors forward (each `Some` value only if higher; `head` is replaced)
    /// and stamps `last_sync_at`.
    pub fn advance(
        &self,
        stream: StreamKey,
        agent: Uuid,
        pushed: Option<u64>,
        pulled: Option<u64>,
        head: Option<u64>,
    ) -> Result<LocalSyncState, OutboxError> {
        {
            let conn = self.conn().lock();
            conn.execute(
                "INSERT INTO sync_state (tenant_id, store_id, agent_id, last_pushed, last_pulled, \
                 head, last_sync_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (tenant_id, store_id, agent_id) DO UPDATE SET \
                 last_pushed = MAX(last_pushed, excluded.last_pushed), \
                 last_pulled = MAX(last_pulled, excluded.last_pulled), \
                 head = CASE WHEN ?8 THEN excluded.head ELSE head END, \
                 last_sync_at = excluded.last_sync_at",
                params![
                    stream.tenant_id.to_string(),
                    stream.store_id.to_string(),
                    agent.to_string(),
                    pushed.unwrap_or(0),
                    pulled.unwrap_or(0),
                    head.unwrap_or(0),
                    chrono::Utc::now().to_rfc3339(),
                    head.is_some(),
                ],
            )?;
        }
        self.sync_state(stream, agent)
    }
}
