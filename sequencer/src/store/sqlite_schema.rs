//! SQLite connection settings and schema migrations (tracked in `PRAGMA user_version`).
//!
//! Durability: `journal_mode = WAL` with `synchronous = FULL`. In WAL mode `NORMAL` only
//! syncs at checkpoints, so a transaction acknowledged to a client could vanish on power
//! loss; `FULL` fsyncs the WAL on every commit, so an acknowledged event survives a process
//! kill *and* an OS crash or power cut. The cost is one fsync per batch, which is why
//! clients should batch events.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// Schema versions, applied in order; entry `i` upgrades `user_version` `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema. UUIDs, hashes and signatures are BLOBs; times are RFC 3339 text.
    r#"
    CREATE TABLE agent_keys (
        tenant_id   BLOB NOT NULL,
        agent_id    BLOB NOT NULL,
        key_id      INTEGER NOT NULL,
        public_key  BLOB NOT NULL,
        valid_from  TEXT NOT NULL,
        valid_to    TEXT,
        revoked_at  TEXT,
        PRIMARY KEY (tenant_id, agent_id, key_id)
    ) WITHOUT ROWID;

    CREATE TABLE streams (
        tenant_id      BLOB NOT NULL,
        store_id       BLOB NOT NULL,
        head_sequence  INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, store_id)
    ) WITHOUT ROWID;

    CREATE TABLE events (
        tenant_id           BLOB NOT NULL,
        store_id            BLOB NOT NULL,
        sequence_number     INTEGER NOT NULL,
        event_id            BLOB NOT NULL,
        command_id          BLOB,
        entity_type         TEXT NOT NULL,
        entity_id           TEXT NOT NULL,
        content_hash        BLOB NOT NULL,
        event_signing_hash  BLOB NOT NULL,
        agent_signature     BLOB NOT NULL,
        envelope            TEXT NOT NULL,
        receipt             TEXT NOT NULL,
        PRIMARY KEY (tenant_id, store_id, sequence_number)
    );
    CREATE UNIQUE INDEX events_by_id ON events (event_id);
    CREATE UNIQUE INDEX events_by_command ON events (tenant_id, store_id, command_id)
        WHERE command_id IS NOT NULL;

    CREATE TABLE entities (
        tenant_id    BLOB NOT NULL,
        store_id     BLOB NOT NULL,
        entity_type  TEXT NOT NULL,
        entity_id    TEXT NOT NULL,
        version      INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, store_id, entity_type, entity_id)
    ) WITHOUT ROWID;

    CREATE TABLE commitments (
        tenant_id        BLOB NOT NULL,
        store_id         BLOB NOT NULL,
        seq_start        INTEGER NOT NULL,
        seq_end          INTEGER NOT NULL,
        leaf_count       INTEGER NOT NULL,
        merkle_root      BLOB NOT NULL,
        prev_state_root  BLOB NOT NULL,
        state_root       BLOB NOT NULL,
        created_at       TEXT NOT NULL,
        PRIMARY KEY (tenant_id, store_id, seq_end)
    ) WITHOUT ROWID;

    CREATE TABLE sync_cursors (
        tenant_id     BLOB NOT NULL,
        store_id      BLOB NOT NULL,
        agent_id      BLOB NOT NULL,
        last_pushed   INTEGER NOT NULL,
        last_pulled   INTEGER NOT NULL,
        last_sync_at  TEXT,
        PRIMARY KEY (tenant_id, store_id, agent_id)
    ) WITHOUT ROWID;
    "#,
];

/// Schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")?;
    Ok(())
}

/// Opens the writer connection: WAL, `synchronous = FULL`, migrations applied.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "could not enable WAL mode (journal_mode = {mode})"
        )));
    }
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens a read-only connection to an already migrated database.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    configure(&conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "database schema version {current} is newer than this build ({SCHEMA_VERSION})"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
