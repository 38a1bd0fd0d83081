//! Engine state beyond ingest: commitments and proofs, the live channel, sync cursors and
//! key registration, the same suite against both storage backends.

mod common;

use common::*;
use uuid::Uuid;
use ves::engine::EngineError;
use ves::store::CursorUpdate;
use ves::*;

async fn ingest(f: &Fixture, events: Vec<IncomingEvent>) -> IngestOutcome {
    f.seq.ingest(AGENT, events).await.expect("ingest")
}

async fn commitments_chain_and_proofs_verify(backend: Backend) {
    let f = fixture_on(backend).await;
    let first = ingest(&f, batch(5)).await;
    let c1 = f.seq.commit(stream(), None).await.expect("commit");
    assert_eq!((c1.seq_start, c1.seq_end, c1.leaf_count), (1, 5, 5));
    c1.verify(None, None).expect("c1");
    ingest(&f, batch(3)).await;
    let c2 = f.seq.commit(stream(), Some(7)).await.expect("commit to 7");
    assert_eq!((c2.seq_start, c2.seq_end), (6, 7));
    c2.verify(Some(&c1), None).expect("chained");
    let c3 = f.seq.commit(stream(), None).await.expect("commit rest");
    assert_eq!((c3.seq_start, c3.seq_end), (8, 8));
    assert!(matches!(
        f.seq.commit(stream(), None).await,
        Err(EngineError::Conflict {
            code: "nothing_to_commit",
            ..
        })
    ));
    assert!(matches!(
        f.seq.commit(stream(), Some(99)).await,
        Err(EngineError::Invalid {
            code: "range_beyond_head",
            ..
        })
    ));
    let head = f.seq.head(stream()).await.expect("head");
    assert_eq!(head.latest_commitment.as_ref(), Some(&c3));

    for ev in &first.accepted {
        let proof = f.seq.inclusion_proof(ev.event_id).await.expect("proof");
        proof.verify().expect("proof verifies");
        assert_eq!(proof.commitment, c1);
        verify_inclusion(&ev.leaf_hash(), &proof.proof, &c1.merkle_root).expect("inclusion");
    }
    let listed = f.seq.commitments(stream(), 0, 10).await.expect("list");
    assert_eq!(listed, vec![c1.clone(), c2.clone(), c3]);
    assert_eq!(f.seq.commitment(stream(), 7).await.expect("by end"), c2);

    let pending = ingest(&f, batch(1)).await;
    assert!(matches!(
        f.seq.inclusion_proof(pending.accepted[0].event_id).await,
        Err(EngineError::Conflict {
            code: "not_committed",
            ..
        })
    ));
}

async fn live_channel_publishes_accepted_events(backend: Backend) {
    let f = fixture_on(backend).await;
    let mut rx = f.seq.subscribe();
    let out = ingest(&f, batch(3)).await;
    for expected in &out.accepted {
        let got = rx.recv().await.expect("recv");
        assert_eq!(got.sequence_number, expected.sequence_number);
        assert_eq!(got.event_id, expected.event_id);
    }
}

async fn sync_cursors_move_forward_only_and_not_past_head(backend: Backend) {
    let f = fixture_on(backend).await;
    ingest(&f, batch(5)).await;
    let state = f.seq.sync_state(stream(), AGENT).await.expect("state");
    assert_eq!(
        (
            state.last_pushed_sequence,
            state.last_pulled_sequence,
            state.lag
        ),
        (5, 0, 5)
    );
    let pulled = |n: u64| CursorUpdate {
        last_pushed_sequence: None,
        last_pulled_sequence: Some(n),
    };
    let s = f
        .seq
        .update_sync_state(stream(), AGENT, pulled(3))
        .await
        .expect("update");
    assert_eq!((s.last_pulled_sequence, s.lag, s.head_sequence), (3, 2, 5));
    assert!(s.last_sync_at.is_some());
    let s = f
        .seq
        .update_sync_state(stream(), AGENT, pulled(2))
        .await
        .expect("backwards is ignored");
    assert_eq!(s.last_pulled_sequence, 3);
    assert!(matches!(
        f.seq.update_sync_state(stream(), AGENT, pulled(6)).await,
        Err(EngineError::Conflict {
            code: "cursor_beyond_head",
            ..
        })
    ));
}

