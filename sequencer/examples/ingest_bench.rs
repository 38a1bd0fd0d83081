//! End-to-end ingest benchmark: HTTP (loopback, reqwest) → axum → engine (strict signature
//! verification) → durable storage, one transaction per batch: SQLite (WAL,
//! `synchronous = FULL`) by default, or PostgreSQL with `--database-url`.
//!
//! ```text
//! cargo run --release -p ves-sequencer --example ingest_bench -- [--events 20000]
//!     [--singles 2000] [--concurrency 8] [--dir PATH]
//!     [--database-url postgres://ves:ves@127.0.0.1:55432/ves_test [--pg-connections 16]]
//! ```
//!
//! With PostgreSQL the tables live in a fresh schema `ves_bench_<random>`, dropped at the end.
//!
//! Prints events/s and p50/p99 request latency for batches of 100 and of 1 (sequential and
//! concurrent clients), and `verify_batch` alone (events/s) for the ratio, plus the cost of
//! the stateless per-event checks (hashing) to judge whether parallel hashing could pay.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::json;
use uuid::Uuid;
use ves::api::{router, ApiKeys, ApiState, Principal, Role};
use ves::engine::KeyRegistration;
use ves::validate::{check_event_structure, ValidationPolicy};
use ves::*;

const API_KEY: &str = "bench-agent-key-0123456789";
const TENANT: Uuid = Uuid::from_u128(0xbe_0001);
const AGENT: Uuid = Uuid::from_u128(0xbe_00a9);

#[derive(Debug, Parser)]
struct Args {
    /// Events sent in batches of 100 (per phase).
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Single-event requests (per phase).
    #[arg(long, default_value_t = 2_000)]
    singles: usize,
    /// Concurrent clients in the concurrent phases.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Directory for the SQLite database (default: a temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Benchmark the PostgreSQL backend at this URL instead of SQLite.
    #[arg(long, env = "VES_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    /// PostgreSQL connection pool size.
    #[arg(long, default_value_t = 16)]
    pg_connections: u32,
}

/// The store under test, what to print about it, and the PostgreSQL store to clean up.
async fn open_store(
    args: &Args,
    dir: &std::path::Path,
) -> Result<(Arc<dyn EventStore>, String, Option<PostgresStore>)> {
    match &args.database_url {
        Some(url) => {
            let schema = format!("ves_bench_{}", Uuid::new_v4().simple());
            let store = PostgresStore::connect(
                url,
                PostgresOptions {
                    max_connections: args.pg_connections,
                    schema: Some(schema.clone()),
                    ..PostgresOptions::default()
                },
            )
            .await
            .context("connect to PostgreSQL")?;
            let label = format!(
                "PostgreSQL schema {schema} (pool {}, synchronous_commit on)",
                args.pg_connections
            );
            Ok((Arc::new(store.clone()), label, Some(store)))
        }
        None => {
            let db = dir.join(format!("bench-{}.db", Uuid::new_v4()));
            let store = SqliteStore::open(&db).context("open store")?;
            let label = format!("SQLite {} (WAL, synchronous=FULL)", db.display());
            Ok((Arc::new(store), label, None))
        }
    }
}

fn agent_key() -> SigningKey {
    SigningKey::from_bytes(&[0xbe; 32])
}

fn event(store: Uuid, n: usize) -> Result<EventEnvelope> {
    Ok(NewEvent {
        ves_version: 2,
        event_id: Uuid::new_v4(),
        tenant_id: TENANT,
        store_id: store,
        source_agent_id: AGENT,
        agent_key_id: 1,
        entity_type: "Order".into(),
        entity_id: format!("order-{n}"),
        event_type: "LineAdded".into(),
        created_at: "2025-06-01T12:00:00.000Z".into(),
        command_id: Some(Uuid::new_v4()),
        base_version: None,
    }
    .sign_plain(
        json!({"sku": format!("SKU-{n}"), "qty": n % 17, "price": 12.5, "note": "benchmark line"}),
        &agent_key(),
    )?)
}

/// Request bodies: `requests` batches of `per_batch` events for one store each.
fn bodies(store: Uuid, requests: usize, per_batch: usize) -> Result<Vec<Vec<u8>>> {
    (0..requests)
        .map(|r| {
            let events = (0..per_batch)
                .map(|i| event(store, r * per_batch + i))
                .collect::<Result<Vec<_>>>()?;
            Ok(serde_json::to_vec(
                &json!({"agentId": AGENT, "events": events}),
            )?)
        })
        .collect()
}

