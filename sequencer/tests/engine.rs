//! Engine semantics end to end, the same suite against both storage backends (`sqlite::*`
//! over a temp-dir file, `postgres::*` over a fresh schema of the test server).

mod common;

use std::collections::HashSet;

use chrono::{Duration, Utc};
use common::*;
use serde_json::json;
use uuid::Uuid;
use ves::engine::EngineError;
use ves::store::EventOutcome;
use ves::validate::BatchError;
use ves::*;

fn reasons(outcome: &IngestOutcome) -> Vec<Option<RejectionReason>> {
    outcome
        .outcomes
        .iter()
        .map(|o| match o {
            EventOutcome::Rejected(r) => Some(r.reason),
            _ => None,
        })
        .collect()
}

fn receipts(outcome: &IngestOutcome) -> Vec<SignedReceipt> {
    outcome
        .outcomes
        .iter()
        .filter_map(|o| match o {
            EventOutcome::Accepted(r) | EventOutcome::Replayed(r) => Some(r.clone()),
            EventOutcome::Rejected(_) => None,
        })
        .collect()
}

async fn ingest(f: &Fixture, events: Vec<IncomingEvent>) -> IngestOutcome {
    f.seq.ingest(AGENT, events).await.expect("ingest")
}

async fn sequence_numbers_are_gap_free_and_receipts_verify(backend: Backend) {
    let f = fixture_on(backend).await;
    let a = ingest(&f, batch(5)).await;
    assert_eq!(a.sequence_range(), Some((1, 5)));
    let b = ingest(&f, batch(1)).await;
    assert_eq!(b.sequence_range(), Some((6, 6)));
    let c = ingest(&f, batch(10)).await;
    assert_eq!((c.sequence_range(), c.head_sequence), (Some((7, 16)), 16));

    let pk = f.seq.public_key();
    for ev in a.accepted.iter().chain(&b.accepted).chain(&c.accepted) {
        assert_eq!(ev.receipt.sequencer_id, "test-sequencer");
        ev.receipt
            .verify(&pk, &TENANT, &STORE, &ev.event_signing_hash)
            .expect("receipt verifies");
        assert_eq!(ev.envelope().expect("parse").event_id, ev.event_id);
    }

    // Concurrent batches on one stream still get one gap-free range.
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let seq = f.seq.clone();
        tasks.push(tokio::spawn(
            async move { seq.ingest(AGENT, batch(7)).await },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.expect("join").expect("ingest").accepted_count(), 7);
    }
    let page = f.seq.pull(stream(), 1, 1000).await.expect("pull");
    let seqs: Vec<u64> = page.events.iter().map(|e| e.sequence_number).collect();
    assert_eq!(seqs, (1..=58).collect::<Vec<_>>());
    assert_eq!((page.head_sequence, page.has_more), (58, false));
}

async fn exact_replay_returns_the_stored_receipt(backend: Backend) {
    let f = fixture_on(backend).await;
    let events = batch(3);
    let first = ingest(&f, events.clone()).await;
    let replay = ingest(&f, events.clone()).await;
    assert_eq!(replay.replayed_count(), 3);
    assert_eq!((replay.accepted_count(), replay.rejected_count()), (0, 0));
    assert_eq!(receipts(&replay), receipts(&first));
    assert_eq!(replay.head_sequence, 3);

    // Same fields, different spelling (uppercase hex, no 0x, other key order, spacing).
    let env = &events[1].envelope;
    let mut value = serde_json::to_value(env).expect("value");
    value["agent_signature"] = json!(env.agent_signature.to_hex().to_uppercase());
    let respelled = format!("  {}", serde_json::to_string_pretty(&value).expect("json"));
    let again = ingest(
        &f,
        vec![
            IncomingEvent::parse(&respelled).expect("parse"),
            incoming(sign(new_event(9))),
        ],
    )
    .await;
    assert_eq!(reasons(&again), vec![None, None]);
    assert_eq!(again.replayed_count(), 1);
    assert_eq!(receipts(&again)[0], receipts(&first)[1]);
    assert_eq!(again.sequence_range(), Some((4, 4)));

    // The same new event twice in one batch: accepted once, then replayed.
    let twice = incoming(sign(new_event(10)));
    let dup = ingest(&f, vec![twice.clone(), twice]).await;
    assert_eq!((dup.accepted_count(), dup.replayed_count()), (1, 1));
    let r = receipts(&dup);
    assert_eq!(r[0], r[1]);
}

