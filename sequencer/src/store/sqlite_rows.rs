//! SQLite column codecs and read queries (all through `prepare_cached`).

use chrono::{DateTime, Utc};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};
use uuid::Uuid;

use super::{EventPage, StoreError, StoredEvent, StreamHead, StreamKey, SyncCursor};
use crate::encoding::{Hash32, Sig64};
use crate::keys::{AgentKeyRecord, Ed25519PublicKey};
use crate::receipt::SignedReceipt;
use crate::stream::Commitment;

pub(crate) use super::codec::{int, time_text};

fn bad(idx: usize, ty: Type, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, ty, Box::new(e))
}

fn u64_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    let v: i64 = row.get(idx)?;
    u64::try_from(v).map_err(|e| bad(idx, Type::Integer, e))
}

fn uuid_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Uuid> {
    row.get::<_, [u8; 16]>(idx).map(Uuid::from_bytes)
}

fn time_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    row.get::<_, Option<String>>(idx)?
        .map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| bad(idx, Type::Text, e))
        })
        .transpose()
}

const KEY_COLUMNS: &str =
    "tenant_id, agent_id, key_id, public_key, valid_from, valid_to, revoked_at";

fn key_from_row(row: &Row<'_>) -> rusqlite::Result<AgentKeyRecord> {
    let public_key: [u8; 32] = row.get(3)?;
    Ok(AgentKeyRecord {
        tenant_id: uuid_at(row, 0)?,
        agent_id: uuid_at(row, 1)?,
        key_id: row.get(2)?,
        public_key: Ed25519PublicKey::from_bytes(&public_key).map_err(|e| bad(3, Type::Blob, e))?,
        valid_from: time_at(row, 4)?.ok_or(rusqlite::Error::InvalidColumnType(
            4,
            "valid_from".into(),
            Type::Null,
        ))?,
        valid_to: time_at(row, 5)?,
        revoked_at: time_at(row, 6)?,
    })
}

pub(crate) const EVENT_COLUMNS: &str = "tenant_id, store_id, sequence_number, event_id, \
     command_id, entity_type, entity_id, content_hash, event_signing_hash, agent_signature, \
     envelope, receipt";

pub(crate) fn receipt_from_text(idx: usize, text: &str) -> rusqlite::Result<SignedReceipt> {
    serde_json::from_str(text).map_err(|e| bad(idx, Type::Text, e))
}

fn event_from_row(row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let receipt: String = row.get(11)?;
    Ok(StoredEvent {
        stream: StreamKey::new(uuid_at(row, 0)?, uuid_at(row, 1)?),
        sequence_number: u64_at(row, 2)?,
        event_id: uuid_at(row, 3)?,
        command_id: row.get::<_, Option<[u8; 16]>>(4)?.map(Uuid::from_bytes),
        entity_type: row.get(5)?,
        entity_id: row.get(6)?,
        content_hash: Hash32(row.get(7)?),
        event_signing_hash: Hash32(row.get(8)?),
        agent_signature: Sig64(row.get(9)?),
        envelope_json: row.get(10)?,
        receipt: receipt_from_text(11, &receipt)?,
    })
}

const COMMITMENT_COLUMNS: &str = "tenant_id, store_id, seq_start, seq_end, leaf_count, \
     merkle_root, prev_state_root, state_root";

fn commitment_from_row(row: &Row<'_>) -> rusqlite::Result<Commitment> {
    Ok(Commitment {
        tenant_id: uuid_at(row, 0)?,
        store_id: uuid_at(row, 1)?,
        seq_start: u64_at(row, 2)?,
        seq_end: u64_at(row, 3)?,
        leaf_count: row.get(4)?,
        merkle_root: Hash32(row.get(5)?),
        prev_state_root: Hash32(row.get(6)?),
        state_root: Hash32(row.get(7)?),
    })
}

pub(crate) fn agent_key(
    conn: &Connection,
    tenant_id: &Uuid,
    agent_id: &Uuid,
    key_id: u32,
) -> Result<Option<AgentKeyRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {KEY_COLUMNS} FROM agent_keys \
         WHERE tenant_id = ?1 AND agent_id = ?2 AND key_id = ?3"
    ))?;
    Ok(stmt
        .query_row(
            params![tenant_id.as_bytes(), agent_id.as_bytes(), key_id],
            key_from_row,
        )
        .optional()?)
}

pub(crate) fn list_agent_keys(
    conn: &Connection,
    tenant_id: &Uuid,
    agent_id: Option<&Uuid>,
) -> Result<Vec<AgentKeyRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {KEY_COLUMNS} FROM agent_keys \
         WHERE tenant_id = ?1 AND (?2 IS NULL OR agent_id = ?2) ORDER BY agent_id, key_id"
    ))?;
    let rows = stmt.query_map(
        params![tenant_id.as_bytes(), agent_id.map(|a| a.as_bytes())],
        key_from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn head_sequence(conn: &Connection, stream: &StreamKey) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT head_sequence FROM streams WHERE tenant_id = ?1 AND store_id = ?2",
    )?;
    let head = stmt
        .query_row(
            params![stream.tenant_id.as_bytes(), stream.store_id.as_bytes()],
            |row| u64_at(row, 0),
        )
        .optional()?;
    Ok(head.unwrap_or(0))
}

