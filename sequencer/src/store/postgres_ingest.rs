//! The PostgreSQL ingest transaction (READ COMMITTED):
//!
//! 1. `SELECT head_sequence … FOR UPDATE` on the stream's row in `ves_streams` (created with
//!    `INSERT … ON CONFLICT DO NOTHING` the first time), reading the batch's agent keys in
//!    the same statement. Every batch of the stream, from any process, queues on this row
//!    lock, so sequence assignment is serial per stream while different streams proceed in
//!    parallel;
//! 2. load the rest of the [`BatchSnapshot`]: each statement after the lock sees everything
//!    committed by the previous holder (READ COMMITTED takes a fresh snapshot per statement);
//! 3. [`IngestBatch::resolve`] (on the blocking pool: it signs the receipts);
//! 4. persist events, entity versions, head and the agent's cursor in one statement;
//! 5. `COMMIT`, which returns once the WAL is flushed (`synchronous_commit = on`).
//!
//! The unique `event_id` constraint spans streams, which the stream lock does not
//! serialise: when two batches on different streams carry the same new `event_id`, the
//! second insert fails (`unique_violation`) and the whole transaction is retried, now seeing
//! the stored event (a replay or `duplicate_event_id`). Serialization failures and deadlocks
//! are retried the same way.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use super::codec::{int, time_text};
use super::postgres::{is_retryable, rollback, StoreFailure};
use super::postgres_notify::notify;
use super::postgres_rows::{hash_at, key_from_row, receipt_of, text_of, u64_of};
use super::{BatchSnapshot, ExistingEvent, IngestBatch, Resolution, StoreError, StreamKey};
use crate::keys::AgentKeyRecord;

/// Attempts of one batch before a retryable failure is reported.
const MAX_ATTEMPTS: u32 = 8;

