//! Shared fixtures: a sequencer over a temp-dir SQLite store or a fresh PostgreSQL schema, an
//! agent with a registered key, and signed events.
#![allow(dead_code)]

pub mod http;
pub mod pg;

use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::json;
use tempfile::TempDir;
use uuid::Uuid;
use ves::engine::KeyRegistration;
use ves::*;

pub const TENANT: Uuid = Uuid::from_u128(0x7e_0001);
pub const STORE: Uuid = Uuid::from_u128(0x5_0001);
pub const AGENT: Uuid = Uuid::from_u128(0xa9_0001);

pub fn sequencer_key() -> SigningKey {
    SigningKey::from_bytes(&[0x5e; 32])
}

pub fn agent_key(key_id: u32) -> SigningKey {
    SigningKey::from_bytes(&[0x40 + key_id as u8; 32])
}

pub fn stream() -> StreamKey {
    StreamKey::new(TENANT, STORE)
}

/// A storage backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where a fixture's data lives; dropping it deletes the data.
pub enum Storage {
    /// A temp dir holding `ves.db`.
    Sqlite(TempDir),
    /// A PostgreSQL schema of its own (dropped on drop).
    Postgres(pg::TestSchema),
}

impl Storage {
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::Sqlite(tempfile::tempdir().expect("tempdir")),
            Backend::Postgres => Self::Postgres(pg::TestSchema::new()),
        }
    }

    /// A new store handle over this storage (a second "process" for PostgreSQL).
    pub async fn open(&self) -> Arc<dyn EventStore> {
        match self {
            Self::Sqlite(dir) => {
                Arc::new(SqliteStore::open(dir.path().join("ves.db")).expect("open store"))
            }
            Self::Postgres(schema) => Arc::new(schema.store(4).await),
        }
    }

    pub async fn sequencer(&self, config: SequencerConfig) -> Arc<Sequencer> {
        Arc::new(Sequencer::new(self.open().await, sequencer_key(), config))
    }
}

pub struct Fixture {
    pub seq: Arc<Sequencer>,
    pub storage: Storage,
}

impl Fixture {
    /// Drops this fixture's sequencer and opens a new one over the same data.
    pub async fn reopen(self, config: SequencerConfig) -> Self {
        let Fixture { seq, storage } = self;
        drop(seq);
        let seq = storage.sequencer(config).await;
        Fixture { seq, storage }
    }
}

pub fn open_sequencer(path: &std::path::Path, config: SequencerConfig) -> Arc<Sequencer> {
    let store = SqliteStore::open(path).expect("open store");
    Arc::new(Sequencer::new(Arc::new(store), sequencer_key(), config))
}

/// A fresh SQLite sequencer with key 1 of `AGENT` registered (valid from an hour ago).
pub async fn fixture() -> Fixture {
    fixture_on(Backend::Sqlite).await
}

pub async fn fixture_with(config: SequencerConfig) -> Fixture {
    fixture_on_with(Backend::Sqlite, config).await
}

/// A fresh sequencer on `backend` with key 1 of `AGENT` registered.
pub async fn fixture_on(backend: Backend) -> Fixture {
    fixture_on_with(backend, SequencerConfig::new("test-sequencer")).await
}

pub async fn fixture_on_with(backend: Backend, config: SequencerConfig) -> Fixture {
    let storage = Storage::new(backend);
    let seq = storage.sequencer(config).await;
    register(&seq, 1, Some(Utc::now() - Duration::hours(1)), None).await;
    Fixture { seq, storage }
}

/// Runs each listed `async fn name(backend: Backend)` as two tests, `sqlite::name` and
/// `postgres::name`: one conformance suite for both storage backends.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )+
        }
    };
}

pub async fn register(
    seq: &Sequencer,
    key_id: u32,
    valid_from: Option<chrono::DateTime<Utc>>,
    valid_to: Option<chrono::DateTime<Utc>>,
) -> AgentKeyRecord {
    let sk = agent_key(key_id);
    seq.register_key(
        KeyRegistration {
            tenant_id: TENANT,
            agent_id: AGENT,
            key_id,
            public_key: Ed25519PublicKey::from_signing_key(&sk),
            valid_from,
            valid_to,
            proof_of_possession: Some(sign_pop(&sk)),
        },
        true,
    )
    .await
    .expect("register key")
    .0
}

pub fn new_event(n: u64) -> NewEvent {
    NewEvent {
        ves_version: 2,
        event_id: Uuid::new_v4(),
        tenant_id: TENANT,
        store_id: STORE,
        source_agent_id: AGENT,
        agent_key_id: 1,
        entity_type: "Order".into(),
        entity_id: format!("order-{n}"),
        event_type: "Created".into(),
        created_at: "2025-06-01T12:00:00.000Z".into(),
        command_id: None,
        base_version: None,
    }
}

pub fn sign(ev: NewEvent) -> EventEnvelope {
    let key = agent_key(ev.agent_key_id);
    let n = ev.entity_id.clone();
    ev.sign_plain(json!({ "n": n, "amount": 12.5 }), &key)
        .expect("sign")
}

pub fn incoming(env: EventEnvelope) -> IncomingEvent {
    IncomingEvent::from_envelope(env).expect("serialize")
}

pub fn batch(n: u64) -> Vec<IncomingEvent> {
    (0..n).map(|i| incoming(sign(new_event(i)))).collect()
}