pub(crate) fn latest_commitment(
    conn: &Connection,
    stream: &StreamKey,
) -> Result<Option<Commitment>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COMMITMENT_COLUMNS} FROM commitments \
         WHERE tenant_id = ?1 AND store_id = ?2 ORDER BY seq_end DESC LIMIT 1"
    ))?;
    Ok(stmt
        .query_row(
            params![stream.tenant_id.as_bytes(), stream.store_id.as_bytes()],
            commitment_from_row,
        )
        .optional()?)
}

pub(crate) fn head(conn: &Connection, stream: &StreamKey) -> Result<StreamHead, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let head = StreamHead {
        head_sequence: head_sequence(&tx, stream)?,
        latest_commitment: latest_commitment(&tx, stream)?,
    };
    tx.finish()?;
    Ok(head)
}

pub(crate) fn events_from(
    conn: &Connection,
    stream: &StreamKey,
    from: u64,
    limit: u32,
) -> Result<EventPage, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let events = {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = ?1 AND store_id = ?2 \
             AND sequence_number >= ?3 ORDER BY sequence_number LIMIT ?4"
        ))?;
        let rows = stmt.query_map(
            params![
                stream.tenant_id.as_bytes(),
                stream.store_id.as_bytes(),
                int(from)?,
                limit
            ],
            event_from_row,
        )?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let head_sequence = head_sequence(&tx, stream)?;
    tx.finish()?;
    Ok(EventPage {
        events,
        head_sequence,
    })
}

pub(crate) fn event_by_id(
    conn: &Connection,
    event_id: &Uuid,
) -> Result<Option<StoredEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE event_id = ?1"
    ))?;
    Ok(stmt
        .query_row(params![event_id.as_bytes()], event_from_row)
        .optional()?)
}

pub(crate) fn leaf_hashes(
    conn: &Connection,
    stream: &StreamKey,
    from: u64,
    to: u64,
) -> Result<Vec<Hash32>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT sequence_number, event_signing_hash, agent_signature FROM events \
         WHERE tenant_id = ?1 AND store_id = ?2 AND sequence_number BETWEEN ?3 AND ?4 \
         ORDER BY sequence_number",
    )?;
    let mut rows = stmt.query(params![
        stream.tenant_id.as_bytes(),
        stream.store_id.as_bytes(),
        int(from)?,
        int(to)?
    ])?;
    let mut leaves = Vec::new();
    let mut expected = from;
    while let Some(row) = rows.next()? {
        let seq = u64_at(row, 0)?;
        if seq != expected {
            return Err(StoreError::Corrupt(format!(
                "sequence {expected} missing from the events table"
            )));
        }
        leaves.push(crate::merkle::leaf_hash(
            &stream.tenant_id,
            &stream.store_id,
            seq,
            &Hash32(row.get(1)?),
            &Sig64(row.get(2)?),
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

pub(crate) fn commitments(
    conn: &Connection,
    stream: &StreamKey,
    after_seq_end: u64,
    limit: u32,
) -> Result<Vec<Commitment>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COMMITMENT_COLUMNS} FROM commitments WHERE tenant_id = ?1 AND store_id = ?2 \
         AND seq_end > ?3 ORDER BY seq_end LIMIT ?4"
    ))?;
    let rows = stmt.query_map(
        params![
            stream.tenant_id.as_bytes(),
            stream.store_id.as_bytes(),
            int(after_seq_end)?,
            limit
        ],
        commitment_from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The first commitment with `seq_end >= sequence_number`, if it starts at or before it.
pub(crate) fn commitment_covering(
    conn: &Connection,
    stream: &StreamKey,
    sequence_number: u64,
) -> Result<Option<Commitment>, StoreError> {
    Ok(
        commitments(conn, stream, sequence_number.saturating_sub(1), 1)?
            .into_iter()
            .next()
            .filter(|c| c.seq_start <= sequence_number),
    )
}

pub(crate) fn commitment_by_end(
    conn: &Connection,
    stream: &StreamKey,
    seq_end: u64,
) -> Result<Option<Commitment>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COMMITMENT_COLUMNS} FROM commitments \
         WHERE tenant_id = ?1 AND store_id = ?2 AND seq_end = ?3"
    ))?;
    Ok(stmt
        .query_row(
            params![
                stream.tenant_id.as_bytes(),
                stream.store_id.as_bytes(),
                int(seq_end)?
            ],
            commitment_from_row,
        )
        .optional()?)
}

pub(crate) fn sync_cursor(
    conn: &Connection,
    stream: &StreamKey,
    agent_id: &Uuid,
) -> Result<SyncCursor, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT last_pushed, last_pulled, last_sync_at FROM sync_cursors \
         WHERE tenant_id = ?1 AND store_id = ?2 AND agent_id = ?3",
    )?;
    let cursor = stmt
        .query_row(
            params![
                stream.tenant_id.as_bytes(),
                stream.store_id.as_bytes(),
                agent_id.as_bytes()
            ],
            |row| {
                Ok(SyncCursor {
                    last_pushed_sequence: u64_at(row, 0)?,
                    last_pulled_sequence: u64_at(row, 1)?,
                    last_sync_at: time_at(row, 2)?,
                })
            },
        )
        .optional()?;
    Ok(cursor.unwrap_or(SyncCursor {
        last_pushed_sequence: 0,
        last_pulled_sequence: 0,
        last_sync_at: None,
    }))
}
