//! The SQLite ingest transaction: `BEGIN IMMEDIATE` (the single writer lock), then for each
//! batch of the group its snapshot, [`IngestBatch::resolve`], persist; then one `COMMIT`
//! (fsync, see `sqlite_schema`) for the whole group.

use chrono::Utc;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::sqlite_rows::{agent_key, head_sequence, int, receipt_from_text};
use super::{BatchSnapshot, ExistingEvent, IngestBatch, Resolution, StoreError, StreamKey};
use crate::encoding::Hash32;

fn load_snapshot(conn: &Connection, batch: &IngestBatch) -> Result<BatchSnapshot, StoreError> {
    let stream = &batch.stream;
    let (tenant, store) = (stream.tenant_id.as_bytes(), stream.store_id.as_bytes());
    let mut snapshot = BatchSnapshot {
        head_sequence: head_sequence(conn, stream)?,
        ..BatchSnapshot::default()
    };

    let mut by_id =
        conn.prepare_cached("SELECT content_hash, receipt FROM events WHERE event_id = ?1")?;
    for event_id in batch.event_ids() {
        let found = by_id
            .query_row(params![event_id.as_bytes()], |row| {
                let receipt: String = row.get(1)?;
                Ok(ExistingEvent {
                    content_hash: Hash32(row.get(0)?),
                    receipt: receipt_from_text(1, &receipt)?,
                })
            })
            .optional()?;
        if let Some(existing) = found {
            snapshot.events.insert(event_id, existing);
        }
    }

    let mut by_command = conn.prepare_cached(
        "SELECT event_id FROM events WHERE tenant_id = ?1 AND store_id = ?2 AND command_id = ?3",
    )?;
    for command_id in batch.command_ids() {
        let holder: Option<[u8; 16]> = by_command
            .query_row(params![tenant, store, command_id.as_bytes()], |row| {
                row.get(0)
            })
            .optional()?;
        if let Some(holder) = holder {
            snapshot
                .commands
                .insert(command_id, uuid::Uuid::from_bytes(holder));
        }
    }

    let mut version = conn.prepare_cached(
        "SELECT version FROM entities WHERE tenant_id = ?1 AND store_id = ?2 \
         AND entity_type = ?3 AND entity_id = ?4",
    )?;
    for entity in batch.checked_entities() {
        let v: Option<i64> = version
            .query_row(params![tenant, store, entity.0, entity.1], |row| row.get(0))
            .optional()?;
        if let Some(v) = v {
            let v = u64::try_from(v)
                .map_err(|_| StoreError::Corrupt(format!("negative entity version {v}")))?;
            snapshot.entity_versions.insert(entity, v);
        }
    }

    for key_id in batch.key_ids() {
        if let Some(record) = agent_key(conn, &stream.tenant_id, &batch.agent_id, key_id)? {
            snapshot.keys.insert(key_id, record);
        }
    }
    Ok(snapshot)
}

fn persist(
    conn: &Connection,
    stream: &StreamKey,
    agent_id: &uuid::Uuid,
    resolution: &Resolution,
) -> Result<(), StoreError> {
    if resolution.appended.is_empty() {
        return Ok(());
    }
    let (tenant, store) = (stream.tenant_id.as_bytes(), stream.store_id.as_bytes());
    let mut insert = conn.prepare_cached(
        "INSERT INTO events (tenant_id, store_id, sequence_number, event_id, command_id, \
         entity_type, entity_id, content_hash, event_signing_hash, agent_signature, envelope, \
         receipt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for event in &resolution.appended {
        let receipt = serde_json::to_string(&event.receipt)
            .map_err(|e| StoreError::Backend(format!("encoding receipt: {e}")))?;
        insert.execute(params![
            tenant,
            store,
            int(event.sequence_number)?,
            event.event_id.as_bytes(),
            event.command_id.as_ref().map(|c| c.as_bytes()),
            event.entity_type,
            event.entity_id,
            event.content_hash.0,
            event.event_signing_hash.0,
            event.agent_signature.0,
            event.envelope_json,
            receipt,
        ])?;
    }

    let mut bump = conn.prepare_cached(
        "INSERT INTO entities (tenant_id, store_id, entity_type, entity_id, version) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant_id, store_id, entity_type, entity_id) \
         DO UPDATE SET version = version + excluded.version",
    )?;
    for ((entity_type, entity_id), increment) in &resolution.entity_increments {
        bump.execute(params![
            tenant,
            store,
            entity_type,
            entity_id,
            int(*increment)?
        ])?;
    }

    let head = int(resolution.head_sequence)?;
    conn.prepare_cached(
        "INSERT INTO streams (tenant_id, store_id, head_sequence) VALUES (?1, ?2, ?3) \
         ON CONFLICT (tenant_id, store_id) DO UPDATE SET head_sequence = excluded.head_sequence",
    )?
    .execute(params![tenant, store, head])?;

    conn.prepare_cached(
        "INSERT INTO sync_cursors (tenant_id, store_id, agent_id, last_pushed, last_pulled, \
         last_sync_at) VALUES (?1, ?2, ?3, ?4, 0, ?5) \
         ON CONFLICT (tenant_id, store_id, agent_id) DO UPDATE SET \
         last_pushed = MAX(last_pushed, excluded.last_pushed), \
         last_sync_at = excluded.last_sync_at",
    )?
    .execute(params![
        tenant,
        store,
        agent_id.as_bytes(),
        head,
        super::sqlite_rows::time_text(&Utc::now())
    ])?;
    Ok(())
}

/// One batch waiting for the writer, and where its answer goes.
pub(crate) struct PendingIngest {
    pub batch: IngestBatch,
    pub reply: tokio::sync::oneshot::Sender<Result<Resolution, StoreError>>,
}

/// Runs one batch inside the open transaction.
fn ingest_one(tx: &Connection, batch: IngestBatch) -> Result<Resolution, StoreError> {
    let snapshot = load_snapshot(tx, &batch)?;
    let (stream, agent_id) = (batch.stream, batch.agent_id);
    let resolution = batch.resolve(snapshot, Utc::now());
    persist(tx, &stream, &agent_id, &resolution)?;
    Ok(resolution)
}

/// Runs `batches` in arrival order in one `IMMEDIATE` transaction (each sees the ones before
/// it) and commits once; all or nothing.
fn run_group(
    conn: &mut Connection,
    batches: Vec<IngestBatch>,
) -> Result<Vec<Resolution>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let resolutions = batches
        .into_iter()
        .map(|batch| ingest_one(&tx, batch))
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit()?;
    Ok(resolutions)
}

/// Group commit: every pending batch in one transaction with one fsync; each batch is
/// answered only after that commit. If the group fails (an SQLite error in any batch, or the
/// commit), nothing of it is stored and each batch is run again alone, so that one batch's
/// trouble is reported to that batch only.
pub(crate) fn ingest_group(conn: &mut Connection, group: Vec<PendingIngest>) {
    if group.len() > 1 {
        let batches = group.iter().map(|p| p.batch.clone()).collect();
        if let Ok(resolutions) = run_group(conn, batches) {
            for (pending, resolution) in group.into_iter().zip(resolutions) {
                // A caller that went away is not an error: its batch is stored all the same.
                let _ = pending.reply.send(Ok(resolution));
            }
            return;
        }
    }
    for pending in group {
        let result = run_group(conn, vec![pending.batch]).and_then(|mut r| {
            r.pop()
                .ok_or_else(|| StoreError::Backend("empty group result".to_owned()))
        });
        let _ = pending.reply.send(result);
    }
}
