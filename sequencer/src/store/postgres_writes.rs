//! PostgreSQL writes other than ingest: agent keys, commitments and sync cursors. Each is
//! safe against other processes writing the same rows at the same time.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::codec::{int, time_text};
use super::postgres::{is_unique_violation, rollback};
use super::postgres_rows::{
    agent_key, cursor_from_row, head_sequence, key_from_row, latest_commitment, u64_of, KEY_COLUMNS,
};
use super::{CursorUpdate, KeyInsert, StoreError, StreamKey, SyncCursor};
use crate::encoding::Hash32;
use crate::keys::AgentKeyRecord;
use crate::stream::Commitment;

/// `INSERT … ON CONFLICT DO NOTHING`: of two processes registering the same key, exactly one
/// inserts; the other reads the winner's record.
pub(crate) async fn insert_agent_key(
    pool: &PgPool,
    record: &AgentKeyRecord,
) -> Result<KeyInsert, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO ves_agent_keys (tenant_id, agent_id, key_id, public_key, valid_from, \
         valid_to, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id, agent_id, key_id) DO NOTHING",
    )
    .bind(record.tenant_id)
    .bind(record.agent_id)
    .bind(i64::from(record.key_id))
    .bind(record.public_key.to_bytes().to_vec())
    .bind(time_text(&record.valid_from))
    .bind(record.valid_to.as_ref().map(time_text))
    .bind(record.revoked_at.as_ref().map(time_text))
    .execute(pool)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(KeyInsert::Inserted);
    }
    match agent_key(pool, record.tenant_id, record.agent_id, record.key_id).await? {
        Some(existing) => Ok(KeyInsert::Exists(Box::new(existing))),
        None => Err(StoreError::Backend(
            "key insert conflicted but no key is stored".into(),
        )),
    }
}

/// Sets `revoked_at` unless it is already set (one statement, so concurrent revocations
/// keep the first time).
pub(crate) async fn revoke_agent_key(
    pool: &PgPool,
    tenant_id: Uuid,
    agent_id: Uuid,
    key_id: u32,
    at: &DateTime<Utc>,
) -> Result<Option<AgentKeyRecord>, StoreError> {
    sqlx::query(&format!(
        "UPDATE ves_agent_keys SET revoked_at = coalesce(revoked_at, $4) \
         WHERE tenant_id = $1 AND agent_id = $2 AND key_id = $3 RETURNING {KEY_COLUMNS}"
    ))
    .bind(tenant_id)
    .bind(agent_id)
    .bind(i64::from(key_id))
    .bind(time_text(at))
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(key_from_row)
    .transpose()
}

/// Appends a commitment under the stream row lock (the same lock ingest takes), so the
/// chain check and the insert are atomic across processes; the unique `seq_start` is a
/// second guard.
pub(crate) async fn append_commitment(pool: &PgPool, c: &Commitment) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    match append_commitment_in(&mut tx, c).await {
        Ok(()) => Ok(tx.commit().await?),
        Err(e) => {
            rollback(tx).await;
            Err(e)
        }
    }
}

async fn append_commitment_in(tx: &mut PgConnection, c: &Commitment) -> Result<(), StoreError> {
    let stream = StreamKey::new(c.tenant_id, c.store_id);
    let head: Option<i64> = sqlx::query_scalar(
        "SELECT head_sequence FROM ves_streams WHERE tenant_id = $1 AND store_id = $2 \
         FOR UPDATE",
    )
    .bind(stream.tenant_id)
    .bind(stream.store_id)
    .fetch_optional(&mut *tx)
    .await?;
    let head = head.map_or(Ok(0), |h| u64_of(h, "head_sequence"))?;
    let (expected_start, expected_prev) = match latest_commitment(&mut *tx, &stream).await? {
        Some(prev) => (prev.seq_end.saturating_add(1), prev.state_root),
        None => (1, Hash32::ZERO),
    };
    if c.seq_start != expected_start || c.prev_state_root != expected_prev {
        return Err(StoreError::CommitmentConflict(format!(
            "the next commitment must start at {expected_start} and chain to the stored state root"
        )));
    }
    if c.seq_end > head || c.seq_end < c.seq_start {
        return Err(StoreError::CommitmentConflict(format!(
            "range {}..={} is not within the stream (head {head})",
            c.seq_start, c.seq_end
        )));
    }
    let inserted = sqlx::query(
        "INSERT INTO ves_commitments (tenant_id, store_id, seq_start, seq_end, leaf_count, \
         merkle_root, prev_state_root, state_root) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(c.tenant_id)
    .bind(c.store_id)
    .bind(int(c.seq_start)?)
    .bind(int(c.seq_end)?)
    .bind(i64::from(c.leaf_count))
    .bind(c.merkle_root.0.to_vec())
    .bind(c.prev_state_root.0.to_vec())
    .bind(c.state_root.0.to_vec())
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => Err(StoreError::CommitmentConflict(
            "a concurrent commitment covers the same range".into(),
        )),
        other => other.map(|_| ()).map_err(StoreError::from),
    }
}

/// Cursors move forward with `GREATEST` in one upsert; the head only grows, so a position
/// checked against it stays valid.
pub(crate) async fn advance_sync_cursor(
    pool: &PgPool,
    stream: &StreamKey,
    agent_id: Uuid,
    update: CursorUpdate,
    at: &DateTime<Utc>,
) -> Result<SyncCursor, StoreError> {
    let head = head_sequence(pool, stream).await?;
    for requested in [update.last_pushed_sequence, update.last_pulled_sequence]
        .into_iter()
        .flatten()
    {
        if requested > head {
            return Err(StoreError::CursorBeyondHead { requested, head });
        }
    }
    let row = sqlx::query(
        "INSERT INTO ves_sync_cursors (tenant_id, store_id, agent_id, last_pushed, last_pulled, \
         last_sync_at) VALUES ($1, $2, $3, coalesce($4::bigint, 0), coalesce($5::bigint, 0), $6) \
         ON CONFLICT (tenant_id, store_id, agent_id) DO UPDATE SET \
         last_pushed = GREATEST(ves_sync_cursors.last_pushed, EXCLUDED.last_pushed), \
         last_pulled = GREATEST(ves_sync_cursors.last_pulled, EXCLUDED.last_pulled), \
         last_sync_at = EXCLUDED.last_sync_at \
         RETURNING last_pushed, last_pulled, last_sync_at",
    )
    .bind(stream.tenant_id)
    .bind(stream.store_id)
    .bind(agent_id)
    .bind(update.last_pushed_sequence.map(int).transpose()?)
    .bind(update.last_pulled_sequence.map(int).transpose()?)
    .bind(time_text(at))
    .fetch_one(pool)
    .await?;
    cursor_from_row(&row)
}