async fn modified_replay_is_duplicate_event_id(backend: Backend) {
    let f = fixture_on(backend).await;
    let original = new_event(1);
    ingest(&f, vec![incoming(sign(original.clone()))]).await;

    let mut changed = original.clone();
    changed.event_type = "Cancelled".into();
    let mut other_payload = sign(original.clone());
    other_payload.payload = Some(json!({"n": "x"}));
    other_payload.payload_plain_hash = payload_plain_hash(&json!({"n": "x"})).expect("hash");
    other_payload.agent_signature = sign_event(
        &agent_key(1),
        &other_payload.event_signing_hash().expect("hash"),
    );
    let mut other_stream = original.clone();
    other_stream.store_id = Uuid::from_u128(0x5_0002);

    let out = ingest(&f, vec![incoming(sign(changed)), incoming(other_payload)]).await;
    assert_eq!(
        reasons(&out),
        vec![Some(RejectionReason::DuplicateEventId); 2]
    );
    let out = f
        .seq
        .ingest(AGENT, vec![incoming(sign(other_stream))])
        .await
        .expect("ingest");
    assert_eq!(reasons(&out), vec![Some(RejectionReason::DuplicateEventId)]);
    assert_eq!(f.seq.head(stream()).await.expect("head").head_sequence, 1);
}

async fn command_id_dedup_and_release_on_failure(backend: Backend) {
    let f = fixture_on(backend).await;
    let cmd = Uuid::new_v4();
    let mut e1 = new_event(1);
    e1.command_id = Some(cmd);
    let e1 = incoming(sign(e1));
    let mut e2 = new_event(2);
    e2.command_id = Some(cmd);
    let out = ingest(&f, vec![e1.clone(), incoming(sign(e2))]).await;
    assert_eq!(
        reasons(&out),
        vec![None, Some(RejectionReason::DuplicateCommandId)]
    );
    // Exact replay of the command's event: stored receipt.
    let replay = ingest(&f, vec![e1]).await;
    assert_eq!(replay.replayed_count(), 1);

    // A failing event releases its reservation, inside one batch and across batches.
    let cmd2 = Uuid::new_v4();
    let mut bad = new_event(3);
    bad.command_id = Some(cmd2);
    bad.base_version = Some(7);
    let mut good = new_event(3);
    good.command_id = Some(cmd2);
    good.base_version = Some(0);
    let out = ingest(&f, vec![incoming(sign(bad)), incoming(sign(good))]).await;
    assert_eq!(
        reasons(&out),
        vec![Some(RejectionReason::VersionConflict), None]
    );

    let cmd3 = Uuid::new_v4();
    let mut forged = new_event(4);
    forged.command_id = Some(cmd3);
    let mut forged = sign(forged);
    forged.agent_signature.0[10] ^= 1;
    let out = ingest(&f, vec![incoming(forged)]).await;
    assert_eq!(reasons(&out), vec![Some(RejectionReason::InvalidSignature)]);
    let mut retry = new_event(4);
    retry.command_id = Some(cmd3);
    let out = ingest(&f, vec![incoming(sign(retry))]).await;
    assert_eq!(out.accepted_count(), 1);

    // command ids are per stream: the same id is free in another store.
    let mut elsewhere = new_event(5);
    elsewhere.command_id = Some(cmd);
    elsewhere.store_id = Uuid::from_u128(0x5_0002);
    let out = ingest(&f, vec![incoming(sign(elsewhere))]).await;
    assert_eq!(out.accepted_count(), 1);
}

async fn base_version_is_optimistic_concurrency(backend: Backend) {
    let f = fixture_on(backend).await;
    let with_base = |base: Option<u64>| {
        let mut e = new_event(0);
        e.entity_id = "X".into();
        e.base_version = base;
        incoming(sign(e))
    };
    let out = ingest(&f, vec![with_base(Some(0)), with_base(Some(0))]).await;
    assert_eq!(
        reasons(&out),
        vec![None, Some(RejectionReason::VersionConflict)]
    );
    let out = ingest(
        &f,
        vec![
            with_base(Some(1)),
            with_base(None),
            with_base(Some(3)),
            with_base(Some(2)),
        ],
    )
    .await;
    assert_eq!(
        reasons(&out),
        vec![None, None, None, Some(RejectionReason::VersionConflict)]
    );
    let out = ingest(&f, vec![with_base(Some(4))]).await;
    assert_eq!(out.accepted_count(), 1);
}

async fn key_validity_is_judged_at_receipt_time(backend: Backend) {
    let f = fixture_on(backend).await;
    let now = Utc::now();
    register(&f.seq, 2, Some(now + Duration::hours(1)), None).await;
    register(
        &f.seq,
        3,
        Some(now - Duration::hours(2)),
        Some(now - Duration::hours(1)),
    )
    .await;
    let with_key = |key_id: u32| {
        let mut e = new_event(u64::from(key_id));
        e.agent_key_id = key_id;
        incoming(sign(e))
    };
    let accepted = with_key(1);
    let out = ingest(
        &f,
        vec![with_key(2), with_key(3), with_key(9), accepted.clone()],
    )
    .await;
    let invalid = Some(RejectionReason::AgentKeyInvalid);
    assert_eq!(reasons(&out), vec![invalid, invalid, invalid, None]);
    let messages: Vec<String> = out
        .outcomes
        .iter()
        .filter_map(|o| match o {
            EventOutcome::Rejected(r) => Some(r.message.clone()),
            _ => None,
        })
        .collect();
    assert!(messages[0].contains("not yet valid"), "{messages:?}");
    assert!(messages[1].contains("expired"), "{messages:?}");
    assert!(messages[2].contains("not found"), "{messages:?}");

    let revoked = f.seq.revoke_key(TENANT, AGENT, 1).await.expect("revoke");
    assert!(revoked.revoked_at.is_some());
    let again = f
        .seq
        .revoke_key(TENANT, AGENT, 1)
        .await
        .expect("idempotent");
    assert_eq!(again.revoked_at, revoked.revoked_at);
    let out = ingest(&f, vec![with_key(1)]).await;
    assert_eq!(reasons(&out), vec![invalid]);
    // An event accepted before the revocation is still answered with its receipt.
    let out = ingest(&f, vec![accepted]).await;
    assert_eq!(out.replayed_count(), 1);
    assert!(matches!(
        f.seq.revoke_key(TENANT, AGENT, 42).await,
        Err(EngineError::NotFound(_))
    ));
}

