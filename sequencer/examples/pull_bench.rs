//! Reads of a large stream: fills one stream with `--events` events (default 1,000,000) through
//! the engine (strict signature checks, receipts, durable SQLite), commits them as one Merkle
//! commitment, then measures pull throughput over HTTP (pages of 1000, the API's largest) and
//! inclusion-proof generation for random events (engine and HTTP).
//!
//! ```text
//! cargo run --release -p ves-sequencer --example pull_bench -- [--events 1000000]
//!     [--proofs 20] [--dir PATH]
//! ```
//!
//! The database takes about 2 KB per event on disk (2 GB for a million); it lives in a temp
//! dir unless `--dir` is given, and is deleted at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::json;
use uuid::Uuid;
use ves::api::{router, ApiKeys, ApiState, Principal, Role};
use ves::engine::KeyRegistration;
use ves::*;

const API_KEY: &str = "bench-reader-key-0123456789";
const TENANT: Uuid = Uuid::from_u128(0xbe_0002);
const STORE: Uuid = Uuid::from_u128(0x5e_0002);
const AGENT: Uuid = Uuid::from_u128(0xbe_00aa);
const BATCH: usize = 1000;

#[derive(Debug, Parser)]
struct Args {
    /// Events in the stream.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Inclusion proofs to generate (random events).
    #[arg(long, default_value_t = 20)]
    proofs: usize,
    /// Directory for the SQLite database (default: a temp dir).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

/// `n` signed events, generated on all cores.
fn events(sk: &SigningKey, first: usize, n: usize) -> Result<Vec<IncomingEvent>> {
    let indices: Vec<usize> = (first..first + n).collect();
    let made = ves::parallel::map(&indices, |&i| {
        NewEvent {
            ves_version: 2,
            event_id: Uuid::new_v4(),
            tenant_id: TENANT,
            store_id: STORE,
            source_agent_id: AGENT,
            agent_key_id: 1,
            entity_type: "Reading".into(),
            entity_id: format!("sensor-{}", i % 1000),
            event_type: "Measured".into(),
            created_at: "2025-06-01T12:00:00.000Z".into(),
            command_id: None,
            base_version: None,
        }
        .sign_plain(json!({"n": i, "value": 20.5, "unit": "C"}), sk)
        .map_err(anyhow::Error::from)
        .and_then(|e| IncomingEvent::from_envelope(e).map_err(anyhow::Error::from))
    });
    made.into_iter().collect()
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted
        .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let temp = tempfile::tempdir()?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    let db = dir.join(format!("pull-bench-{}.db", Uuid::new_v4()));
    let store = SqliteStore::open(&db).context("open store")?;
    let seq = Arc::new(Sequencer::new(
        Arc::new(store),
        SigningKey::from_bytes(&[0x5e; 32]),
        SequencerConfig::new("bench"),
    ));
    let sk = SigningKey::from_bytes(&[0xbd; 32]);
    seq.register_key(
        KeyRegistration {
            tenant_id: TENANT,
            agent_id: AGENT,
            key_id: 1,
            public_key: Ed25519PublicKey::from_signing_key(&sk),
            valid_from: Some(chrono::DateTime::UNIX_EPOCH),
            valid_to: None,
            proof_of_possession: None,
        },
        false,
    )
    .await?;
    let stream = StreamKey::new(TENANT, STORE);

    // Fill: generation of the next batch overlaps the ingest of this one.
    let started = Instant::now();
    let mut ingest_time = Duration::ZERO;
    let mut next = events(&sk, 0, BATCH.min(args.events))?;
    let mut done = 0;
    while done < args.events {
        let batch = std::mem::take(&mut next);
        let n = batch.len();
        let after = done + n;
        let make = (after < args.events).then(|| {
            let sk = sk.clone();
            let count = BATCH.min(args.events - after);
            tokio::task::spawn_blocking(move || events(&sk, after, count))
        });
        let t = Instant::now();
        let out = seq.ingest(AGENT, batch).await?;
        ingest_time += t.elapsed();
        anyhow::ensure!(out.accepted_count() == n, "batch not fully accepted");
        done = after;
        if let Some(make) = make {
            next = make.await??;
        }
        if done % 100_000 == 0 {
            eprintln!("  {done} events stored");
        }
    }
    println!(
        "fill: {} events in {:.1} s ({:.0} events/s, engine ingest alone {:.0} events/s); database {:.2} GB",
        args.events,
        started.elapsed().as_secs_f64(),
        args.events as f64 / started.elapsed().as_secs_f64(),
        args.events as f64 / ingest_time.as_secs_f64(),
        std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64 / 1e9
    );

    let t = Instant::now();
    let commitment = seq.commit(stream, None).await?;
    println!(
        "commit: one commitment over {} events in {:.2} s (leaf hashes read + Merkle tree)",
        commitment.leaf_count,
        t.elapsed().as_secs_f64()
    );

    let keys = ApiKeys::new().with(
        API_KEY,
        Principal {
            tenant_id: Some(TENANT),
            store_id: None,
            role: Role::Admin,
        },
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = router(ApiState::new(Arc::clone(&seq), keys));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();

    // Pull the whole stream over HTTP.
    let t = Instant::now();
    let mut from = 1u64;
    let mut pulled = 0usize;
    let mut sample_ids = Vec::new();
    loop {
        let page: serde_json::Value = client
            .get(format!(
                "{base}/api/v1/events?tenant_id={TENANT}&store_id={STORE}&from={from}&limit=1000"
            ))
            .bearer_auth(API_KEY)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let events = page["events"].as_array().context("events")?;
        pulled += events.len();
        if pulled % (args.events / args.proofs.max(1)).max(1) < events.len() {
            if let Some(id) = events.first().and_then(|e| e["event"]["event_id"].as_str()) {
                sample_ids.push(id.to_owned());
            }
        }
        if page["has_more"] != true {
            break;
        }
        from = page["next_sequence"].as_u64().context("next_sequence")?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "pull over HTTP: {pulled} events in {secs:.1} s ({:.0} events/s, pages of 1000)",
        pulled as f64 / secs
    );
    anyhow::ensure!(pulled == args.events, "pulled {pulled} of {}", args.events);

    // Inclusion proofs of random events (first one includes any cold start).
    let mut engine = Vec::new();
    let mut http = Vec::new();
    for id in sample_ids.iter().take(args.proofs) {
        let event_id: Uuid = id.parse()?;
        let t = Instant::now();
        let proof = seq.inclusion_proof(event_id).await?;
        engine.push(t.elapsed());
        anyhow::ensure!(proof.commitment.seq_end == commitment.seq_end);
        let t = Instant::now();
        let body: serde_json::Value = client
            .get(format!("{base}/api/v1/proofs/{id}"))
            .bearer_auth(API_KEY)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        http.push(t.elapsed());
        anyhow::ensure!(body.is_object(), "proof body");
    }
    // `commit` keeps the tree, so even the first proof should not read the leaves again (a
    // restarted sequencer would: the first proof then builds the tree).
    let cold = engine.first().copied().unwrap_or_default();
    let mut warm: Vec<Duration> = engine.iter().skip(1).copied().collect();
    warm.sort();
    http.sort();
    println!(
        "inclusion proof in a {}-event commitment: first {:.1} ms; then engine p50 {:.2} ms p99 {:.2} ms; HTTP p50 {:.2} ms p99 {:.2} ms ({} proofs)",
        commitment.leaf_count,
        cold.as_secs_f64() * 1e3,
        percentile(&warm, 50).as_secs_f64() * 1e3,
        percentile(&warm, 99).as_secs_f64() * 1e3,
        percentile(&http, 50).as_secs_f64() * 1e3,
        percentile(&http, 99).as_secs_f64() * 1e3,
        engine.len()
    );
    drop(temp);
    let _ = std::fs::remove_file(&db);
    Ok(())
}
