//! The offline-first outbox: emit while the server is down, sync later; idempotent retry
//! after a lost response; rejections; batching; a durable pull cursor.

mod common;

use common::http::*;
use common::*;
use serde_json::json;
use ves::client::outbox::OutboxError;
use ves::client::outbox::{EntryStatus, Outbox};
use ves::client::{ClientError, SyncOptions, VesClient};

fn emit(outbox: &Outbox, n: u64) -> ves::EventEnvelope {
    outbox
        .emit(new_event(n), json!({ "n": n }), &agent_key(1))
        .expect("emit")
}

fn quick() -> SyncOptions {
    SyncOptions {
        max_retries: 1,
        retry_delay: std::time::Duration::from_millis(10),
        ..SyncOptions::default()
    }
}

#[tokio::test]
async fn emit_offline_then_sync_stores_verified_receipts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("outbox.db");
    let outbox = Outbox::open(&path).expect("open");
    let emitted: Vec<_> = (0..4).map(|n| emit(&outbox, n)).collect();
    assert_eq!(outbox.counts().expect("counts").pending, 4);

    // Server down: the sync fails with a retryable transport error; nothing is lost.
    let down = VesClient::new("http://127.0.0.1:9", AGENT_KEY).expect("client");
    match outbox.sync(&down, &quick()).await {
        Err(OutboxError::Client(e)) => assert!(e.is_retryable(), "{e:?}"),
        other => panic!("expected a transport error, got {other:?}"),
    }
    drop(outbox);

    // Server up; reopen the outbox from disk and sync.
    let s = serve_with_key().await;
    let client = VesClient::new(&s.base, AGENT_KEY).expect("client");
    let outbox = Outbox::open(&path).expect("reopen");
    assert_eq!(outbox.counts().expect("counts").pending, 4);
    let report = outbox
        .sync(&client, &SyncOptions::default())
        .await
        .expect("sync");
    assert_eq!(
        (
            report.batches,
            report.accepted,
            report.replayed,
            report.rejected,
            report.pending
        ),
        (1, 4, 0, 0, 0)
    );
    for (i, env) in emitted.iter().enumerate() {
        let entry = outbox.entry(env.event_id).expect("entry").expect("stored");
        assert_eq!(entry.status, EntryStatus::Accepted);
        let receipt = entry.receipt.expect("receipt");
        assert_eq!(receipt.sequence_number, i as u64 + 1);
        let esh = env.event_signing_hash().expect("esh");
        receipt
            .verify(&s.seq.public_key(), &TENANT, &STORE, &esh)
            .expect("receipt verifies");
    }
    let local = outbox.sync_state(stream(), AGENT).expect("local");
    assert_eq!((local.last_pushed, local.head), (4, 4));
    assert!(local.last_sync_at.is_some());
    let server = client
        .sync_state(stream(), None)
        .await
        .expect("server state");
    assert_eq!(server.last_pushed_sequence, 4);
    assert!(server.last_sync_at.is_some());
    // A second sync has nothing to do.
    let report = outbox
        .sync(&client, &SyncOptions::default())
        .await
        .expect("sync again");
    assert_eq!((report.batches, report.accepted), (0, 0));
}

#[tokio::test]
async fn retry_after_lost_response_returns_the_same_receipts_without_duplicates() {
    let s = serve_with_key().await;
    let client = VesClient::new(&s.base, AGENT_KEY).expect("client");
    let outbox = Outbox::open_in_memory().expect("open");
    for n in 0..3 {
        emit(&outbox, n);
    }
    // The batch reaches the server, but the response is lost before the outbox sees it.
    let batch: Vec<String> = outbox
        .next_batch(1000)
        .expect("batch")
        .into_iter()
        .map(|e| e.envelope_json)
        .collect();
    let lost = client
        .ingest_raw(AGENT, &batch)
        .await
        .expect("first attempt");
    assert_eq!(lost.events_accepted, 3);
    assert_eq!(outbox.counts().expect("counts").pending, 3);

    // The retry replays the identical batch: the stored receipts come back.
    let report = outbox
        .sync(&client, &SyncOptions::default())
        .await
        .expect("retry");
    assert_eq!(
        (report.accepted, report.replayed, report.rejected),
        (0, 3, 0)
    );
    let stored: Vec<_> = outbox
        .entries()
        .expect("entries")
        .into_iter()
        .map(|e| e.receipt.expect("receipt"))
        .collect();
    assert_eq!(stored, lost.receipts);
    assert_eq!(client.head(stream()).await.expect("head").head_sequence, 3);
    assert_eq!(client.pull_all(stream(), 1).await.expect("pull").len(), 3);
}

