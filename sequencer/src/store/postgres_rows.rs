//! PostgreSQL column codecs and read queries. Reads that must be consistent with each other
//! (a page and the head, the head and the latest commitment) are single statements, so they
//! share one snapshot without an explicit transaction.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};
use uuid::Uuid;

use super::codec::int;
use super::{EventPage, StoreError, StoredEvent, StreamHead, StreamKey, SyncCursor};
use crate::encoding::{Hash32, Sig64};
use crate::keys::{AgentKeyRecord, Ed25519PublicKey};
use crate::receipt::SignedReceipt;
use crate::stream::Commitment;

pub(crate) fn u64_of(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {what} {v}")))
}

fn u32_of(v: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {v} out of range")))
}

fn array<const N: usize>(v: Vec<u8>, what: &str) -> Result<[u8; N], StoreError> {
    <[u8; N]>::try_from(v.as_slice())
        .map_err(|_| StoreError::Corrupt(format!("{what} has {} bytes, not {N}", v.len())))
}

pub(crate) fn text_of(v: Vec<u8>, what: &str) -> Result<String, StoreError> {
    String::from_utf8(v).map_err(|_| StoreError::Corrupt(format!("{what} is not UTF-8")))
}

fn time_of(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("stored time {text:?}: {e}")))
}

fn opt_time(row: &PgRow, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    row.try_get::<Option<String>, _>(column)?
        .as_deref()
        .map(time_of)
        .transpose()
}

pub(crate) fn receipt_of(text: &str) -> Result<SignedReceipt, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("stored receipt: {e}")))
}

pub(crate) fn hash_at(row: &PgRow, column: &str) -> Result<Hash32, StoreError> {
    Ok(Hash32(array(row.try_get(column)?, column)?))
}

pub(crate) const KEY_COLUMNS: &str =
    "tenant_id, agent_id, key_id, public_key, valid_from, valid_to, revoked_at";

pub(crate) fn key_from_row(row: &PgRow) -> Result<AgentKeyRecord, StoreError> {
    let public_key: [u8; 32] = array(row.try_get("public_key")?, "public_key")?;
    let valid_from: String = row.try_get("valid_from")?;
    Ok(AgentKeyRecord {
        tenant_id: row.try_get("tenant_id")?,
        agent_id: row.try_get("agent_id")?,
        key_id: u32_of(row.try_get("key_id")?, "key_id")?,
        public_key: Ed25519PublicKey::from_bytes(&public_key)
            .map_err(|e| StoreError::Corrupt(format!("stored public key: {e}")))?,
        valid_from: time_of(&valid_from)?,
        valid_to: opt_time(row, "valid_to")?,
        revoked_at: opt_time(row, "revoked_at")?,
    })
}

const EVENT_COLUMNS: &str = "e.tenant_id, e.store_id, e.sequence_number, e.event_id, \
     e.command_id, e.entity_type, e.entity_id, e.content_hash, e.event_signing_hash, \
     e.agent_signature, e.envelope, e.receipt";

fn event_from_row(row: &PgRow) -> Result<StoredEvent, StoreError> {
    let receipt: String = row.try_get("receipt")?;
    Ok(StoredEvent {
        stream: StreamKey::new(row.try_get("tenant_id")?, row.try_get("store_id")?),
        sequence_number: u64_of(row.try_get("sequence_number")?, "sequence_number")?,
        event_id: row.try_get("event_id")?,
        command_id: row.try_get("command_id")?,
        entity_type: text_of(row.try_get("entity_type")?, "entity_type")?,
        entity_id: text_of(row.try_get("entity_id")?, "entity_id")?,
        content_hash: hash_at(row, "content_hash")?,
        event_signing_hash: hash_at(row, "event_signing_hash")?,
        agent_signature: Sig64(array(row.try_get("agent_signature")?, "agent_signature")?),
        envelope_json: row.try_get("envelope")?,
        receipt: receipt_of(&receipt)?,
    })
}

const COMMITMENT_COLUMNS: &str = "c.tenant_id, c.store_id, c.seq_start, c.seq_end, \
     c.leaf_count, c.merkle_root, c.prev_state_root, c.state_root";

fn commitment_from_row(row: &PgRow) -> Result<Commitment, StoreError> {
    Ok(Commitment {
        tenant_id: row.try_get("tenant_id")?,
        store_id: row.try_get("store_id")?,
        seq_start: u64_of(row.try_get("seq_start")?, "seq_start")?,
        seq_end: u64_of(row.try_get("seq_end")?, "seq_end")?,
        leaf_count: u32_of(row.try_get("leaf_count")?, "leaf_count")?,
        merkle_root: hash_at(row, "merkle_root")?,
        prev_state_root: hash_at(row, "prev_state_root")?,
        state_root: hash_at(row, "state_root")?,
    })
}

