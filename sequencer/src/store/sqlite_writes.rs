//! SQLite writes other than ingest: agent keys, commitments and sync cursors. Each runs in
//! its own `IMMEDIATE` transaction on the writer connection.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, TransactionBehavior};
use uuid::Uuid;

use super::sqlite_rows::{
    agent_key, head_sequence, int, latest_commitment, sync_cursor, time_text,
};
use super::{CursorUpdate, KeyInsert, StoreError, StreamKey, SyncCursor};
use crate::keys::AgentKeyRecord;
use crate::stream::Commitment;

pub(crate) fn insert_agent_key(
    conn: &mut Connection,
    record: &AgentKeyRecord,
) -> Result<KeyInsert, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(existing) = agent_key(&tx, &record.tenant_id, &record.agent_id, record.key_id)? {
        return Ok(KeyInsert::Exists(Box::new(existing)));
    }
    tx.prepare_cached(
        "INSERT INTO agent_keys (tenant_id, agent_id, key_id, public_key, valid_from, \
         valid_to, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        record.tenant_id.as_bytes(),
        record.agent_id.as_bytes(),
        record.key_id,
        record.public_key.to_bytes(),
        time_text(&record.valid_from),
        record.valid_to.as_ref().map(time_text),
        record.revoked_at.as_ref().map(time_text),
    ])?;
    tx.commit()?;
    Ok(KeyInsert::Inserted)
}

pub(crate) fn revoke_agent_key(
    conn: &mut Connection,
    tenant_id: &Uuid,
    agent_id: &Uuid,
    key_id: u32,
    at: &DateTime<Utc>,
) -> Result<Option<AgentKeyRecord>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "UPDATE agent_keys SET revoked_at = ?4 WHERE tenant_id = ?1 AND agent_id = ?2 \
         AND key_id = ?3 AND revoked_at IS NULL",
    )?
    .execute(params![
        tenant_id.as_bytes(),
        agent_id.as_bytes(),
        key_id,
        time_text(at)
    ])?;
    let record = agent_key(&tx, tenant_id, agent_id, key_id)?;
    tx.commit()?;
    Ok(record)
}

pub(crate) fn append_commitment(conn: &mut Connection, c: &Commitment) -> Result<(), StoreError> {
    let stream = StreamKey::new(c.tenant_id, c.store_id);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (expected_start, expected_prev) = match latest_commitment(&tx, &stream)? {
        Some(prev) => (prev.seq_end.saturating_add(1), prev.state_root),
        None => (1, crate::encoding::Hash32::ZERO),
    };
    if c.seq_start != expected_start || c.prev_state_root != expected_prev {
        return Err(StoreError::CommitmentConflict(format!(
            "the next commitment must start at {expected_start} and chain to the stored state root"
        )));
    }
    let head = head_sequence(&tx, &stream)?;
    if c.seq_end > head || c.seq_end < c.seq_start {
        return Err(StoreError::CommitmentConflict(format!(
            "range {}..={} is not within the stream (head {head})",
            c.seq_start, c.seq_end
        )));
    }
    tx.prepare_cached(
        "INSERT INTO commitments (tenant_id, store_id, seq_start, seq_end, leaf_count, \
         merkle_root, prev_state_root, state_root, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        c.tenant_id.as_bytes(),
        c.store_id.as_bytes(),
        int(c.seq_start)?,
        int(c.seq_end)?,
        c.leaf_count,
        c.merkle_root.0,
        c.prev_state_root.0,
        c.state_root.0,
        time_text(&Utc::now()),
    ])?;
    tx.commit()?;
    Ok(())
}

pub(crate) fn advance_sync_cursor(
    conn: &mut Connection,
    stream: &StreamKey,
    agent_id: &Uuid,
    update: CursorUpdate,
    at: &DateTime<Utc>,
) -> Result<SyncCursor, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let head = head_sequence(&tx, stream)?;
    for requested in [update.last_pushed_sequence, update.last_pulled_sequence]
        .into_iter()
        .flatten()
    {
        if requested > head {
            return Err(StoreError::CursorBeyondHead { requested, head });
        }
    }
    let current = sync_cursor(&tx, stream, agent_id)?;
    let pushed = update
        .last_pushed_sequence
        .map_or(current.last_pushed_sequence, |p| {
            p.max(current.last_pushed_sequence)
        });
    let pulled = update
        .last_pulled_sequence
        .map_or(current.last_pulled_sequence, |p| {
            p.max(current.last_pulled_sequence)
        });
    // Every report counts as a sync, whether or not a cursor moved.
    let last_sync_at = Some(*at);
    tx.prepare_cached(
        "INSERT INTO sync_cursors (tenant_id, store_id, agent_id, last_pushed, last_pulled, \
         last_sync_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (tenant_id, store_id, agent_id) DO UPDATE SET \
         last_pushed = excluded.last_pushed, last_pulled = excluded.last_pulled, \
         last_sync_at = excluded.last_sync_at",
    )?
    .execute(params![
        stream.tenant_id.as_bytes(),
        stream.store_id.as_bytes(),
        agent_id.as_bytes(),
        int(pushed)?,
        int(pulled)?,
        last_sync_at.as_ref().map(time_text),
    ])?;
    tx.commit()?;
    Ok(SyncCursor {
        last_pushed_sequence: pushed,
        last_pulled_sequence: pulled,
        last_sync_at,
    })
}