/// Runs one batch, retrying the whole transaction on a lost race (see the module docs).
pub(crate) async fn ingest(
    pool: &PgPool,
    channel: &str,
    batch: IngestBatch,
) -> Result<Resolution, StoreError> {
    let mut attempt = 1;
    loop {
        match ingest_once(pool, channel, batch.clone()).await {
            Ok(resolution) => return Ok(resolution),
            Err(StoreFailure::Sql(e)) if attempt < MAX_ATTEMPTS && is_retryable(&e) => {
                tracing::debug!(attempt, error = %e, "retrying ingest transaction");
                tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 2)).await;
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

async fn ingest_once(
    pool: &PgPool,
    channel: &str,
    batch: IngestBatch,
) -> Result<Resolution, StoreFailure> {
    let mut tx = pool.begin().await?;
    match ingest_in(&mut tx, channel, batch).await {
        Ok(resolution) => {
            tx.commit().await?;
            Ok(resolution)
        }
        Err(e) => {
            rollback(tx).await;
            Err(e)
        }
    }
}

async fn ingest_in(
    tx: &mut PgConnection,
    channel: &str,
    batch: IngestBatch,
) -> Result<Resolution, StoreFailure> {
    let (head, keys) = lock_stream(&mut *tx, &batch).await?;
    let snapshot = load_snapshot(&mut *tx, &batch, head, keys).await?;
    let (stream, agent_id) = (batch.stream, batch.agent_id);
    // Signing receipts is CPU work (one Ed25519 signature per accepted event): off the async
    // workers, as the SQLite backend runs its whole transaction.
    let resolution = tokio::task::spawn_blocking(move || batch.resolve(snapshot, Utc::now()))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?;
    if !resolution.appended.is_empty() {
        persist(tx, &stream, agent_id, &resolution).await?;
        // Delivered to every listening process if (and when) this transaction commits.
        notify(tx, channel, &stream, resolution.head_sequence).await?;
    }
    Ok(resolution)
}

/// The stream's head under its row lock (`… FOR UPDATE`, held until commit) and the
/// batch's agent keys, in one statement; `None` when the stream has no row yet.
///
/// The keys are read with the statement's snapshot, taken before any wait for the lock: a
/// revocation committed before this transaction began is always seen.
async fn lock_stream_and_read_keys(
    conn: &mut PgConnection,
    batch: &IngestBatch,
) -> Result<Option<(u64, HashMap<u32, AgentKeyRecord>)>, StoreFailure> {
    let key_ids: Vec<i64> = batch.key_ids().into_iter().map(i64::from).collect();
    let rows = sqlx::query(
        "SELECT s.head_sequence, k.tenant_id, k.agent_id, k.key_id, k.public_key, \
         k.valid_from, k.valid_to, k.revoked_at \
         FROM (SELECT head_sequence FROM ves_streams \
               WHERE tenant_id = $1 AND store_id = $2 FOR UPDATE) AS s \
         LEFT JOIN ves_agent_keys k \
           ON k.tenant_id = $1 AND k.agent_id = $3 AND k.key_id = ANY($4)",
    )
    .bind(batch.stream.tenant_id)
    .bind(batch.stream.store_id)
    .bind(batch.agent_id)
    .bind(&key_ids)
    .fetch_all(conn)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let head = u64_of(first.try_get("head_sequence")?, "head_sequence")?;
    let mut keys = HashMap::new();
    for row in &rows {
        if row.try_get::<Option<Uuid>, _>("agent_id")?.is_some() {
            let record = key_from_row(row)?;
            keys.insert(record.key_id, record);
        }
    }
    Ok(Some((head, keys)))
}

/// Locks the stream's row (creating it on the first batch); returns its head and the keys.
async fn lock_stream(
    conn: &mut PgConnection,
    batch: &IngestBatch,
) -> Result<(u64, HashMap<u32, AgentKeyRecord>), StoreFailure> {
    if let Some(locked) = lock_stream_and_read_keys(&mut *conn, batch).await? {
        return Ok(locked);
    }
    sqlx::query(
        "INSERT INTO ves_streams (tenant_id, store_id, head_sequence) VALUES ($1, $2, 0) \
         ON CONFLICT (tenant_id, store_id) DO NOTHING",
    )
    .bind(batch.stream.tenant_id)
    .bind(batch.stream.store_id)
    .execute(&mut *conn)
    .await?;
    lock_stream_and_read_keys(conn, batch)
        .await?
        .ok_or_else(|| StoreError::Backend("stream row vanished after insert".into()).into())
}

/// Everything else the batch names, read after the lock: stored events with its event ids
/// (any stream) and holders of its command ids (this stream) in one statement, then the
/// versions of the entities it checks.
async fn load_snapshot(
    conn: &mut PgConnection,
    batch: &IngestBatch,
    head_sequence: u64,
    keys: HashMap<u32, AgentKeyRecord>,
) -> Result<BatchSnapshot, StoreFailure> {
    let stream = &batch.stream;
    let mut snapshot = BatchSnapshot {
        head_sequence,
        keys,
        ..BatchSnapshot::default()
    };

    let event_ids = batch.event_ids();
    let command_ids = batch.command_ids();
    let rows = sqlx::query(
        "SELECT tenant_id, store_id, event_id, command_id, content_hash, receipt \
         FROM ves_events WHERE event_id = ANY($1) \
         OR (tenant_id = $2 AND store_id = $3 AND command_id = ANY($4))",
    )
    .bind(event_ids.iter().copied().collect::<Vec<Uuid>>())
    .bind(stream.tenant_id)
    .bind(stream.store_id)
    .bind(command_ids.iter().copied().collect::<Vec<Uuid>>())
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        let event_id: Uuid = row.try_get("event_id")?;
        if event_ids.contains(&event_id) {
            let receipt: String = row.try_get("receipt")?;
            snapshot.events.insert(
                event_id,
                ExistingEvent {
                    content_hash: hash_at(row, "content_hash")?,
                    receipt: receipt_of(&receipt)?,
                },
            );
        }
        let command_id: Option<Uuid> = row.try_get("command_id")?;
        let same_stream = row.try_get::<Uuid, _>("tenant_id")? == stream.tenant_id
            && row.try_get::<Uuid, _>("store_id")? == stream.store_id;
        if let Some(command_id) = command_id.filter(|c| same_stream && command_ids.contains(c)) {
            snapshot.commands.insert(command_id, event_id);
        }
    }

    let entities = batch.checked_entities();
    if !entities.is_empty() {
        let (types, ids): (Vec<Vec<u8>>, Vec<Vec<u8>>) = entities
            .iter()
            .map(|(t, i)| (t.as_bytes().to_vec(), i.as_bytes().to_vec()))
            .unzip();
        let rows = sqlx::query(
            "SELECT e.entity_type, e.entity_id, e.version FROM ves_entities e \
             JOIN UNNEST($3::bytea[], $4::bytea[]) AS k (entity_type, entity_id) \
             ON e.entity_type = k.entity_type AND e.entity_id = k.entity_id \
             WHERE e.tenant_id = $1 AND e.store_id = $2",
        )
        .bind(stream.tenant_id)
        .bind(stream.store_id)
        .bind(&types)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            let entity = (
                text_of(row.try_get("entity_type")?, "entity_type")?,
                text_of(row.try_get("entity_id")?, "entity_id")?,
            );
            let version = u64_of(row.try_get("version")?, "entity version")?;
            snapshot.entity_versions.insert(entity, version);
        }
    }

    Ok(snapshot)
}