pub(crate) async fn agent_key<'e>(
    db: impl PgExecutor<'e>,
    tenant_id: Uuid,
    agent_id: Uuid,
    key_id: u32,
) -> Result<Option<AgentKeyRecord>, StoreError> {
    sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM ves_agent_keys \
         WHERE tenant_id = $1 AND agent_id = $2 AND key_id = $3"
    ))
    .bind(tenant_id)
    .bind(agent_id)
    .bind(i64::from(key_id))
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(key_from_row)
    .transpose()
}

pub(crate) async fn list_agent_keys<'e>(
    db: impl PgExecutor<'e>,
    tenant_id: Uuid,
    agent_id: Option<Uuid>,
) -> Result<Vec<AgentKeyRecord>, StoreError> {
    sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM ves_agent_keys \
         WHERE tenant_id = $1 AND ($2::uuid IS NULL OR agent_id = $2) ORDER BY agent_id, key_id"
    ))
    .bind(tenant_id)
    .bind(agent_id)
    .fetch_all(db)
    .await?
    .iter()
    .map(key_from_row)
    .collect()
}

/// Head of a stream without locking (0 when the stream has no row).
pub(crate) async fn head_sequence<'e>(
    db: impl PgExecutor<'e>,
    stream: &StreamKey,
) -> Result<u64, StoreError> {
    let head: Option<i64> = sqlx::query_scalar(
        "SELECT head_sequence FROM ves_streams WHERE tenant_id = $1 AND store_id = $2",
    )
    .bind(stream.tenant_id)
    .bind(stream.store_id)
    .fetch_optional(db)
    .await?;
    head.map_or(Ok(0), |h| u64_of(h, "head_sequence"))
}

/// Head sequence of the stream as a column `head` (0 when it has no row), for one-statement
/// reads.
const HEAD_SUBQUERY: &str = "SELECT coalesce((SELECT head_sequence FROM ves_streams \
     WHERE tenant_id = $1 AND store_id = $2), 0) AS head";

pub(crate) async fn head<'e>(
    db: impl PgExecutor<'e>,
    stream: &StreamKey,
) -> Result<StreamHead, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT h.head, {COMMITMENT_COLUMNS} FROM ({HEAD_SUBQUERY}) h \
         LEFT JOIN LATERAL (SELECT * FROM ves_commitments WHERE tenant_id = $1 \
         AND store_id = $2 ORDER BY seq_end DESC LIMIT 1) c ON true"
    ))
    .bind(stream.tenant_id)
    .bind(stream.store_id)
    .fetch_one(db)
    .await?;
    let latest_commitment = match row.try_get::<Option<i64>, _>("seq_end")? {
        Some(_) => Some(commitment_from_row(&row)?),
        None => None,
    };
    Ok(StreamHead {
        head_sequence: u64_of(row.try_get("head")?, "head_sequence")?,
        latest_commitment,
    })
}

pub(crate) async fn events_from<'e>(
    db: impl PgExecutor<'e>,
    stream: &StreamKey,
    from: u64,
    limit: u32,
) -> Result<EventPage, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT h.head, {EVENT_COLUMNS} FROM ({HEAD_SUBQUERY}) h \
         LEFT JOIN LATERAL (SELECT * FROM ves_events WHERE tenant_id = $1 AND store_id = $2 \
         AND sequence_number >= $3 ORDER BY sequence_number LIMIT $4) e ON true \
         ORDER BY e.sequence_number"
    ))
    .bind(stream.tenant_id)
    .bind(stream.store_id)
    .bind(int(from)?)
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?;
    let head: i64 = match rows.first() {
        Some(row) => row.try_get("head")?,
        None => return Err(StoreError::Backend("head query returned no row".into())),
    };
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        if row.try_get::<Option<Uuid>, _>("event_id")?.is_some() {
            events.push(event_from_row(row)?);
        }
    }
    Ok(EventPage {
        events,
        head_sequence: u64_of(head, "head_sequence")?,
    })
}

pub(crate) async fn event_by_id<'e>(
    db: impl PgExecutor<'e>,
    event_id: Uuid,
) -> Result<Option<StoredEvent>, StoreError> {
    sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM ves_events e WHERE e.event_id = $1"
    ))
    .bind(event_id)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(event_from_row)
    .transpose()
}

