//! The PostgreSQL backend shared by several sequencer "processes": each is its own
//! `PostgresStore` (own connection pool) and `Sequencer` (own receipt key) over one schema of
//! the real test server, run on a multi-threaded runtime.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::pg::TestSchema;
use common::*;
use sqlx::Row;
use tokio::sync::Barrier;
use uuid::Uuid;
use ves::engine::EngineError;
use ves::store::EventOutcome;
use ves::*;

/// `n` sequencer processes over one fresh schema; key 1 of `AGENT` registered.
async fn processes(schema: &TestSchema, n: u8) -> Vec<Arc<Sequencer>> {
    let mut all = Vec::new();
    for i in 0..n {
        let store = schema.store(3).await;
        all.push(Arc::new(Sequencer::new(
            Arc::new(store),
            SigningKey::from_bytes(&[0x70 + i; 32]),
            SequencerConfig::new(format!("process-{i}")),
        )));
    }
    register(
        &all[0],
        1,
        Some(chrono::Utc::now() - chrono::Duration::hours(1)),
        None,
    )
    .await;
    all
}

fn receipt_of(outcome: &EventOutcome) -> Option<&SignedReceipt> {
    match outcome {
        EventOutcome::Accepted(r) | EventOutcome::Replayed(r) => Some(r),
        EventOutcome::Rejected(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_processes_keep_one_stream_gap_free() {
    let schema = TestSchema::new();
    let procs = processes(&schema, 4).await;
    // 4 processes × 3 clients × 6 batches of 1..=9 events.
    let mut tasks = Vec::new();
    for (p, seq) in procs.iter().enumerate() {
        for client in 0..3 {
            let seq = seq.clone();
            tasks.push(tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for round in 0..6u64 {
                    let size = 1 + (p as u64 * 7 + client * 3 + round * 5) % 9;
                    outcomes.push(seq.ingest(AGENT, batch(size)).await?);
                }
                Ok::<_, EngineError>((p, outcomes))
            }));
        }
    }
    let mut sent = 0u64;
    let mut by_seq = std::collections::BTreeMap::new();
    for t in tasks {
        let (p, outcomes) = t.await.expect("join").expect("ingest");
        for out in outcomes {
            let n = out.event_ids.len() as u64;
            sent += n;
            assert_eq!(out.accepted_count() as u64, n);
            // One batch = one transaction under the stream lock: a contiguous range.
            let (start, end) = out.sequence_range().expect("accepted");
            assert_eq!(end - start + 1, n);
            for ev in &out.accepted {
                ev.receipt
                    .verify(
                        &procs[p].public_key(),
                        &TENANT,
                        &STORE,
                        &ev.event_signing_hash,
                    )
                    .expect("receipt signed by the accepting process");
                assert!(by_seq.insert(ev.sequence_number, ev.event_id).is_none());
            }
        }
    }
    assert_eq!(sent, by_seq.len() as u64);
    assert_eq!(
        by_seq.keys().copied().collect::<Vec<_>>(),
        (1..=sent).collect::<Vec<_>>()
    );
    // Every process reads the same gap-free stream.
    for seq in &procs {
        let page = seq.pull(stream(), 1, 1000).await.expect("pull");
        assert_eq!(page.head_sequence, sent);
        let stored: Vec<(u64, Uuid)> = page
            .events
            .iter()
            .map(|e| (e.sequence_number, e.event_id))
            .collect();
        assert_eq!(stored, by_seq.clone().into_iter().collect::<Vec<_>>());
    }
    let state = procs[1].sync_state(stream(), AGENT).await.expect("state");
    assert_eq!(state.last_pushed_sequence, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_event_from_two_processes_is_accepted_once() {
    let schema = TestSchema::new();
    let procs = processes(&schema, 2).await;
    for round in 0..15u64 {
        let events = batch(1 + round % 4);
        let barrier = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = procs
            .iter()
            .map(|seq| {
                let (seq, events, barrier) = (seq.clone(), events.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    seq.ingest(AGENT, events).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.expect("join").expect("ingest"));
        }
        let (a, b) = (&results[0], &results[1]);
        let n = events.len();
        assert_eq!(a.accepted_count() + b.accepted_count(), n, "round {round}");
        assert_eq!(a.replayed_count() + b.replayed_count(), n, "round {round}");
        assert_eq!(a.rejected_count() + b.rejected_count(), 0, "round {round}");
        // Both callers hold the same receipts: the winner's, replayed exactly to the loser.
        for (x, y) in a.outcomes.iter().zip(&b.outcomes) {
            assert_eq!(receipt_of(x), receipt_of(y), "round {round}");
        }
    }
    let page = procs[0].pull(stream(), 1, 1000).await.expect("pull");
    let expected: u64 = (0..15u64).map(|r| 1 + r % 4).sum();
    assert_eq!(page.head_sequence, expected);
    assert_eq!(page.events.len() as u64, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_command_id_from_two_processes_is_accepted_once() {
    let schema = TestSchema::new();
    let procs = processes(&schema, 2).await;
    for round in 0..10u64 {
        let command = Uuid::new_v4();
        let barrier = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = procs
            .iter()
            .map(|seq| {
                let mut ev = new_event(round);
                ev.command_id = Some(command);
                let (seq, barrier) = (seq.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    seq.ingest(AGENT, vec![incoming(sign(ev))]).await
                })
            })
            .collect();
        let mut reasons = Vec::new();
        for t in tasks {
            let out = t.await.expect("join").expect("ingest");
            reasons.push(match &out.outcomes[0] {
                EventOutcome::Accepted(_) => None,
                EventOutcome::Rejected(r) => Some(r.reason),
                EventOutcome::Replayed(_) => panic!("different events cannot replay"),
            });
        }
        assert_eq!(
            reasons.iter().filter(|r| r.is_none()).count(),
            1,
            "round {round}"
        );
        assert!(
            reasons.contains(&Some(RejectionReason::DuplicateCommandId)),
            "round {round}: {reasons:?}"
        );
    }
}

/// `event_id` is unique across streams, which the per-stream lock does not serialise: the
/// unique constraint decides and the loser's transaction is retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_event_id_on_two_streams_races_to_one_winner() {
    let schema = TestSchema::new();
    let procs = processes(&schema, 2).await;
    let stores = [STORE, Uuid::from_u128(0x5_0002)];
    for round in 0..15u64 {
        let event_id = Uuid::new_v4();
        let barrier = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = procs
            .iter()
            .zip(stores)
            .map(|(seq, store)| {
                let mut ev = new_event(round);
                ev.event_id = event_id;
                ev.store_id = store;
                // A second, unrelated event in the same batch must be unaffected.
                let mut other = new_event(round);
                other.store_id = store;
                let events = vec![incoming(sign(ev)), incoming(sign(other))];
                let (seq, barrier) = (seq.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    seq.ingest(AGENT, events).await
                })
            })
            .collect();
        let mut winners = 0;
        for t in tasks {
            let out = t.await.expect("join").expect("ingest");
            match &out.outcomes[0] {
                EventOutcome::Accepted(_) => winners += 1,
                EventOutcome::Rejected(r) => {
                    assert_eq!(r.reason, RejectionReason::DuplicateEventId, "round {round}")
                }
                EventOutcome::Replayed(_) => panic!("different streams cannot replay"),
            }
            assert!(matches!(out.outcomes[1], EventOutcome::Accepted(_)));
        }
        assert_eq!(winners, 1, "round {round}");
    }
    for store in stores {
        let page = procs[0]
            .pull(StreamKey::new(TENANT, store), 1, 1000)
            .await
            .expect("pull");
        let seqs: Vec<u64> = page.events.iter().map(|e| e.sequence_number).collect();
        assert_eq!(seqs, (1..=page.head_sequence).collect::<Vec<_>>());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commitments_keep_one_chain() {
    let schema = TestSchema::new();
    let procs = processes(&schema, 3).await;
    let mut previous: Option<Commitment> = None;
    for round in 0..8 {
        procs[0].ingest(AGENT, batch(3)).await.expect("ingest");
        let barrier = Arc::new(Barrier::new(procs.len()));
        let tasks: Vec<_> = procs
            .iter()
            .map(|seq| {
                let (seq, barrier) = (seq.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    seq.commit(stream(), None).await
                })
            })
            .collect();
        let mut made = Vec::new();
        for t in tasks {
            match t.await.expect("join") {
                Ok(c) => made.push(c),
                Err(EngineError::Conflict { code, .. }) => {
                    assert!(
                        code == "commitment_conflict" || code == "nothing_to_commit",
                        "{code}"
                    );
                }
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(made.len(), 1, "round {round}: exactly one commitment wins");
        made[0]
            .verify(previous.as_ref(), None)
            .expect("extends the chain");
        previous = made.pop();
    }
    let listed = procs[2].commitments(stream(), 0, 100).await.expect("list");
    assert_eq!(listed.len(), 8);
    assert_eq!(listed.last(), previous.as_ref());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_are_idempotent_under_concurrent_opens() {
    let schema = Arc::new(TestSchema::new());
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let schema = schema.clone();
            tokio::spawn(async move { schema.store(1).await })
        })
        .collect();
    let mut stores = Vec::new();
    for o in opens {
        stores.push(o.await.expect("join"));
    }
    let reopened = schema.store(1).await;
    assert_eq!(reopened.schema(), Some(schema.name.as_str()));
    let mut conn = schema.connection().await;
    let versions: Vec<i32> = sqlx::query("SELECT version FROM ves_schema_migrations")
        .fetch_all(&mut conn)
        .await
        .expect("versions")
        .iter()
        .map(|r| r.get::<i32, _>("version"))
        .collect();
    assert_eq!(versions, vec![1]);
    let tables: HashSet<String> = sqlx::query(
        "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(&schema.name)
    .fetch_all(&mut conn)
    .await
    .expect("tables")
    .iter()
    .map(|r| r.get::<String, _>("t"))
    .collect();
    for t in [
        "ves_agent_keys",
        "ves_streams",
        "ves_events",
        "ves_entities",
        "ves_commitments",
        "ves_sync_cursors",
    ] {
        assert!(tables.contains(t), "{t} missing from {tables:?}");
    }
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let schema = TestSchema::new();
    drop(schema.store(1).await);
    let mut conn = schema.connection().await;
    sqlx::query("INSERT INTO ves_schema_migrations (version) VALUES (99)")
        .execute(&mut conn)
        .await
        .expect("insert");
    let err = PostgresStore::connect(
        &schema.url,
        PostgresOptions {
            schema: Some(schema.name.clone()),
            ..PostgresOptions::default()
        },
    )
    .await
    .expect_err("newer schema");
    assert!(err.to_string().contains("newer than this build"), "{err}");
    let bad = PostgresStore::connect(
        &schema.url,
        PostgresOptions {
            schema: Some("Robert'); DROP TABLE x;--".into()),
            ..PostgresOptions::default()
        },
    )
    .await
    .expect_err("invalid schema name");
    assert!(bad.to_string().contains("invalid schema name"), "{bad}");
}

/// A live event stream served by one process delivers events ingested through another
/// (LISTEN/NOTIFY), in order, without gaps, backlog first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn event_stream_of_one_process_sees_ingests_of_another() {
    use common::http::{read_events, serve_sequencer, AGENT_KEY};

    let schema = TestSchema::new();
    let procs = processes(&schema, 2).await;
    let (a, b) = (procs[0].clone(), procs[1].clone());
    // Backlog written through B before the stream opens on A.
    b.ingest(AGENT, batch(3)).await.expect("backlog");
    let server = serve_sequencer(a, None).await;
    let mut resp = server
        .client
        .get(server.url(&format!(
            "/api/v1/events/stream?tenant_id={TENANT}&store_id={STORE}&from=1"
        )))
        .bearer_auth(AGENT_KEY)
        .send()
        .await
        .expect("open stream");
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let backlog = read_events(&mut resp, 3).await;
    assert_eq!(
        backlog.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );

    // Live: only B writes; A's live channel never sees these events.
    for n in [2, 1, 4] {
        b.ingest(AGENT, batch(n)).await.expect("ingest through B");
    }
    let live = read_events(&mut resp, 7).await;
    assert_eq!(
        live.iter().map(|e| e.0).collect::<Vec<_>>(),
        (4..=10).collect::<Vec<_>>()
    );
    // What arrived is what B stored, receipts included.
    let page = b.pull(stream(), 4, 100).await.expect("pull");
    for ((seq, item), stored) in live.iter().zip(&page.events) {
        assert_eq!(*seq, stored.sequence_number);
        let receipt: SignedReceipt =
            serde_json::from_value(item["receipt"].clone()).expect("receipt");
        assert_eq!(receipt, stored.receipt);
    }
}