/// Column arrays of the appended events, for one `INSERT … SELECT FROM UNNEST(…)`.
#[derive(Default)]
struct EventColumns {
    sequence_number: Vec<i64>,
    event_id: Vec<Uuid>,
    command_id: Vec<Option<Uuid>>,
    entity_type: Vec<Vec<u8>>,
    entity_id: Vec<Vec<u8>>,
    content_hash: Vec<Vec<u8>>,
    event_signing_hash: Vec<Vec<u8>>,
    agent_signature: Vec<Vec<u8>>,
    envelope: Vec<String>,
    receipt: Vec<String>,
}

fn event_columns(resolution: &Resolution) -> Result<EventColumns, StoreError> {
    let mut c = EventColumns::default();
    for e in &resolution.appended {
        c.sequence_number.push(int(e.sequence_number)?);
        c.event_id.push(e.event_id);
        c.command_id.push(e.command_id);
        c.entity_type.push(e.entity_type.as_bytes().to_vec());
        c.entity_id.push(e.entity_id.as_bytes().to_vec());
        c.content_hash.push(e.content_hash.0.to_vec());
        c.event_signing_hash.push(e.event_signing_hash.0.to_vec());
        c.agent_signature.push(e.agent_signature.0.to_vec());
        c.envelope.push(e.envelope_json.clone());
        c.receipt.push(
            serde_json::to_string(&e.receipt)
                .map_err(|e| StoreError::Backend(format!("encoding receipt: {e}")))?,
        );
    }
    Ok(c)
}

/// Events, entity versions, the head and the agent's `last_pushed` cursor in one statement
/// (data-modifying CTEs all run to completion, in one round trip).
async fn persist(
    conn: &mut PgConnection,
    stream: &StreamKey,
    agent_id: Uuid,
    resolution: &Resolution,
) -> Result<(), StoreFailure> {
    let c = event_columns(resolution)?;
    let increments: &HashMap<(String, String), u64> = &resolution.entity_increments;
    let mut entity_types = Vec::with_capacity(increments.len());
    let mut entity_ids = Vec::with_capacity(increments.len());
    let mut entity_increments = Vec::with_capacity(increments.len());
    for ((entity_type, entity_id), increment) in increments {
        entity_types.push(entity_type.as_bytes().to_vec());
        entity_ids.push(entity_id.as_bytes().to_vec());
        entity_increments.push(int(*increment)?);
    }
    sqlx::query(
        "WITH new_events AS ( \
             INSERT INTO ves_events (tenant_id, store_id, sequence_number, event_id, \
             command_id, entity_type, entity_id, content_hash, event_signing_hash, \
             agent_signature, envelope, receipt) \
             SELECT $1, $2, u.* FROM UNNEST($3::bigint[], $4::uuid[], $5::uuid[], \
             $6::bytea[], $7::bytea[], $8::bytea[], $9::bytea[], $10::bytea[], $11::text[], \
             $12::text[]) AS u \
         ), versions AS ( \
             INSERT INTO ves_entities (tenant_id, store_id, entity_type, entity_id, version) \
             SELECT $1, $2, v.* FROM UNNEST($13::bytea[], $14::bytea[], $15::bigint[]) AS v \
             ON CONFLICT (tenant_id, store_id, entity_type, entity_id) \
             DO UPDATE SET version = ves_entities.version + EXCLUDED.version \
         ), head AS ( \
             UPDATE ves_streams SET head_sequence = $16 \
             WHERE tenant_id = $1 AND store_id = $2 \
         ) \
         INSERT INTO ves_sync_cursors (tenant_id, store_id, agent_id, last_pushed, \
         last_pulled, last_sync_at) VALUES ($1, $2, $17, $16, 0, $18) \
         ON CONFLICT (tenant_id, store_id, agent_id) DO UPDATE SET \
         last_pushed = GREATEST(ves_sync_cursors.last_pushed, EXCLUDED.last_pushed), \
         last_sync_at = EXCLUDED.last_sync_at",
    )
    .bind(stream.tenant_id)
    .bind(stream.store_id)
    .bind(&c.sequence_number)
    .bind(&c.event_id)
    .bind(&c.command_id)
    .bind(&c.entity_type)
    .bind(&c.entity_id)
    .bind(&c.content_hash)
    .bind(&c.event_signing_hash)
    .bind(&c.agent_signature)
    .bind(&c.envelope)
    .bind(&c.receipt)
    .bind(&entity_types)
    .bind(&entity_ids)
    .bind(&entity_increments)
    .bind(int(resolution.head_sequence)?)
    .bind(agent_id)
    .bind(time_text(&Utc::now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