async fn key_registration_rules(backend: Backend) {
    let f = fixture_on(backend).await;
    // Identical re-registration is idempotent; a different key under the same id conflicts.
    let again = register(&f.seq, 1, None, None).await;
    assert_eq!(again.key_id, 1);
    let sk = agent_key(7);
    let conflict = f
        .seq
        .register_key(
            ves::engine::KeyRegistration {
                tenant_id: TENANT,
                agent_id: AGENT,
                key_id: 1,
                public_key: Ed25519PublicKey::from_signing_key(&sk),
                valid_from: None,
                valid_to: None,
                proof_of_possession: Some(sign_pop(&sk)),
            },
            true,
        )
        .await;
    assert!(matches!(
        conflict,
        Err(EngineError::Conflict {
            code: "key_exists",
            ..
        })
    ));
    let bad_pop = f
        .seq
        .register_key(
            ves::engine::KeyRegistration {
                tenant_id: TENANT,
                agent_id: AGENT,
                key_id: 8,
                public_key: Ed25519PublicKey::from_signing_key(&sk),
                valid_from: None,
                valid_to: None,
                proof_of_possession: Some(sign_pop(&agent_key(1))),
            },
            true,
        )
        .await;
    assert!(matches!(
        bad_pop,
        Err(EngineError::Invalid {
            code: "invalid_proof_of_possession",
            ..
        })
    ));
    let keys = f.seq.list_keys(TENANT, Some(AGENT)).await.expect("list");
    assert_eq!(keys.len(), 1);
}

/// Values a backend could mangle: nanosecond times, NUL and non-ASCII in entity strings.
async fn exotic_values_round_trip(backend: Backend) {
    let f = fixture_on(backend).await;
    let valid_from = chrono::DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("time");
    let first = register(&f.seq, 2, Some(valid_from), None).await;
    let again = register(&f.seq, 2, Some(valid_from), None).await;
    assert_eq!(
        (first.valid_from, again.valid_from),
        (valid_from, valid_from)
    );
    let listed = f.seq.list_keys(TENANT, Some(AGENT)).await.expect("list");
    assert_eq!(listed[1].valid_from, valid_from);

    let entity = |base: u64| {
        let mut e = new_event(0);
        e.entity_type = "Ord\u{0}er".into();
        e.entity_id = "ü-\u{0}-😀".into();
        e.base_version = Some(base);
        incoming(sign(e))
    };
    let out = ingest(&f, vec![entity(0)]).await;
    assert_eq!(out.accepted_count(), 1);
    let out = ingest(&f, vec![entity(1), entity(1)]).await;
    assert_eq!((out.accepted_count(), out.rejected_count()), (1, 1));
    let page = f.seq.pull(stream(), 1, 10).await.expect("pull");
    assert_eq!(page.events.len(), 2);
    assert_eq!(page.events[1].entity_type, "Ord\u{0}er");
    assert_eq!(page.events[1].entity_id, "ü-\u{0}-😀");
    assert_eq!(page.events[1], *out.accepted[0]);
}

/// Batches that arrive together are stored together (SQLite commits them as one group): each
/// must still see the ones stored before it, exactly as if they had come one by one.
async fn concurrent_batches_see_each_other(backend: Backend) {
    let f = fixture_on(backend).await;
    let same = batch(40);
    let contested = |n: u64| {
        let mut e = new_event(n);
        e.entity_id = "contested".into();
        e.base_version = Some(0);
        incoming(sign(e))
    };
    let command = Uuid::new_v4();
    let with_command = |n: u64| {
        let mut e = new_event(n);
        e.command_id = Some(command);
        incoming(sign(e))
    };
    let mut tasks = Vec::new();
    for i in 0..12u64 {
        let seq = f.seq.clone();
        let events = match i % 3 {
            0 => same.clone(),
            1 => vec![contested(i)],
            _ => vec![with_command(i)],
        };
        tasks.push(tokio::spawn(async move { seq.ingest(AGENT, events).await }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.expect("join").expect("ingest"));
    }
    // The same 40 events four times: accepted once, then exact replays with the same receipts.
    let copies: Vec<&IngestOutcome> = outcomes.iter().step_by(3).collect();
    assert_eq!(copies.iter().map(|o| o.accepted_count()).sum::<usize>(), 40);
    assert_eq!(
        copies.iter().map(|o| o.replayed_count()).sum::<usize>(),
        120
    );
    let receipts = |o: &IngestOutcome| -> Vec<SignedReceipt> {
        o.outcomes
            .iter()
            .map(|x| match x {
                ves::store::EventOutcome::Accepted(r) | ves::store::EventOutcome::Replayed(r) => {
                    r.clone()
                }
                ves::store::EventOutcome::Rejected(r) => panic!("rejected: {r:?}"),
            })
            .collect()
    };
    for o in &copies[1..] {
        assert_eq!(receipts(o), receipts(copies[0]));
    }
    // One of the four base_version = 0 writers wins; one of the four command_id users wins.
    let won = |k: usize| {
        outcomes
            .iter()
            .skip(k)
            .step_by(3)
            .filter(|o| o.accepted_count() == 1)
            .count()
    };
    assert_eq!((won(1), won(2)), (1, 1));
    let page = f.seq.pull(stream(), 1, 1000).await.expect("pull");
    let seqs: Vec<u64> = page.events.iter().map(|e| e.sequence_number).collect();
    assert_eq!(seqs, (1..=42).collect::<Vec<_>>());
}

backend_tests!(
    concurrent_batches_see_each_other,
    exotic_values_round_trip,
    commitments_chain_and_proofs_verify,
    live_channel_publishes_accepted_events,
    sync_cursors_move_forward_only_and_not_past_head,
    key_registration_rules,
);
