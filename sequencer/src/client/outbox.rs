//! Offline-first outbox (SQLite): events are signed locally and stored until the sequencer
//! returns a receipt or a rejection; local sync cursors (last pushed / last pulled / head)
//! survive restarts. Pushing and pulling are in `outbox_sync.rs` ([`Outbox::sync`],
//! [`Outbox::pull_new`]).
//!
//! Every write is one SQLite transaction with `synchronous = FULL`: an event `emit` returned
//! is on disk, and a receipt is stored before `sync` reports it.

use std::path::Path;

use ed25519_dalek::SigningKey;
use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::ClientError;
use crate::envelope::{EventEnvelope, NewEvent};
use crate::error::VesError;
use crate::receipt::SignedReceipt;
use crate::store::StreamKey;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    envelope_json TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    sequence_number INTEGER,
    receipt_json TEXT,
    reject_reason TEXT,
    reject_message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (status, id);
CREATE TABLE IF NOT EXISTS sync_state (
    tenant_id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    last_pushed INTEGER NOT NULL DEFAULT 0,
    last_pulled INTEGER NOT NULL DEFAULT 0,
    head INTEGER NOT NULL DEFAULT 0,
    last_sync_at TEXT,
    PRIMARY KEY (tenant_id, store_id, agent_id)
);
";

/// An outbox error.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// SQLite.
    #[error("outbox database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Signing or envelope error.
    #[error(transparent)]
    Ves(#[from] VesError),
    /// Talking to the server.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Stored data that does not parse, or a receipt that does not verify.
    #[error("outbox: {0}")]
    Invalid(String),
}

/// State of an outbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Not yet acknowledged.
    Pending,
    /// Receipt stored.
    Accepted,
    /// Rejected by the sequencer.
    Rejected,
}

impl EntryStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<Self, OutboxError> {
        match s {
            "pending" => Ok(Self::Pending),
            "accepted" => Ok(Self::Accepted),
            "rejected" => Ok(Self::Rejected),
            other => Err(OutboxError::Invalid(format!("unknown status {other}"))),
        }
    }
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    /// Local order.
    pub id: i64,
    /// Event id.
    pub event_id: Uuid,
    /// Stream.
    pub stream: StreamKey,
    /// Signing agent.
    pub agent_id: Uuid,
    /// The signed envelope as sent.
    pub envelope_json: String,
    /// Status.
    pub status: EntryStatus,
    /// Receipt, once accepted.
    pub receipt: Option<SignedReceipt>,
    /// `(reason, message)`, once rejected.
    pub rejection: Option<(String, String)>,
    /// Push attempts.
    pub attempts: u32,
}

/// Local sync cursors of `(stream, agent)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LocalSyncState {
    /// Highest sequence number of an own event with a receipt.
    pub last_pushed: u64,
    /// Durable pull cursor: every event up to here was delivered.
    pub last_pulled: u64,
    /// Stream head last seen.
    pub head: u64,
    /// Last sync time (RFC 3339).
    pub last_sync_at: Option<String>,
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    /// Pending.
    pub pending: u64,
    /// Accepted.
    pub accepted: u64,
    /// Rejected.
    pub rejected: u64,
}

/// The outbox.
#[derive(Debug)]
pub struct Outbox {
    conn: Mutex<Connection>,
}

fn parse_uuid(s: &str) -> Result<Uuid, OutboxError> {
    Uuid::parse_str(s).map_err(|e| OutboxError::Invalid(e.to_string()))
}

type RawEntry = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    u32,
);

const ENTRY_COLUMNS: &str = "id, event_id, tenant_id, store_id, agent_id, envelope_json, status, \
     receipt_json, reject_reason, reject_message, attempts";

fn read_raw(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawEntry> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
    ))
}

fn entry(raw: RawEntry) -> Result<OutboxEntry, OutboxError> {
    let (
        id,
        event_id,
        tenant,
        store,
        agent,
        envelope_json,
        status,
        receipt,
        reason,
        message,
        attempts,
    ) = raw;
    let receipt = receipt
        .map(|r| serde_json::from_str(&r).map_err(|e| OutboxError::Invalid(e.to_string())))
        .transpose()?;
    Ok(OutboxEntry {
        id,
        event_id: parse_uuid(&event_id)?,
        stream: StreamKey::new(parse_uuid(&tenant)?, parse_uuid(&store)?),
        agent_id: parse_uuid(&agent)?,
        envelope_json,
        status: EntryStatus::parse(&status)?,
        receipt,
        rejection: reason.map(|r| (r, message.unwrap_or_default())),
        attempts,
    })
}

impl Outbox {
    pub(crate) fn conn(&self) -> &Mutex<Connection> {
        &self.conn
    }

    /// Opens (creating) the outbox database at `path`.
    pub fn open(path: &Path) -> Result<Self, OutboxError> {
        Self::init(Connection::open(path)?)
    }

