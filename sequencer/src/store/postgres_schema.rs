//! PostgreSQL schema migrations, applied on open by every process that connects.
//!
//! Migrations run in one transaction under a transaction-scoped advisory lock, so several
//! sequencer processes starting at once against a fresh database apply each migration
//! exactly once; the applied versions are rows of `ves_schema_migrations`.
//!
//! Column choices: UUIDs are `uuid`; hashes and signatures `bytea`; sequence numbers and
//! versions `bigint`; `entity_type` / `entity_id` are `bytea` holding their UTF-8 bytes (a JSON
//! string may contain `\u0000`, which PostgreSQL `text` cannot store); times are RFC 3339
//! `text` with full precision (`timestamptz` keeps microseconds only, and a key's
//! `valid_from` must round-trip exactly); envelopes and receipts are `text` (the envelope
//! exactly as sent; `jsonb` would reorder it).

use sqlx::{Connection, Executor, PgConnection, Row};

use super::postgres::rollback;
use super::StoreError;

/// Advisory lock key held while migrating ("VESMIGR1" as ASCII bytes).
const MIGRATION_LOCK: i64 = 0x5645_534d_4947_5231;

/// Schema versions, applied in order; entry `i` creates version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    r#"
    CREATE TABLE ves_agent_keys (
        tenant_id   uuid   NOT NULL,
        agent_id    uuid   NOT NULL,
        key_id      bigint NOT NULL CHECK (key_id BETWEEN 0 AND 4294967295),
        public_key  bytea  NOT NULL CHECK (octet_length(public_key) = 32),
        valid_from  text   NOT NULL,
        valid_to    text,
        revoked_at  text,
        PRIMARY KEY (tenant_id, agent_id, key_id)
    );

    -- One row per stream: the row locked (SELECT ... FOR UPDATE) by every ingest batch.
    CREATE TABLE ves_streams (
        tenant_id      uuid   NOT NULL,
        store_id       uuid   NOT NULL,
        head_sequence  bigint NOT NULL CHECK (head_sequence >= 0),
        PRIMARY KEY (tenant_id, store_id)
    );

    CREATE TABLE ves_events (
        tenant_id           uuid   NOT NULL,
        store_id            uuid   NOT NULL,
        sequence_number     bigint NOT NULL CHECK (sequence_number > 0),
        event_id            uuid   NOT NULL,
        command_id          uuid,
        entity_type         bytea  NOT NULL,
        entity_id           bytea  NOT NULL,
        content_hash        bytea  NOT NULL,
        event_signing_hash  bytea  NOT NULL,
        agent_signature     bytea  NOT NULL,
        envelope            text   NOT NULL,
        receipt             text   NOT NULL,
        PRIMARY KEY (tenant_id, store_id, sequence_number),
        CONSTRAINT ves_events_event_id_key UNIQUE (event_id)
    );
    CREATE UNIQUE INDEX ves_events_by_command ON ves_events (tenant_id, store_id, command_id)
        WHERE command_id IS NOT NULL;

    CREATE TABLE ves_entities (
        tenant_id    uuid   NOT NULL,
        store_id     uuid   NOT NULL,
        entity_type  bytea  NOT NULL,
        entity_id    bytea  NOT NULL,
        version      bigint NOT NULL CHECK (version >= 0),
        PRIMARY KEY (tenant_id, store_id, entity_type, entity_id)
    );

    CREATE TABLE ves_commitments (
        tenant_id        uuid        NOT NULL,
        store_id         uuid        NOT NULL,
        seq_start        bigint      NOT NULL,
        seq_end          bigint      NOT NULL,
        leaf_count       bigint      NOT NULL,
        merkle_root      bytea       NOT NULL,
        prev_state_root  bytea       NOT NULL,
        state_root       bytea       NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, store_id, seq_end),
        UNIQUE (tenant_id, store_id, seq_start)
    );

    CREATE TABLE ves_sync_cursors (
        tenant_id     uuid   NOT NULL,
        store_id      uuid   NOT NULL,
        agent_id      uuid   NOT NULL,
        last_pushed   bigint NOT NULL,
        last_pulled   bigint NOT NULL,
        last_sync_at  text,
        PRIMARY KEY (tenant_id, store_id, agent_id)
    );
    "#,
];

/// Schema version this build writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Whether `name` is a plain lowercase SQL identifier (safe to splice into SQL unquoted).
pub(crate) fn valid_schema_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
        && !name.starts_with("pg_")
}

/// Creates `schema` (when given) and applies pending migrations in one transaction.
pub(crate) async fn migrate(
    conn: &mut PgConnection,
    schema: Option<&str>,
) -> Result<(), StoreError> {
    let mut tx = conn.begin().await?;
    match migrate_in(&mut tx, schema).await {
        Ok(()) => Ok(tx.commit().await?),
        Err(e) => {
            rollback(tx).await;
            Err(e)
        }
    }
}

async fn migrate_in(tx: &mut PgConnection, schema: Option<&str>) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await?;
    if let Some(schema) = schema {
        if !valid_schema_name(schema) {
            return Err(StoreError::Backend(format!(
                "invalid schema name {schema:?}"
            )));
        }
        let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
        // `Executor::execute` (a boxed `Send` future), not `RawSql::execute`, whose generic
        // `async fn` makes the caller's future fail the `Send` check.
        (&mut *tx).execute(sqlx::raw_sql(&create)).await?;
    }
    (&mut *tx)
        .execute(sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS ves_schema_migrations (
                 version     integer     PRIMARY KEY,
                 applied_at  timestamptz NOT NULL DEFAULT now()
             )",
        ))
        .await?;
    let current: i32 =
        sqlx::query("SELECT coalesce(max(version), 0) AS v FROM ves_schema_migrations")
            .fetch_one(&mut *tx)
            .await?
            .try_get("v")?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "database schema version {current} is newer than this build ({SCHEMA_VERSION})"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i32 + 1;
        (&mut *tx).execute(sqlx::raw_sql(sql)).await?;
        sqlx::query("INSERT INTO ves_schema_migrations (version) VALUES ($1)")
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tracing::info!(version, "applied PostgreSQL schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::valid_schema_name;

    #[test]
    fn schema_names() {
        for ok in ["ves", "_x", "ves_t_0123abcd", "a1"] {
            assert!(valid_schema_name(ok), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "Ves",
            "a-b",
            "a;drop",
            "pg_temp",
            "\"x\"",
            &"a".repeat(64),
        ] {
            assert!(!valid_schema_name(bad), "{bad}");
        }
    }
}