async fn a_bad_signature_names_the_right_event(backend: Backend) {
    let f = fixture_on(backend).await;
    let mut events: Vec<EventEnvelope> = (0..10).map(|i| sign(new_event(i))).collect();
    events[3].agent_signature.0[0] ^= 0x80;
    // Event 7 is signed by a different key than the one it names.
    events[7].agent_signature = sign_event(
        &agent_key(5),
        &events[7].event_signing_hash().expect("hash"),
    );
    let out = ingest(&f, events.into_iter().map(incoming).collect()).await;
    let bad: Vec<usize> = reasons(&out)
        .iter()
        .enumerate()
        .filter(|(_, r)| **r == Some(RejectionReason::InvalidSignature))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(bad, vec![3, 7]);
    assert_eq!(out.sequence_range(), Some((1, 8)));
}

async fn stateless_checks_reject_per_event(backend: Backend) {
    let f = fixture_on(backend).await;
    let mut wrong_hash = sign(new_event(1));
    wrong_hash.payload = Some(json!({"tampered": true}));
    let mut v3 = new_event(2);
    v3.ves_version = 2;
    let mut v3 = sign(v3);
    v3.ves_version = 3;
    let mut empty_type = new_event(3);
    empty_type.entity_type = String::new();
    let out = ingest(
        &f,
        vec![
            incoming(wrong_hash),
            incoming(v3),
            incoming(sign(empty_type)),
        ],
    )
    .await;
    assert_eq!(
        reasons(&out),
        vec![
            Some(RejectionReason::InvalidPayloadHash),
            Some(RejectionReason::UnsupportedVersion),
            Some(RejectionReason::SchemaValidation)
        ]
    );
    assert_eq!(out.head_sequence, 0);
}

async fn whole_batch_errors(backend: Backend) {
    let f = fixture_on(backend).await;
    let err = |r: Result<IngestOutcome, EngineError>| match r {
        Err(EngineError::Batch(b)) => b,
        other => panic!("expected a batch error, got {other:?}"),
    };
    assert_eq!(err(f.seq.ingest(AGENT, vec![]).await), BatchError::Empty);
    let mut mixed = batch(2);
    let mut other = new_event(9);
    other.store_id = Uuid::from_u128(0x5_0009);
    mixed.push(incoming(sign(other)));
    assert_eq!(
        err(f.seq.ingest(AGENT, mixed).await),
        BatchError::MixedStreams
    );
    assert_eq!(
        err(f.seq.ingest(Uuid::from_u128(0xbad), batch(2)).await),
        BatchError::WrongAgent { index: 0 }
    );
    let full = batch(1000);
    let mut too_many = full.clone();
    too_many.push(incoming(sign(new_event(1000))));
    assert_eq!(
        err(f.seq.ingest(AGENT, too_many).await),
        BatchError::TooManyEvents(1001)
    );
    assert_eq!(ingest(&f, full).await.sequence_range(), Some((1, 1000)));
}

async fn require_v2_per_stream(backend: Backend) {
    let mut config = SequencerConfig::new("test-sequencer");
    config.require_v2_streams = HashSet::from([stream()]);
    let f = fixture_on_with(backend, config).await;
    let v1 = |store: Uuid| {
        let mut e = new_event(1);
        e.ves_version = 1;
        e.store_id = store;
        incoming(sign(e))
    };
    let out = ingest(&f, vec![v1(STORE), incoming(sign(new_event(2)))]).await;
    assert_eq!(
        reasons(&out),
        vec![Some(RejectionReason::UnsupportedVersion), None]
    );
    let out = ingest(&f, vec![v1(Uuid::from_u128(0x5_0002))]).await;
    assert_eq!(out.accepted_count(), 1);
}

backend_tests!(
    sequence_numbers_are_gap_free_and_receipts_verify,
    exact_replay_returns_the_stored_receipt,
    modified_replay_is_duplicate_event_id,
    command_id_dedup_and_release_on_failure,
    base_version_is_optimistic_concurrency,
    key_validity_is_judged_at_receipt_time,
    a_bad_signature_names_the_right_event,
    stateless_checks_reject_per_event,
    whole_batch_errors,
    require_v2_per_stream,
);
