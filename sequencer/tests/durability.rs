//! Close and reopen the store (both backends): events, heads, receipts, commitments, keys and
//! cursors persist, and sequencing continues where it stopped.

mod common;

use common::*;
use ves::store::{CursorUpdate, EventOutcome};
use ves::*;

async fn everything_persists_across_reopen(backend: Backend) {
    let f = fixture_on(backend).await;
    let events = batch(5);
    let first = f.seq.ingest(AGENT, events.clone()).await.expect("ingest");
    let commitment = f.seq.commit(stream(), None).await.expect("commit");
    f.seq.ingest(AGENT, batch(2)).await.expect("ingest more");
    f.seq
        .update_sync_state(
            stream(),
            AGENT,
            CursorUpdate {
                last_pushed_sequence: None,
                last_pulled_sequence: Some(4),
            },
        )
        .await
        .expect("cursor");
    register(&f.seq, 2, None, None).await;
    f.seq.revoke_key(TENANT, AGENT, 2).await.expect("revoke");
    let before = f.seq.pull(stream(), 1, 100).await.expect("pull");
    let keys_before = f.seq.list_keys(TENANT, None).await.expect("keys");
    let state_before = f.seq.sync_state(stream(), AGENT).await.expect("state");

    // Close: drop every handle on the store (the data stays), then open it again.
    let f = f.reopen(SequencerConfig::new("test-sequencer")).await;
    let seq = &f.seq;
    let after = seq.pull(stream(), 1, 100).await.expect("pull");
    assert_eq!(after, before);
    assert_eq!(after.head_sequence, 7);
    let head = seq.head(stream()).await.expect("head");
    assert_eq!(head.latest_commitment, Some(commitment.clone()));
    assert_eq!(
        seq.list_keys(TENANT, None).await.expect("keys"),
        keys_before
    );
    assert_eq!(
        seq.sync_state(stream(), AGENT).await.expect("state"),
        state_before
    );
    let stored = seq
        .event(first.accepted[2].event_id)
        .await
        .expect("event")
        .expect("present");
    assert_eq!(stored.receipt, first.accepted[2].receipt);
    assert_eq!(stored.envelope_json, events[2].envelope_json);

    // Replays after the restart return the original receipts; new events continue at 8.
    let replay = seq.ingest(AGENT, events).await.expect("replay");
    let receipts: Vec<SignedReceipt> = replay
        .outcomes
        .iter()
        .filter_map(|o| match o {
            EventOutcome::Replayed(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    let original: Vec<SignedReceipt> = first.accepted.iter().map(|e| e.receipt.clone()).collect();
    assert_eq!(receipts, original);
    let more = seq.ingest(AGENT, batch(1)).await.expect("ingest");
    assert_eq!(more.sequence_range(), Some((8, 8)));
    let next = seq.commit(stream(), None).await.expect("commit");
    next.verify(Some(&commitment), None)
        .expect("chain continues");
}

backend_tests!(everything_persists_across_reopen);
