//! Group commit: batches queued while the writer is busy are stored in one transaction, and
//! each sees the ones before it.

use chrono::Utc;
use ed25519_dalek::SigningKey;
use uuid::Uuid;

use super::{
    Candidate, EventOutcome, EventStore, IngestBatch, Prechecked, SignatureVerdict, SqliteStore,
    StreamKey,
};
use crate::encoding::{Hash32, Sig64};
use crate::engine::ReceiptIssuer;
use crate::keys::{AgentKeyRecord, Ed25519PublicKey};

const AGENT: Uuid = Uuid::from_u128(0xa9);

fn content_hash(event_id: Uuid) -> Hash32 {
    let mut h = [0u8; 32];
    h[..16].copy_from_slice(event_id.as_bytes());
    Hash32(h)
}

fn candidate(event_id: Uuid, public_key: Ed25519PublicKey, base_version: Option<u64>) -> Candidate {
    Candidate {
        event_id,
        command_id: None,
        base_version,
        entity_type: "Order".into(),
        entity_id: "o-1".into(),
        agent_key_id: 1,
        content_hash: Some(content_hash(event_id)),
        precheck: Ok(Prechecked {
            event_signing_hash: Hash32([7; 32]),
            agent_signature: Sig64([9; 64]),
            signature: Some(SignatureVerdict {
                public_key,
                valid: true,
            }),
        }),
        envelope_json: "{}".into(),
    }
}

#[tokio::test]
// Deliberate: the writer is held (a blocking lock) while the batches queue up behind it.
#[allow(clippy::await_holding_lock)]
async fn queued_batches_share_one_commit_and_see_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("group.db")).expect("open");
    let stream = StreamKey::new(Uuid::from_u128(1), Uuid::from_u128(2));
    let public_key = Ed25519PublicKey::from_signing_key(&SigningKey::from_bytes(&[3; 32]));
    store
        .insert_agent_key(&AgentKeyRecord {
            tenant_id: stream.tenant_id,
            agent_id: AGENT,
            key_id: 1,
            public_key,
            valid_from: chrono::DateTime::UNIX_EPOCH,
            valid_to: None,
            revoked_at: None,
        })
        .await
        .expect("key");
    let issuer = ReceiptIssuer::new(SigningKey::from_bytes(&[5; 32]), "group-test");
    let batch = |candidates| IngestBatch {
        stream,
        agent_id: AGENT,
        received_at: Utc::now(),
        candidates,
        issuer: issuer.clone(),
    };
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let batches = vec![
        batch(vec![candidate(first, public_key, Some(0))]),
        // The same event again (exact replay of the batch before) and a stale base version.
        batch(vec![
            candidate(first, public_key, Some(0)),
            candidate(second, public_key, Some(0)),
        ]),
        batch(vec![candidate(second, public_key, Some(1))]),
    ];

    // Hold the writer so the three batches queue up, then let them go: one group.
    let held = store.hold_writer();
    let tasks: Vec<_> = batches
        .into_iter()
        .map(|b| {
            let store = store.clone();
            tokio::spawn(async move { store.ingest(b).await })
        })
        .collect();
    while store.queued() < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    drop(held);
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("join").expect("ingest"));
    }
    let kinds: Vec<Vec<&str>> = results
        .iter()
        .map(|r| {
            r.outcomes
                .iter()
                .map(|o| match o {
                    EventOutcome::Accepted(_) => "accepted",
                    EventOutcome::Replayed(_) => "replayed",
                    EventOutcome::Rejected(_) => "rejected",
                })
                .collect()
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            vec!["accepted"],
            vec!["replayed", "rejected"],
            vec!["accepted"]
        ]
    );
    // The replay carries the receipt issued moments before in the same group.
    match (&results[0].outcomes[0], &results[1].outcomes[0]) {
        (EventOutcome::Accepted(a), EventOutcome::Replayed(b)) => assert_eq!(a, b),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!((results[0].head_sequence, results[2].head_sequence), (1, 2));
    assert_eq!(store.head(stream).await.expect("head").head_sequence, 2);
}