struct PhaseResult {
    events: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted
        .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

fn report(name: &str, mut r: PhaseResult) {
    r.latencies.sort();
    println!(
        "{name:<34} {:>9.0} events/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({} events in {:.2} s)",
        r.events as f64 / r.elapsed.as_secs_f64(),
        percentile(&r.latencies, 50).as_secs_f64() * 1e3,
        percentile(&r.latencies, 99).as_secs_f64() * 1e3,
        r.events,
        r.elapsed.as_secs_f64()
    );
}

/// Sends every body of every worker (workers run concurrently, each sequentially).
async fn run(
    client: &reqwest::Client,
    url: &str,
    per_worker: Vec<Vec<Vec<u8>>>,
    per_batch: usize,
) -> Result<PhaseResult> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for bodies in per_worker {
        let (client, url) = (client.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(bodies.len());
            for body in bodies {
                let t = Instant::now();
                let resp = client
                    .post(&url)
                    .bearer_auth(API_KEY)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                let status = resp.status();
                let json: serde_json::Value = resp.json().await?;
                latencies.push(t.elapsed());
                anyhow::ensure!(
                    status.is_success() && json["eventsAccepted"] == per_batch,
                    "unexpected response {status}: {json}"
                );
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    Ok(PhaseResult {
        events: latencies.len() * per_batch,
        elapsed: started.elapsed(),
        latencies,
    })
}

fn verify_only(batches: &[Vec<EventEnvelope>], pk: &Ed25519PublicKey) -> Result<()> {
    let hashes: Vec<Vec<_>> = batches
        .iter()
        .map(|b| b.iter().map(|e| e.event_signing_hash()).collect())
        .collect::<Result<_, _>>()?;
    let n: usize = batches.iter().map(Vec::len).sum();
    let started = Instant::now();
    for (batch, hashes) in batches.iter().zip(&hashes) {
        let items: Vec<BatchItem<'_>> = batch
            .iter()
            .zip(hashes)
            .map(|(e, h)| BatchItem {
                public_key: pk,
                message: *h,
                signature: e.agent_signature,
            })
            .collect();
        verify_batch(&items)?;
    }
    let batch_rate = n as f64 / started.elapsed().as_secs_f64();
    // The reference the target is set against: ed25519-dalek's batch equation on one core
    // (not strict: see `ves::strict`).
    let started = Instant::now();
    for (batch, hashes) in batches.iter().zip(&hashes) {
        let messages: Vec<&[u8]> = hashes.iter().map(|h| h.0.as_slice()).collect();
        let signatures: Vec<ed25519_dalek::Signature> = batch
            .iter()
            .map(|e| ed25519_dalek::Signature::from_bytes(&e.agent_signature.0))
            .collect();
        let keys = vec![*pk.verifying_key(); batch.len()];
        ed25519_dalek::verify_batch(&messages, &signatures, &keys)?;
    }
    let dalek_rate = n as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for (batch, hashes) in batches.iter().zip(&hashes) {
        for (e, h) in batch.iter().zip(hashes) {
            verify_event_signature(pk, h, &e.agent_signature)?;
        }
    }
    let single_rate = n as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for batch in batches {
        for e in batch {
            check_event_structure(e, &ValidationPolicy::default())?;
        }
    }
    let check_rate = n as f64 / started.elapsed().as_secs_f64();
    println!(
        "{:<34} {batch_rate:>9.0} events/s   (strict, split over {} cores)",
        "verify_batch alone (batches of 100)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<34} {dalek_rate:>9.0} events/s   (one core, not strict)",
        "ed25519-dalek verify_batch"
    );
    println!(
        "{:<34} {single_rate:>9.0} events/s",
        "verify_strict one by one"
    );
    println!(
        "{:<34} {check_rate:>9.0} events/s   (JCS + payload hash + signing hash)",
        "stateless checks alone"
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let temp = tempfile::tempdir()?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    let (store, label, postgres) = open_store(&args, &dir).await?;
    let seq = Arc::new(Sequencer::new(
        store,
        SigningKey::from_bytes(&[0x5e; 32]),
        SequencerConfig::new("bench"),
    ));
    let sk = agent_key();
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
    let keys = ApiKeys::new().with(
        API_KEY,
        Principal {
            tenant_id: Some(TENANT),
            store_id: None,
            role: Role::Agent(AGENT),
        },
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/ves/events/ingest", listener.local_addr()?);
    let app = router(ApiState::new(seq.clone(), keys));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;

    println!("database {label}; concurrency {}", args.concurrency);
    let c = args.concurrency.max(1);
    let batches = args.events / 100;
    let store_of = |i: u128| Uuid::from_u128(0x5000 + i);

    let work = vec![bodies(store_of(0), batches, 100)?];
    report("batch 100, 1 client", run(&client, &url, work, 100).await?);
    let work = (0..c)
        .map(|w| bodies(store_of(1 + w as u128), batches / c, 100))
        .collect::<Result<Vec<_>>>()?;
    report(
        &format!("batch 100, {c} clients"),
        run(&client, &url, work, 100).await?,
    );
    let work = vec![bodies(store_of(100), args.singles, 1)?];
    report("batch 1, 1 client", run(&client, &url, work, 1).await?);
    let work = (0..c)
        .map(|w| bodies(store_of(101 + w as u128), args.singles / c, 1))
        .collect::<Result<Vec<_>>>()?;
    report(
        &format!("batch 1, {c} clients"),
        run(&client, &url, work, 1).await?,
    );

    let sample: Vec<Vec<EventEnvelope>> = (0..50)
        .map(|b| {
            (0..100)
                .map(|i| event(store_of(999), b * 100 + i))
                .collect()
        })
        .collect::<Result<_>>()?;
    verify_only(&sample, &Ed25519PublicKey::from_signing_key(&sk))?;
    if let Some(pg) = postgres {
        if let Some(schema) = pg.schema() {
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(pg.pool())
                .await
                .context("dropping the benchmark schema")?;
        }
    }
    Ok(())
}
