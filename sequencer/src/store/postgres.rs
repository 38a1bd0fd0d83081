//! The PostgreSQL backend, for deployments where several sequencer processes share one
//! database.
//!
//! * Ingest: one transaction per batch that takes the stream's row lock
//!   (`SELECT … FOR UPDATE`), so sequence numbers stay gap-free under any number of writers;
//!   see `postgres_ingest`.
//! * Idempotency across processes: unique constraints on `event_id` (global) and
//!   `(tenant, store, command_id)`; a lost race is retried as a whole transaction.
//! * Durability: `COMMIT` returns after the WAL flush. Connections whose
//!   `synchronous_commit` is `off` are switched to `on`; a server running with `fsync = off`
//!   is reported with a warning at open.
//! * Live events across processes: each ingest transaction `NOTIFY`s the stream's new head
//!   and every store `LISTEN`s (`postgres_notify`), so an event stream served by one process
//!   sees events ingested through another.
//! * Schema: created by idempotent migrations on open (`postgres_schema`), optionally in a
//!   dedicated PostgreSQL schema ([`PostgresOptions::schema`]).
//!
//! Queries are runtime `sqlx::query` calls (no compile-time checking); each connection caches
//! its prepared statements.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use super::postgres_notify::{self, Listener};
use super::postgres_schema::{migrate, valid_schema_name};
use super::{
    postgres_ingest, postgres_rows as rows, postgres_writes as writes, CursorUpdate, EventPage,
    EventStore, HeadNotice, IngestBatch, KeyInsert, Resolution, StoreError, StoredEvent,
    StreamHead, StreamKey, SyncCursor,
};
use crate::encoding::Hash32;
use crate::keys::AgentKeyRecord;
use crate::stream::Commitment;

/// Connection settings of a [`PostgresStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Largest number of pooled connections (also the number of batches on different streams
    /// this process can have in flight).
    pub max_connections: u32,
    /// PostgreSQL schema holding the tables, created if absent (`[a-z_][a-z0-9_]*`). `None`:
    /// the connection's default `search_path` (normally `public`). Tables are named `ves_*`.
    pub schema: Option<String>,
    /// How long a query waits for a free pooled connection (and `connect` for the server).
    pub acquire_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            schema: None,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// Durable event store in a PostgreSQL database shared by any number of sequencer processes.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    schema: Option<String>,
    /// `NOTIFY` channel of the schema (see `postgres_notify`).
    channel: Arc<str>,
    listener: Arc<Listener>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may carry a password.
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool.size())
            .finish()
    }
}