pub(crate) async fn leaf_hashes<'e>(
    db: impl PgExecutor<'e>,
    stream: &StreamKey,
    from: u64,
    to: u64,
) -> Result<Vec<Hash32>, StoreError> {
    let rows = sqlx::query(
        "SELECT sequence_number, event_signing_hash, agent_signature FROM ves_events \
         WHERE tenant_id = $1 AND store_id = $2 AND sequence_number BETWEEN $3 AND $4 \
         ORDER BY sequence_number",
    )
    .bind(stream.tenant_id)
    .bind(stream.store_id)
    .bind(int(from)?)
    .bind(int(to)?)
    .fetch_all(db)
    .await?;
    let mut leaves = Vec::with_capacity(rows.len());
    let mut expected = from;
    for row in &rows {
        let seq = u64_of(row.try_get("sequence_number")?, "sequence_number")?;
        if seq != expected {
            return Err(StoreError::Corrupt(format!(
                "sequence {expected} missing from the events table"
            )));
        }
        leaves.push(crate::merkle::leaf_hash(
            &stream.tenant_id,
            &stream.store_id,
            seq,
            &hash_at(row, "event_signing_hash")?,
            &Sig64(array(row.try_get("agent_signature")?, "agent_signature")?),
        ));
        expected += 1;
    }
    if from <= to && expected != to + 1 {
        return Err(StoreError::Corrupt(format!(
            "events {expected}..={to} missing from the events table"
        )));
    }
    Ok(leaves)
}

pub(crate) async fn latest_commitment<'e>(
    db: impl PgExecutor<'e>,
    stream: &StreamKey,
) -> Result<Option<Commitment>, StoreError> {
    sqlx::query(&format!(
        "SELECT {COMMITMENT_COLUMNS} FROM ves_commitments c \
         WHERE c.tenant_id = $1 AND c.store_id = $2 ORDER BY c.seq_end DESC LIMIT 1"
    ))
    .bind(stream.tenant_id)
    .bind(stream.store_id)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(commitment_from_row)
    .transpose()
}

pub(crate) async fn commitments<'e>(
    db: impl PgExecutor<'e>,
    stream: &StreamKey,
    after_seq_end: u64,
    limit: u32,
) -> Result<Vec<Commitment>, StoreError> {
    sqlx::query(&format!(
        "SELECT {COMMITMENT_COLUMNS} FROM ves_commitments c WHERE c.tenant_id = $1 \
         AND c.store_id = $2 AND c.seq_end > $3 ORDER BY c.seq_end LIMIT $4"
    ))
    .bind(stream.tenant_id)
    .bind(stream.store_id)
    .bind(int(after_seq_end)?)
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?
    .iter()
    .map(commitment_from_row)
    .collect()
}

/// The first commitment with `seq_end >= sequence_number`, if it starts at or before it.
pub(crate) async fn commitment_covering<'e>(
    db: impl PgExecutor<'e>,
    stream: &StreamKey,
    sequence_number: u64,
) -> Result<Option<Commitment>, StoreError> {
    Ok(
        commitments(db, stream, sequence_number.saturating_sub(1), 1)
            .await?
            .into_iter()
            .next()
            .filter(|c| c.seq_start <= sequence_number),
    )
}

pub(crate) async fn commitment_by_end<'e>(
    db: impl PgExecutor<'e>,
    stream: &StreamKey,
    seq_end: u64,
) -> Result<Option<Commitment>, StoreError> {
    sqlx::query(&format!(
        "SELECT {COMMITMENT_COLUMNS} FROM ves_commitments c \
         WHERE c.tenant_id = $1 AND c.store_id = $2 AND c.seq_end = $3"
    ))
    .bind(stream.tenant_id)
    .bind(stream.store_id)
    .bind(int(seq_end)?)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(commitment_from_row)
    .transpose()
}

pub(crate) fn cursor_from_row(row: &PgRow) -> Result<SyncCursor, StoreError> {
    Ok(SyncCursor {
        last_pushed_sequence: u64_of(row.try_get("last_pushed")?, "last_pushed")?,
        last_pulled_sequence: u64_of(row.try_get("last_pulled")?, "last_pulled")?,
        last_sync_at: opt_time(row, "last_sync_at")?,
    })
}

pub(crate) async fn sync_cursor<'e>(
    db: impl PgExecutor<'e>,
    stream: &StreamKey,
    agent_id: Uuid,
) -> Result<SyncCursor, StoreError> {
    let row = sqlx::query(
        "SELECT last_pushed, last_pulled, last_sync_at FROM ves_sync_cursors \
         WHERE tenant_id = $1 AND store_id = $2 AND agent_id = $3",
    )
    .bind(stream.tenant_id)
    .bind(stream.store_id)
    .bind(agent_id)
    .fetch_optional(db)
    .await?;
    match row {
        Some(row) => cursor_from_row(&row),
        None => Ok(SyncCursor {
            last_pushed_sequence: 0,
            last_pulled_sequence: 0,
            last_sync_at: None,
        }),
    }
}
