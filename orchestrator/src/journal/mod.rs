//! The append-only run journal in SQLite (WAL, group commit).
//!
//! Writes go through one writer thread that drains everything queued, has the
//! [`JournalSink`] sign and append it to the stream, then inserts it in one transaction
//! (group commit). Entries of all runs are kept in one total order, so a step's completion is
//! always durable before anything a dependent step wrote. Reads use a second connection.

mod entry;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use tokio::sync::oneshot;
use uuid::Uuid;
use ves::Hash32;

pub use entry::{JournalEntry, RunStatus, SignedEntry};
use writer::{Cmd, ErrorSlot};

use crate::error::JournalError;
use crate::hashing;
use crate::receipt::Receipt;
use crate::sink::JournalSink;

/// Journal settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalOptions {
    /// `PRAGMA synchronous = FULL` (fsync on every group commit) instead of `NORMAL`
    /// (durable against process crashes, not power loss).
    pub fsync_every_commit: bool,
}

impl Default for JournalOptions {
    fn default() -> Self {
        Self {
            fsync_every_commit: true,
        }
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    inputs TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    output TEXT,
    receipt TEXT
);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    ves_sequence INTEGER NOT NULL,
    ves_event_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_run ON entries (run_id, seq);
";

struct Inner {
    tx: Option<Sender<Cmd>>,
    writer: Option<JoinHandle<()>>,
    reader: Mutex<Connection>,
    error: ErrorSlot,
    sink: Arc<dyn JournalSink>,
    path: PathBuf,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
    }
}

/// Handle to a journal (cheap to clone). Dropping the last handle flushes and stops the
/// writer thread.
#[derive(Clone)]
pub struct Journal(Arc<Inner>);

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.0.path)
            .finish()
    }
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    /// The entry.
    pub entry: JournalEntry,
    /// Its sequence number in the VES stream.
    pub ves_sequence: u64,
}

/// A run as the journal has it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    /// Run id.
    pub run_id: Uuid,
    /// Definition JSON text.
    pub definition: String,
    /// Effective inputs.
    pub inputs: Value,
    /// Status.
    pub status: RunStatus,
    /// Unix ms at start.
    pub started_at_ms: u64,
    /// Final output (finished runs).
    pub output: Option<Value>,
    /// Receipt (finished runs).
    pub receipt: Option<Receipt>,
    /// Entries in order.
    pub entries: Vec<StoredEntry>,
}

