//! `VesClient` against the real router on a loopback port: every route round-trips, errors
//! are typed, the SSE subscription yields typed events, and client-side verification
//! accepts honest data and detects tampered events and forged receipts.

mod common;

use std::time::Duration;

use common::http::*;
use common::*;
use serde_json::json;
use serde_json::value::RawValue;
use ves::client::verify::{
    recompute_commitments, verify_inclusion_proof, verify_pulled_event, verify_receipt,
    verify_stream, KeyRing,
};
use ves::client::{ClientError, SyncUpdate, VesClient};
use ves::*;

fn client(s: &Server, key: &str) -> VesClient {
    VesClient::new(&s.base, key).expect("client")
}

#[tokio::test]
async fn every_route_round_trips() {
    let s = serve().await;
    let c = client(&s, AGENT_KEY);
    let seq_key = c.sequencer_key().await.expect("sequencer key");
    assert_eq!(seq_key.public_key, s.seq.public_key());
    assert_eq!(seq_key.sequencer_id, "http-sequencer");

    // Keys: register (201, then 200 idempotent), list, revoke.
    let reg = c
        .register_signing_key(TENANT, AGENT, 1, &agent_key(1))
        .await
        .expect("register");
    assert!(reg.created);
    assert_eq!(
        reg.record.public_key,
        Ed25519PublicKey::from_signing_key(&agent_key(1))
    );
    let again = c
        .register_signing_key(TENANT, AGENT, 1, &agent_key(1))
        .await
        .expect("again");
    assert!(!again.created);
    c.register_signing_key(TENANT, AGENT, 2, &agent_key(2))
        .await
        .expect("key 2");
    let keys = c.list_keys(TENANT, None).await.expect("list");
    assert_eq!(keys.len(), 2);
    let revoked = c.revoke_key(TENANT, AGENT, 2).await.expect("revoke");
    assert!(revoked.revoked_at.is_some());

    // Ingest: typed receipts and rejections.
    let events = signed_batch(5);
    let resp = c.ingest(AGENT, &events).await.expect("ingest");
    assert_eq!(
        (resp.events_accepted, resp.sequence_start, resp.sequence_end),
        (5, Some(1), Some(5))
    );
    assert_eq!(resp.receipts.len(), 5);
    for (r, e) in resp.receipts.iter().zip(&events) {
        verify_receipt(r, e, None, &seq_key.public_key).expect("receipt verifies");
    }
    let mut bad = sign(new_event(9));
    bad.payload = Some(json!({"n": "tampered"}));
    let mut revoked_key_event = new_event(10);
    revoked_key_event.agent_key_id = 2;
    let resp = c
        .ingest(AGENT, &[bad.clone(), sign(revoked_key_event)])
        .await
        .expect("ingest");
    assert_eq!(resp.events_rejected, 2);
    assert_eq!(resp.rejections[0].event_id, bad.event_id);
    assert_eq!(
        resp.rejections[0].reason,
        RejectionReason::InvalidPayloadHash
    );
    assert_eq!(resp.rejections[1].reason, RejectionReason::AgentKeyInvalid);
    // Exact replay: stored receipt, nothing new.
    let replay = c.ingest(AGENT, &events[..2]).await.expect("replay");
    assert_eq!(
        (
            replay.events_accepted,
            replay.events_replayed,
            replay.head_sequence
        ),
        (0, 2, 5)
    );

    // Pull: a page, and paging through everything.
    let page = c.pull(stream(), 2, 2).await.expect("pull");
    assert_eq!(
        (
            page.count,
            page.next_sequence,
            page.has_more,
            page.head_sequence
        ),
        (2, 4, true, 5)
    );
    assert_eq!(
        page.events[0].envelope().expect("envelope").event_id,
        events[1].event_id
    );
    let all = c.pull_all_with(stream(), 1, 2).await.expect("pull all");
    assert_eq!(
        all.iter().map(|e| e.sequence_number).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(c.pull_all(stream(), 4).await.expect("pull from 4").len(), 2);

    let one = c.event(events[2].event_id).await.expect("event");
    assert_eq!(
        (one.tenant_id, one.store_id, one.item.sequence_number),
        (TENANT, STORE, 3)
    );
    assert_eq!(
        one.event_signing_hash,
        events[2].event_signing_hash().expect("esh")
    );

    // Sync state.
    let state = c.sync_state(stream(), None).await.expect("sync state");
    assert_eq!(
        (state.last_pushed_sequence, state.head_sequence, state.lag),
        (5, 5, 5)
    );
    let update = SyncUpdate {
        tenant_id: TENANT,
        store_id: STORE,
        last_pulled_sequence: Some(3),
        ..SyncUpdate::default()
    };
    let state = c.put_sync_state(&update).await.expect("put");
    assert_eq!((state.last_pulled_sequence, state.lag), (3, 2));
    let beyond = SyncUpdate {
        last_pulled_sequence: Some(99),
        ..update
    };
    match c.put_sync_state(&beyond).await {
        Err(ClientError::Api { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (409, "cursor_beyond_head"))
        }
        other => panic!("expected 409, got {other:?}"),
    }

    // Commitments, head, inclusion proofs.
    let c1 = c
        .create_commitment(stream(), Some(3))
        .await
        .expect("commit 1..3");
    let c2 = c
        .create_commitment(stream(), None)
        .await
        .expect("commit 4..5");
    assert_eq!((c1.seq_end, c2.seq_start, c2.seq_end), (3, 4, 5));
    assert_eq!(
        c.list_commitments(stream(), 0, 10).await.expect("list"),
        vec![c1.clone(), c2.clone()]
    );
    assert_eq!(
        c.list_commitments(stream(), 3, 10).await.expect("after 3"),
        vec![c2.clone()]
    );
    assert_eq!(
        c.all_commitments(stream()).await.expect("all"),
        vec![c1.clone(), c2.clone()]
    );
    assert_eq!(c.commitment(stream(), 3).await.expect("get"), c1);
    let head = c.head(stream()).await.expect("head");
    assert_eq!(
        (head.head_sequence, head.committed_sequence, head.state_root),
        (5, 5, Some(c2.state_root))
    );
    let proof = c.inclusion_proof(events[4].event_id).await.expect("proof");
    verify_inclusion_proof(&proof, Some(&c2), Some(&events[4])).expect("proof verifies");
    assert!(verify_inclusion_proof(&proof, Some(&c1), None).is_err());
    assert!(verify_inclusion_proof(&proof, None, Some(&events[3])).is_err());

    // Recomputing the chain from pulled events gives the server's state root.
    let leaves: Vec<Hash32> = all
        .iter()
        .map(|e| ves::client::verify::event_leaf(e).expect("leaf"))
        .collect();
    let root = recompute_commitments(stream(), &leaves, &[c1, c2]).expect("recompute");
    assert_eq!(root, head.state_root);

    // Typed errors.
    match c.event(uuid::Uuid::new_v4()).await {
        Err(e @ ClientError::Api { status: 404, .. }) => assert_eq!(e.code(), Some("not_found")),
        other => panic!("expected 404, got {other:?}"),
    }
    let anonymous = client(&s, "not-a-configured-key-at-all");
    match anonymous.head(stream()).await {
        Err(ClientError::Api {
            status: 401, code, ..
        }) => assert_eq!(code, "unauthorized"),
        other => panic!("expected 401, got {other:?}"),
    }
    let dead = VesClient::new("http://127.0.0.1:9", AGENT_KEY).expect("client");
    let err = dead.head(stream()).await.expect_err("connection refused");
    assert!(err.is_retryable() && err.code().is_none(), "{err:?}");
    assert!(VesClient::new("ftp://x", AGENT_KEY).is_err());
}

async fn next(sub: &mut ves::client::EventSubscription) -> ves::client::PulledEvent {
    tokio::time::timeout(Duration::from_secs(20), sub.next_event())
        .await
        .expect("timely")
        .expect("open")
        .expect("typed event")
}

#[tokio::test]
async fn subscription_yields_backlog_then_live_events() {
    let s = serve_with_key().await;
    let c = client(&s, AGENT_KEY);
    c.ingest(AGENT, &signed_batch(2)).await.expect("ingest");
    let mut sub = c
        .subscribe(stream(), Some(1), None)
        .await
        .expect("subscribe");
    assert_eq!(next(&mut sub).await.sequence_number, 1);
    assert_eq!(next(&mut sub).await.sequence_number, 2);
    let live = signed_batch(1);
    c.ingest(AGENT, &live).await.expect("ingest live");
    let item = next(&mut sub).await;
    assert_eq!(item.sequence_number, 3);
    assert_eq!(
        item.envelope().expect("envelope").event_id,
        live[0].event_id
    );
    assert_eq!(sub.last_event_id(), Some(3));
    let other_store = client(&s, OTHER_STORE_KEY);
    let err = other_store.subscribe(stream(), None, None).await;
    assert!(
        matches!(err, Err(ClientError::Api { status: 403, .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn stream_verification_detects_tampering_and_forged_receipts() {
    let s = serve_with_key().await;
    let c = client(&s, AGENT_KEY);
    c.ingest(AGENT, &signed_batch(6)).await.expect("ingest");
    let commitments = vec![c
        .create_commitment(stream(), Some(4))
        .await
        .expect("commit")];
    let events = c.pull_all(stream(), 1).await.expect("pull");
    let keys = KeyRing::from_records(&c.list_keys(TENANT, None).await.expect("keys"));
    let seq_key = c.sequencer_key().await.expect("key").public_key;
    let mut proofs = Vec::new();
    for e in &events[..4] {
        proofs.push(
            c.inclusion_proof(e.envelope().expect("env").event_id)
                .await
                .expect("proof"),
        );
    }
    let report = verify_stream(stream(), &events, &commitments, &proofs, &keys, &seq_key);
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        (report.events, report.commitments, report.proofs),
        (6, 1, 4)
    );
    assert_eq!(report.state_root, Some(commitments[0].state_root));

    // A tampered payload (inside a committed range): payload hash, signature-independent.
    let mut tampered = events.clone();
    let text = tampered[1].event.get().replace("12.5", "13.5");
    tampered[1].event = RawValue::from_string(text).expect("raw");
    let report = verify_stream(stream(), &tampered, &commitments, &proofs, &keys, &seq_key);
    assert!(!report.ok());
    assert_eq!(report.failures[0].sequence_number, Some(2));

    // A tampered signed field (entity id): signature, receipt, proof and commitment fail.
    let mut tampered = events.clone();
    let mut env = tampered[2].envelope().expect("env");
    env.entity_id = "order-forged".into();
    tampered[2].event =
        RawValue::from_string(serde_json::to_string(&env).expect("json")).expect("raw");
    assert!(verify_pulled_event(&tampered[2], stream(), &keys, &seq_key).is_err());
    let report = verify_stream(stream(), &tampered, &commitments, &proofs, &keys, &seq_key);
    assert!(
        report.failures.iter().any(|f| f.sequence_number.is_none()),
        "{report:?}"
    );
    assert!(report.failures.len() >= 3, "{report:?}");

    // A forged receipt signature (outside the committed range).
    let mut forged = events.clone();
    forged[5].receipt.sequencer_signature.0[0] ^= 1;
    let report = verify_stream(stream(), &forged, &commitments, &proofs, &keys, &seq_key);
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert_eq!(report.failures[0].sequence_number, Some(6));
    assert!(report.failures[0].error.contains("receipt"), "{report:?}");

    // A receipt signed by another key.
    let other = Ed25519PublicKey::from_signing_key(&SigningKey::from_bytes(&[7; 32]));
    assert_eq!(
        verify_stream(stream(), &events, &commitments, &proofs, &keys, &other)
            .failures
            .len(),
        6
    );
}