#[tokio::test]
async fn rejections_are_recorded_with_reasons_and_batches_respect_the_size() {
    let s = serve_with_key().await;
    let client = VesClient::new(&s.base, AGENT_KEY).expect("client");
    let outbox = Outbox::open_in_memory().expect("open");
    for n in 0..4 {
        emit(&outbox, n);
    }
    let mut unknown_key = new_event(99);
    unknown_key.agent_key_id = 7;
    let rejected = outbox
        .emit(unknown_key, json!({}), &agent_key(7))
        .expect("emit");
    let options = SyncOptions {
        batch_size: 2,
        ..SyncOptions::default()
    };
    let report = outbox.sync(&client, &options).await.expect("sync");
    assert_eq!(
        (
            report.batches,
            report.accepted,
            report.rejected,
            report.pending
        ),
        (3, 4, 1, 0)
    );
    let entry = outbox
        .entry(rejected.event_id)
        .expect("entry")
        .expect("stored");
    assert_eq!(entry.status, EntryStatus::Rejected);
    let (reason, message) = entry.rejection.expect("rejection");
    assert_eq!(reason, "agent_key_invalid");
    assert!(!message.is_empty());
    let counts = outbox.counts().expect("counts");
    assert_eq!((counts.accepted, counts.rejected), (4, 1));

    // After registering the key, the rejected event can be retried.
    client
        .register_signing_key(TENANT, AGENT, 7, &agent_key(7))
        .await
        .expect("register 7");
    assert_eq!(outbox.retry_rejected().expect("retry"), 1);
    let report = outbox.sync(&client, &options).await.expect("sync");
    assert_eq!((report.accepted, report.rejected), (1, 0));

    // A whole-batch error (wrong agent for this API key) is typed and leaves events pending.
    let other = VesClient::new(&s.base, OTHER_AGENT_KEY).expect("client");
    emit(&outbox, 5);
    match outbox.sync(&other, &options).await {
        Err(OutboxError::Client(ClientError::Api { status: 403, .. })) => {}
        other => panic!("expected 403, got {other:?}"),
    }
    assert_eq!(outbox.counts().expect("counts").pending, 1);
}

#[tokio::test]
async fn pull_cursor_is_durable() {
    let s = serve_with_key().await;
    let client = VesClient::new(&s.base, AGENT_KEY).expect("client");
    s.ingest(&signed_batch(3)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("outbox.db");
    {
        let outbox = Outbox::open(&path).expect("open");
        let first = outbox
            .pull_new(&client, stream(), AGENT, Some(2))
            .await
            .expect("pull");
        assert_eq!(
            first.iter().map(|e| e.sequence_number).collect::<Vec<_>>(),
            vec![1, 2]
        );
        // Not acknowledged yet: the same events come again.
        assert_eq!(
            outbox
                .pull_new(&client, stream(), AGENT, Some(2))
                .await
                .expect("pull")
                .len(),
            2
        );
        let state = outbox
            .ack_pulled(&client, stream(), AGENT, 2)
            .await
            .expect("ack");
        assert_eq!((state.last_pulled, state.head), (2, 3));
    }
    s.ingest(&signed_batch(2)).await;
    let outbox = Outbox::open(&path).expect("reopen");
    let rest = outbox
        .pull_new(&client, stream(), AGENT, None)
        .await
        .expect("pull");
    assert_eq!(
        rest.iter().map(|e| e.sequence_number).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    outbox
        .ack_pulled(&client, stream(), AGENT, 5)
        .await
        .expect("ack");
    assert!(outbox
        .pull_new(&client, stream(), AGENT, None)
        .await
        .expect("pull")
        .is_empty());
    let server = client.sync_state(stream(), None).await.expect("server");
    assert_eq!((server.last_pulled_sequence, server.lag), (5, 0));
}