impl StoredRun {
    /// The last successful output of each step, by step id, with the hash recomputed from the
    /// stored output (so that a tampered output is noticed by verification).
    pub fn step_results(&self) -> Vec<(String, Hash32)> {
        let mut last: std::collections::BTreeMap<&str, Hash32> = Default::default();
        for e in &self.entries {
            if let JournalEntry::StepSucceeded { step, output, .. } = &e.entry {
                let h = hashing::step_output_hash(output).unwrap_or(Hash32::ZERO);
                last.insert(step.as_str(), h);
            }
        }
        last.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

fn corrupt(e: impl std::fmt::Display) -> JournalError {
    JournalError::Corrupt(e.to_string())
}

impl Journal {
    /// Opens (or creates) the journal at `path`; `sink` receives every entry as a signed event.
    pub fn open(
        path: impl AsRef<Path>,
        sink: Arc<dyn JournalSink>,
        options: JournalOptions,
    ) -> Result<Self, JournalError> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let sync = if options.fsync_every_commit {
            "FULL"
        } else {
            "NORMAL"
        };
        conn.pragma_update(None, "synchronous", sync)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        let reader = Connection::open(&path)?;
        reader.busy_timeout(std::time::Duration::from_secs(10))?;
        let (tx, rx) = std::sync::mpsc::channel();
        let error: ErrorSlot = Arc::default();
        let (err2, sink2) = (error.clone(), sink.clone());
        let writer = std::thread::Builder::new()
            .name("orchestrator-journal".into())
            .spawn(move || writer::run(conn, sink2, rx, err2))
            .map_err(|e| JournalError::WriterStopped(e.to_string()))?;
        Ok(Self(Arc::new(Inner {
            tx: Some(tx),
            writer: Some(writer),
            reader: Mutex::new(reader),
            error,
            sink,
            path,
        })))
    }

    /// The sink.
    pub fn sink(&self) -> &Arc<dyn JournalSink> {
        &self.0.sink
    }

    /// The first write error, if the writer has failed.
    pub fn health(&self) -> Result<(), JournalError> {
        match &*self.0.error.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn send(&self, cmd: Cmd) -> Result<(), JournalError> {
        self.health()?;
        self.0
            .tx
            .as_ref()
            .ok_or_else(|| JournalError::WriterStopped("closed".into()))?
            .send(cmd)
            .map_err(|_| JournalError::WriterStopped("writer thread exited".into()))
    }

    pub(crate) fn start_run(
        &self,
        run_id: Uuid,
        definition: String,
        inputs: &Value,
        entry: JournalEntry,
        started_at_ms: u64,
    ) -> Result<(), JournalError> {
        self.send(Cmd::Start {
            run_id,
            definition,
            inputs: inputs.to_string(),
            started_at_ms,
            entry,
        })
    }

    /// Queues an entry (durable after the next [`Journal::flush`] returns).
    pub fn append(&self, run_id: Uuid, entry: JournalEntry) -> Result<(), JournalError> {
        self.send(Cmd::Append { run_id, entry })
    }

    pub(crate) fn finish_run(
        &self,
        run_id: Uuid,
        status: RunStatus,
        output: &Value,
        receipt: &Receipt,
    ) -> Result<(), JournalError> {
        let receipt = serde_json::to_string(receipt).map_err(corrupt)?;
        self.send(Cmd::Finish {
            run_id,
            status,
            output: output.to_string(),
            receipt,
        })
    }

    /// Waits until everything queued so far is committed.
    pub async fn flush(&self) -> Result<(), JournalError> {
        let (tx, rx) = oneshot::channel();
        self.send(Cmd::Flush(tx))?;
        rx.await
            .map_err(|_| JournalError::WriterStopped("writer thread exited".into()))?
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.0.reader.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs that have not finished (to resume after a restart), oldest first.
    pub fn unfinished_runs(&self) -> Result<Vec<Uuid>, JournalError> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT run_id FROM runs WHERE status = 'running' ORDER BY started_at_ms, run_id",
        )?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter()
            .map(|s| Uuid::parse_str(s).map_err(corrupt))
            .collect()
    }

    /// The most recent runs, newest first: `(run id, status, started at ms)`.
    pub fn recent_runs(&self, limit: usize) -> Result<Vec<(Uuid, String, i64)>, JournalError> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT run_id, status, started_at_ms FROM runs \
             ORDER BY started_at_ms DESC, run_id LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![limit], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, status, at)| Ok((Uuid::parse_str(&id).map_err(corrupt)?, status, at)))
            .collect()
    }

    /// Loads a run with all its entries.
    pub fn load_run(&self, run_id: Uuid) -> Result<StoredRun, JournalError> {
        let conn = self.reader();
        let key = run_id.to_string();
        type Row = (String, String, String, i64, Option<String>, Option<String>);
        let row: Option<Row> = conn
            .query_row(
                "SELECT definition, inputs, status, started_at_ms, output, receipt \
                 FROM runs WHERE run_id = ?1",
                params![key],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()?;
        let (definition, inputs, status, started, output, receipt) =
            row.ok_or_else(|| JournalError::UnknownRun(key.clone()))?;
        let mut stmt = conn.prepare_cached(
            "SELECT body, ves_sequence FROM entries WHERE run_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt
            .query_map(params![key], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut entries = Vec::with_capacity(rows.len());
        for (body, seq) in rows {
            entries.push(StoredEntry {
                entry: serde_json::from_str(&body).map_err(corrupt)?,
                ves_sequence: u64::try_from(seq).map_err(corrupt)?,
            });
        }
        Ok(StoredRun {
            run_id,
            definition,
            inputs: serde_json::from_str(&inputs).map_err(corrupt)?,
            status: RunStatus::parse(&status).ok_or_else(|| corrupt(&status))?,
            started_at_ms: u64::try_from(started).map_err(corrupt)?,
            output: output
                .map(|o| serde_json::from_str(&o))
                .transpose()
                .map_err(corrupt)?,
            receipt: receipt
                .map(|r| serde_json::from_str(&r))
                .transpose()
                .map_err(corrupt)?,
            entries,
        })
    }
}