/// A failure inside a transaction: the SQL error is kept to decide on a retry.
#[derive(Debug)]
pub(crate) enum StoreFailure {
    Sql(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for StoreFailure {
    fn from(e: sqlx::Error) -> Self {
        Self::Sql(e)
    }
}

impl From<StoreError> for StoreFailure {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<StoreFailure> for StoreError {
    fn from(e: StoreFailure) -> Self {
        match e {
            StoreFailure::Sql(e) => e.into(),
            StoreFailure::Store(e) => e,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Backend(e.to_string())
    }
}

fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
}

/// `unique_violation` (23505).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    sqlstate(e).as_deref() == Some("23505")
}

/// A lost race that a fresh attempt of the same transaction resolves: `unique_violation`,
/// `serialization_failure` (40001), `deadlock_detected` (40P01).
pub(crate) fn is_retryable(e: &sqlx::Error) -> bool {
    matches!(sqlstate(e).as_deref(), Some("23505" | "40001" | "40P01"))
}

/// Rolls a failed transaction back now, so its locks are released before the caller moves on
/// (a dropped `sqlx` transaction is only rolled back when its connection is next used).
pub(crate) async fn rollback(tx: sqlx::Transaction<'_, sqlx::Postgres>) {
    if let Err(e) = tx.rollback().await {
        tracing::warn!(error = %e, "PostgreSQL rollback failed");
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, libpq-style
    /// parameters allowed) and applies pending migrations.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let mut connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?
            .application_name("ves-sequencer");
        if let Some(schema) = &options.schema {
            if !valid_schema_name(schema) {
                return Err(StoreError::Backend(format!(
                    "invalid schema name {schema:?} (expected [a-z_][a-z0-9_]*)"
                )));
            }
            connect = connect.options([("search_path", schema)]);
        }
        // One direct connection first: it reports the real failure (refused, bad password,
        // unknown database) at once, where a pool would only time out.
        let mut first = tokio::time::timeout(
            options.acquire_timeout,
            PgConnection::connect_with(&connect),
        )
        .await
        .map_err(|_| {
            StoreError::Backend(format!(
                "no connection to PostgreSQL within {:?}",
                options.acquire_timeout
            ))
        })??;
        let prepared = prepare(&mut first, options.schema.as_deref()).await;
        if let Err(e) = first.close().await {
            tracing::debug!(error = %e, "closing the migration connection");
        }
        prepared?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .after_connect(|conn, _meta| Box::pin(require_synchronous_commit(conn)))
            .connect_with(connect)
            .await?;
        let channel = postgres_notify::channel(options.schema.as_deref());
        let listener = Listener::start(&pool, channel.clone()).await?;
        Ok(Self {
            pool,
            schema: options.schema,
            channel: Arc::from(channel),
            listener,
        })
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The schema given at connect time.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Closes every pooled connection (waits for checked-out ones to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A commit must not return before the WAL is flushed: `off` becomes `on` (`local`,
/// `remote_write`, `remote_apply` and `on` all flush locally first).
async fn require_synchronous_commit(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let mode: String = sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
        .fetch_one(&mut *conn)
        .await?;
    if mode == "off" {
        sqlx::query("SET synchronous_commit TO on")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Migrations, then a warning if the server does not fsync.
async fn prepare(conn: &mut PgConnection, schema: Option<&str>) -> Result<(), StoreError> {
    migrate(conn, schema).await?;
    let fsync: String = sqlx::query_scalar("SELECT current_setting('fsync')")
        .fetch_one(&mut *conn)
        .await?;
    if fsync != "on" {
        tracing::warn!(
            "PostgreSQL runs with fsync = {fsync}: acknowledged events may be lost if the \
             database server crashes"
        );
    }
    Ok(())
}

#[async_trait]
impl EventStore for PostgresStore {
    fn head_notices(&self) -> Option<tokio::sync::broadcast::Receiver<HeadNotice>> {
        Some(self.listener.subscribe())
    }

    async fn insert_agent_key(&self, record: &AgentKeyRecord) -> Result<KeyInsert, StoreError> {
        writes::insert_agent_key(&self.pool, record).await
    }

    async fn agent_key(
        &self,
        tenant_id: Uuid,
        agent_id: Uuid,
        key_id: u32,
    ) -> Result<Option<AgentKeyRecord>, StoreError> {
        rows::agent_key(&self.pool, tenant_id, agent_id, key_id).await
    }

    async fn list_agent_keys(
        &self,
        tenant_id: Uuid,
        agent_id: Option<Uuid>,
    ) -> Result<Vec<AgentKeyRecord>, StoreError> {
        rows::list_agent_keys(&self.pool, tenant_id, agent_id).await
    }

    async fn revoke_agent_key(
        &self,
        tenant_id: Uuid,
        agent_id: Uuid,
        key_id: u32,
        at: DateTime<Utc>,
    ) -> Result<Option<AgentKeyRecord>, StoreError> {
        writes::revoke_agent_key(&self.pool, tenant_id, agent_id, key_id, &at).await
    }

    async fn ingest(&self, batch: IngestBatch) -> Result<Resolution, StoreError> {
        postgres_ingest::ingest(&self.pool, &self.channel, batch).await
    }

    async fn events_from(
        &self,
        stream: StreamKey,
        from: u64,
        limit: u32,
    ) -> Result<EventPage, StoreError> {
        rows::events_from(&self.pool, &stream, from, limit).await
    }

    async fn event_by_id(&self, event_id: Uuid) -> Result<Option<StoredEvent>, StoreError> {
        rows::event_by_id(&self.pool, event_id).await
    }

    async fn head(&self, stream: StreamKey) -> Result<StreamHead, StoreError> {
        rows::head(&self.pool, &stream).await
    }

    async fn leaf_hashes(
        &self,
        stream: StreamKey,
        from: u64,
        to: u64,
    ) -> Result<Vec<Hash32>, StoreError> {
        rows::leaf_hashes(&self.pool, &stream, from, to).await
    }

    async fn append_commitment(&self, commitment: &Commitment) -> Result<(), StoreError> {
        writes::append_commitment(&self.pool, commitment).await
    }

    async fn commitments(
        &self,
        stream: StreamKey,
        after_seq_end: u64,
        limit: u32,
    ) -> Result<Vec<Commitment>, StoreError> {
        rows::commitments(&self.pool, &stream, after_seq_end, limit).await
    }

    async fn commitment_by_end(
        &self,
        stream: StreamKey,
        seq_end: u64,
    ) -> Result<Option<Commitment>, StoreError> {
        rows::commitment_by_end(&self.pool, &stream, seq_end).await
    }

    async fn commitment_covering(
        &self,
        stream: StreamKey,
        sequence_number: u64,
    ) -> Result<Option<Commitment>, StoreError> {
        rows::commitment_covering(&self.pool, &stream, sequence_number).await
    }

    async fn sync_cursor(
        &self,
        stream: StreamKey,
        agent_id: Uuid,
    ) -> Result<SyncCursor, StoreError> {
        rows::sync_cursor(&self.pool, &stream, agent_id).await
    }

    async fn advance_sync_cursor(
        &self,
        stream: StreamKey,
        agent_id: Uuid,
        update: CursorUpdate,
        at: DateTime<Utc>,
    ) -> Result<SyncCursor, StoreError> {
        writes::advance_sync_cursor(&self.pool, &stream, agent_id, update, &at).await
    }
}

#[cfg(test)]
mod tests {
    /// `connect` can be spawned: its future is `Send` (generic sqlx `async fn`s easily break
    /// that, see `postgres_schema::migrate`).
    #[allow(dead_code)]
    fn connect_is_send() {
        fn is_send<T: Send>(_: &T) {}
        is_send(&super::PostgresStore::connect(
            "",
            super::PostgresOptions::default(),
        ));
    }
}
