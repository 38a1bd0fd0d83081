//! The journal's writer thread: group commit of batched entries, each first signed into the
//! stream by the [`JournalSink`].

use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::entry::{JournalEntry, RunStatus};
use crate::error::JournalError;
use crate::sink::{JournalSink, PendingEvent};

/// Largest group committed at once.
const MAX_BATCH: usize = 4096;

/// A request to the writer.
pub(crate) enum Cmd {
    /// New run row plus its `run_started` entry.
    Start {
        run_id: Uuid,
        definition: String,
        inputs: String,
        started_at_ms: u64,
        entry: JournalEntry,
    },
    /// One entry.
    Append { run_id: Uuid, entry: JournalEntry },
    /// Mark the run finished and store its output and receipt.
    Finish {
        run_id: Uuid,
        status: RunStatus,
        output: String,
        receipt: String,
    },
    /// Reply once everything sent before is durable.
    Flush(oneshot::Sender<Result<(), JournalError>>),
}

pub(crate) type ErrorSlot = Arc<Mutex<Option<JournalError>>>;

pub(crate) fn run(
    mut conn: Connection,
    sink: Arc<dyn JournalSink>,
    rx: Receiver<Cmd>,
    error: ErrorSlot,
) {
    let mut failed: Option<JournalError> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let result = match &failed {
            Some(e) => Err(e.clone()),
            None => write_batch(&mut conn, sink.as_ref(), &batch),
        };
        if let Err(e) = &result {
            if failed.is_none() {
                tracing::error!(error = %e, "journal writer failed; further writes refused");
                failed = Some(e.clone());
                *error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
            }
        }
        for cmd in batch {
            if let Cmd::Flush(ack) = cmd {
                let _ = ack.send(result.clone());
            }
        }
    }
}

fn write_batch(
    conn: &mut Connection,
    sink: &dyn JournalSink,
    batch: &[Cmd],
) -> Result<(), JournalError> {
    let mut pending = Vec::new();
    let mut bodies = Vec::new();
    for cmd in batch {
        let (run_id, entry) = match cmd {
            Cmd::Start { run_id, entry, .. } | Cmd::Append { run_id, entry } => (run_id, entry),
            _ => continue,
        };
        pending.push(PendingEvent {
            run_id: *run_id,
            event_type: entry.event_type(),
            payload: entry.signed_payload(*run_id),
        });
        let body =
            serde_json::to_string(entry).map_err(|e| JournalError::Corrupt(e.to_string()))?;
        bodies.push((*run_id, entry.type_name(), body));
    }
    let emitted = if pending.is_empty() {
        Vec::new()
    } else {
        sink.append(&pending)?
    };
    if emitted.len() != pending.len() {
        return Err(JournalError::WriterStopped(format!(
            "sink returned {} results for {} events",
            emitted.len(),
            pending.len()
        )));
    }
    let tx = conn.transaction()?;
    {
        let mut insert_run = tx.prepare_cached(
            "INSERT INTO runs (run_id, definition, inputs, status, started_at_ms) \
             VALUES (?1, ?2, ?3, 'running', ?4)",
        )?;
        let mut insert_entry = tx.prepare_cached(
            "INSERT INTO entries (run_id, kind, body, ves_sequence, ves_event_id) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut finish = tx.prepare_cached(
            "UPDATE runs SET status = ?2, output = ?3, receipt = ?4 WHERE run_id = ?1",
        )?;
        let mut next = bodies.iter().zip(emitted.iter());
        for cmd in batch {
            match cmd {
                Cmd::Start {
                    run_id,
                    definition,
                    inputs,
                    started_at_ms,
                    ..
                } => {
                    insert_run.execute(params![
                        run_id.to_string(),
                        definition,
                        inputs,
                        i64::try_from(*started_at_ms).unwrap_or(i64::MAX)
                    ])?;
                }
                Cmd::Finish {
                    run_id,
                    status,
                    output,
                    receipt,
                } => {
                    finish.execute(params![
                        run_id.to_string(),
                        status.as_str(),
                        output,
                        receipt
                    ])?;
                    continue;
                }
                Cmd::Append { .. } => {}
                Cmd::Flush(_) => continue,
            }
            if let Some(((run_id, kind, body), ev)) = next.next() {
                insert_entry.execute(params![
                    run_id.to_string(),
                    kind,
                    body,
                    i64::try_from(ev.sequence).unwrap_or(i64::MAX),
                    ev.event_id.to_string()
                ])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}