    /// An in-memory outbox (tests).
    pub fn open_in_memory() -> Result<Self, OutboxError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, OutboxError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Signs `event` with `payload` (plaintext) and stores it as pending.
    pub fn emit(
        &self,
        event: NewEvent,
        payload: Value,
        key: &SigningKey,
    ) -> Result<EventEnvelope, OutboxError> {
        let envelope = event.sign_plain(payload, key)?;
        self.enqueue(&envelope)?;
        Ok(envelope)
    }

    /// Stores an already signed envelope as pending (an identical re-enqueue is a no-op;
    /// a different envelope with the same `event_id` is an error).
    pub fn enqueue(&self, envelope: &EventEnvelope) -> Result<(), OutboxError> {
        let json =
            serde_json::to_string(envelope).map_err(|e| OutboxError::Invalid(e.to_string()))?;
        let conn = self.conn.lock();
        let existing: Option<String> = conn
            .query_row(
                "SELECT envelope_json FROM outbox WHERE event_id = ?1",
                [envelope.event_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        match existing {
            Some(stored) if stored == json => Ok(()),
            Some(_) => Err(OutboxError::Invalid(format!(
                "event {} already in the outbox with different content",
                envelope.event_id
            ))),
            None => {
                conn.execute(
                    "INSERT INTO outbox (event_id, tenant_id, store_id, agent_id, envelope_json) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        envelope.event_id.to_string(),
                        envelope.tenant_id.to_string(),
                        envelope.store_id.to_string(),
                        envelope.source_agent_id.to_string(),
                        json
                    ],
                )?;
                Ok(())
            }
        }
    }

    /// One entry.
    pub fn entry(&self, event_id: Uuid) -> Result<Option<OutboxEntry>, OutboxError> {
        let conn = self.conn.lock();
        let raw = conn
            .query_row(
                &format!("SELECT {ENTRY_COLUMNS} FROM outbox WHERE event_id = ?1"),
                [event_id.to_string()],
                read_raw,
            )
            .optional()?;
        raw.map(entry).transpose()
    }

    /// Every entry in local order.
    pub fn entries(&self) -> Result<Vec<OutboxEntry>, OutboxError> {
        self.query(
            &format!("SELECT {ENTRY_COLUMNS} FROM outbox ORDER BY id"),
            params![],
        )
    }

    /// The oldest pending entries of the stream and agent of the oldest pending entry
    /// (one ingest batch), at most `limit`.
    pub fn next_batch(&self, limit: usize) -> Result<Vec<OutboxEntry>, OutboxError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query(
            &format!(
                "SELECT {ENTRY_COLUMNS} FROM outbox WHERE status = 'pending' AND \
                 (tenant_id, store_id, agent_id) = (SELECT tenant_id, store_id, agent_id \
                  FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1) \
                 ORDER BY id LIMIT ?1"
            ),
            params![limit],
        )
    }

    fn query(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<OutboxEntry>, OutboxError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare_cached(sql)?;
        let raws = stmt
            .query_map(params, read_raw)?
            .collect::<Result<Vec<_>, _>>()?;
        raws.into_iter().map(entry).collect()
    }

    /// Counts per status.
    pub fn counts(&self) -> Result<OutboxCounts, OutboxError> {
        let conn = self.conn.lock();
        let mut stmt =
            conn.prepare_cached("SELECT status, COUNT(*) FROM outbox GROUP BY status")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut counts = OutboxCounts::default();
        for (status, n) in rows {
            match EntryStatus::parse(&status)? {
                EntryStatus::Pending => counts.pending = n,
                EntryStatus::Accepted => counts.accepted = n,
                EntryStatus::Rejected => counts.rejected = n,
            }
        }
        Ok(counts)
    }

    /// Records the outcome of one push attempt in one transaction: receipts, rejections
    /// (`(event_id, reason, message)`) and an attempt for each of `attempted`.
    pub fn record_outcome(
        &self,
        attempted: &[Uuid],
        receipts: &[SignedReceipt],
        rejections: &[(Uuid, String, String)],
    ) -> Result<(), OutboxError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        for id in attempted {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1 WHERE event_id = ?1",
                [id.to_string()],
            )?;
        }
        for r in receipts {
            let json = serde_json::to_string(r).map_err(|e| OutboxError::Invalid(e.to_string()))?;
            tx.execute(
                "UPDATE outbox SET status = 'accepted', sequence_number = ?2, receipt_json = ?3, \
                 reject_reason = NULL, reject_message = NULL WHERE event_id = ?1",
                params![r.event_id.to_string(), r.sequence_number, json],
            )?;
        }
        for (id, reason, message) in rejections {
            tx.execute(
                "UPDATE outbox SET status = ?2, reject_reason = ?3, reject_message = ?4 \
                 WHERE event_id = ?1 AND status = 'pending'",
                params![
                    id.to_string(),
                    EntryStatus::Rejected.as_str(),
                    reason,
                    message
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Puts rejected entries back to pending (e.g. after registering a missing key).
    pub fn retry_rejected(&self) -> Result<usize, OutboxError> {
        let conn = self.conn.lock();
        Ok(conn.execute(
            "UPDATE outbox SET status = 'pending', reject_reason = NULL, reject_message = NULL \
             WHERE status = 'rejected'",
            [],
        )?)
    }
}
