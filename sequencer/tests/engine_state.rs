//! Engine state beyond ingest: commitments and proofs, the live channel, sync cursors and
//! key registration, against a temp-dir SQLite store.

mod common;

use common::*;
use ves::engine::EngineError;
use ves::store::CursorUpdate;
use ves::*;

async fn ingest(f: &Fixture, events: Vec<IncomingEvent>) -> IngestOutcome {
    f.seq.ingest(AGENT, events).await.expect("ingest")
}

#[tokio::test]
async fn commitments_chain_and_proofs_verify() {
    let f = fixture().await;
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

#[tokio::test]
async fn live_channel_publishes_accepted_events() {
    let f = fixture().await;
    let mut rx = f.seq.subscribe();
    let out = ingest(&f, batch(3)).await;
    for expected in &out.accepted {
        let got = rx.recv().await.expect("recv");
        assert_eq!(got.sequence_number, expected.sequence_number);
        assert_eq!(got.event_id, expected.event_id);
    }
}

#[tokio::test]
async fn sync_cursors_move_forward_only_and_not_past_head() {
    let f = fixture().await;
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

#[tokio::test]
async fn key_registration_rules() {
    let f = fixture().await;
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
