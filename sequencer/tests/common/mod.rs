//! Shared fixtures: a sequencer over a temp-dir SQLite store, an agent with a registered key,
//! and signed events.
#![allow(dead_code)]

pub mod http;

use std::path::PathBuf;
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

pub struct Fixture {
    pub dir: TempDir,
    pub seq: Arc<Sequencer>,
}

impl Fixture {
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("ves.db")
    }
}

pub fn open_sequencer(path: &std::path::Path, config: SequencerConfig) -> Arc<Sequencer> {
    let store = SqliteStore::open(path).expect("open store");
    Arc::new(Sequencer::new(Arc::new(store), sequencer_key(), config))
}

/// A fresh sequencer with key 1 of `AGENT` registered (valid from an hour ago).
pub async fn fixture() -> Fixture {
    fixture_with(SequencerConfig::new("test-sequencer")).await
}

pub async fn fixture_with(config: SequencerConfig) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let seq = open_sequencer(&dir.path().join("ves.db"), config);
    register(&seq, 1, Some(Utc::now() - Duration::hours(1)), None).await;
    Fixture { dir, seq }
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
