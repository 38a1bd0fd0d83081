//! kill -9 durability of the real `ves-server` binary, for both backends.
//!
//! Each round starts the server on the same data, lets two clients push batches into one
//! stream back to back, and `SIGKILL`s the server 0–400 ms after it acknowledged the round's
//! first batch (so kills land while requests and transactions are in flight). After every kill the
//! server is restarted on the same data and must show:
//!
//! * every acknowledged event, at the sequence number and with the receipt it was
//!   acknowledged with; sequence numbers `1..=head` without a gap;
//! * each batch whose response was lost all-or-nothing (one transaction per batch);
//! * an exact retry of any batch returning the original receipts (`eventsReplayed`);
//! * new batches continuing at `head + 1`.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http::registration;
use common::pg::TestSchema;
use common::*;
use parking_lot::Mutex;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::process::{Child, Command};
use uuid::Uuid;

const API_KEY: &str = "crash-test-agent-key-0123456789";

/// Where the server keeps its data, and the flags that select it.
struct Data {
    dir: TempDir,
    backend_args: Vec<String>,
    _schema: Option<TestSchema>,
}

impl Data {
    fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = json!({ API_KEY: { "tenant_id": TENANT, "agent_id": AGENT } });
        std::fs::write(dir.path().join("api-keys.json"), keys.to_string()).expect("keys file");
        let (backend_args, schema) = match backend {
            Backend::Sqlite => {
                let db = dir.path().join("ves.db").display().to_string();
                (vec!["--database".to_owned(), db], None)
            }
            Backend::Postgres => {
                let schema = TestSchema::new();
                let args = vec![
                    "--database-url".to_owned(),
                    schema.url.clone(),
                    "--database-schema".to_owned(),
                    schema.name.clone(),
                ];
                (args, Some(schema))
            }
        };
        Self {
            dir,
            backend_args,
            _schema: schema,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

async fn start(data: &Data, client: &reqwest::Client) -> Server {
    let log_path = data.path("server.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .expect("log file");
    let base = format!("127.0.0.1:{}", free_port());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ves-server"));
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("VES_")) {
        cmd.env_remove(name);
    }
    cmd.args(["--listen", &base])
        .arg("--key-file")
        .arg(data.path("sequencer.key"))
        .arg("--api-keys-file")
        .arg(data.path("api-keys.json"))
        .args(&data.backend_args)
        .env("RUST_LOG", "warn")
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn ves-server");
    let base = format!("http://{base}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("ves-server exited ({status}):\n{}", log_tail(&log_path));
        }
        let health = client.get(format!("{base}/health")).send().await;
        if health.is_ok_and(|r| r.status() == StatusCode::OK) {
            return Server { child, base };
        }
        assert!(
            Instant::now() < deadline,
            "ves-server did not answer:\n{}",
            log_tail(&log_path)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Server {
    async fn kill9(mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("reap");
    }
}

/// A batch as sent, and what the server acknowledged (if it answered).
#[derive(Clone)]
struct Sent {
    body: Vec<u8>,
    event_ids: Vec<Uuid>,
    receipts: Option<Vec<Value>>,
}

async fn post(client: &reqwest::Client, base: &str, body: &[u8]) -> reqwest::Result<Value> {
    client
        .post(format!("{base}/api/v1/ves/events/ingest"))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .timeout(Duration::from_secs(30))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}

fn new_batch(size: usize) -> Sent {
    let events: Vec<_> = (0..size).map(|i| sign(new_event(i as u64))).collect();
    Sent {
        body: serde_json::to_vec(&json!({ "agentId": AGENT, "events": events })).expect("json"),
        event_ids: events.iter().map(|e| e.event_id).collect(),
        receipts: None,
    }
}

/// Batches of 1..=12 events, signed ahead so that pushing is not slowed by signing.
fn prepared_batches(seed: usize, count: usize) -> Vec<Sent> {
    (0..count)
        .map(|i| new_batch(1 + (seed * 13 + i * 7) % 12))
        .collect()
}

/// Pushes `prepared` batches (then fresh ones) until the server stops answering (or `stop`),
/// recording every batch sent.
async fn pusher(
    client: reqwest::Client,
    base: String,
    prepared: Vec<Sent>,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Sent>>>,
) {
    let mut prepared = prepared.into_iter();
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let mut sent = prepared.next().unwrap_or_else(|| new_batch(5));
        let answer = post(&client, &base, &sent.body).await;
        if let Ok(body) = &answer {
            assert_eq!(body["eventsAccepted"], sent.event_ids.len(), "{body}");
            sent.receipts = body["receipts"].as_array().cloned();
        }
        log.lock().push(sent);
        if answer.is_err() {
            return; // killed (or killed mid-response): the outcome is unknown
        }
    }
}

/// Every stored event of the stream as `event_id → (sequence_number, receipt)`, checking
/// that sequence numbers run `1..=head` without a gap.
async fn stored(client: &reqwest::Client, base: &str) -> HashMap<Uuid, (u64, Value)> {
    let mut all = HashMap::new();
    let mut from = 1u64;
    loop {
        let page: Value = client
            .get(format!(
                "{base}/api/v1/events?tenant_id={TENANT}&store_id={STORE}&from={from}&limit=1000"
            ))
            .bearer_auth(API_KEY)
            .send()
            .await
            .expect("pull")
            .json()
            .await
            .expect("pull json");
        for item in page["events"].as_array().expect("events") {
            let seq = item["sequence_number"].as_u64().expect("sequence_number");
            assert_eq!(seq, from, "gap before sequence {seq}");
            from += 1;
            let id: Uuid = item["event"]["event_id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("event_id");
            assert!(all.insert(id, (seq, item["receipt"].clone())).is_none());
        }
        if page["has_more"] != true {
            assert_eq!(page["head_sequence"], from - 1, "head matches the events");
            return all;
        }
    }
}

async fn crash_rounds(backend: Backend, rounds: usize) {
    let data = Data::new(backend);
    let client = reqwest::Client::new();
    let mut server = start(&data, &client).await;
    let registered = client
        .post(format!("{}/api/v1/agents/keys", server.base))
        .bearer_auth(API_KEY)
        .json(&registration(AGENT, 1, true))
        .send()
        .await
        .expect("register");
    assert_eq!(registered.status(), StatusCode::CREATED);

    let log: Arc<Mutex<Vec<Sent>>> = Arc::new(Mutex::new(Vec::new()));
    let mut kill_delays_ms = [0u64, 4, 30, 120, 400].into_iter().cycle();
    for round in 0..rounds {
        let acked_before = log.lock().iter().filter(|s| s.receipts.is_some()).count();
        let stop = Arc::new(AtomicBool::new(false));
        let pushers: Vec<_> = (0..2)
            .map(|seed| {
                tokio::spawn(pusher(
                    client.clone(),
                    server.base.clone(),
                    prepared_batches(round * 2 + seed, 40),
                    stop.clone(),
                    log.clone(),
                ))
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while log.lock().iter().filter(|s| s.receipts.is_some()).count() <= acked_before {
            assert!(
                Instant::now() < deadline,
                "round {round}: nothing acknowledged"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let delay = kill_delays_ms.next().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.kill9().await;
        stop.store(true, Ordering::Relaxed);
        for p in pushers {
            p.await.expect("pusher");
        }

        server = start(&data, &client).await;
        let sent = log.lock().clone();
        let present = stored(&client, &server.base).await;
        let mut lost = Vec::new();
        for batch in &sent {
            match &batch.receipts {
                Some(receipts) => {
                    for (id, receipt) in batch.event_ids.iter().zip(receipts) {
                        let (seq, stored_receipt) = present
                            .get(id)
                            .unwrap_or_else(|| panic!("round {round}: acknowledged {id} lost"));
                        assert_eq!(stored_receipt, receipt, "round {round}: receipt of {id}");
                        assert_eq!(receipt["sequenceNumber"], *seq);
                    }
                }
                None => {
                    let n = batch
                        .event_ids
                        .iter()
                        .filter(|id| present.contains_key(id))
                        .count();
                    assert!(
                        n == 0 || n == batch.event_ids.len(),
                        "round {round}: {n} of {} events of one batch stored",
                        batch.event_ids.len()
                    );
                    lost.push(batch.clone());
                }
            }
        }
        let lost_but_stored = lost
            .iter()
            .filter(|b| present.contains_key(&b.event_ids[0]))
            .count();
        eprintln!(
            "{backend:?} round {round}: killed {delay} ms after an ack; {} events stored, \
             {} batches acknowledged, {} answers lost ({lost_but_stored} of them committed)",
            present.len(),
            sent.iter().filter(|b| b.receipts.is_some()).count(),
            lost.len()
        );
        // Exact retries: acknowledged batches of this round replay their receipts; batches
        // whose answer was lost are either replayed or accepted now, and kept for the next
        // rounds' checks with the receipts of this answer.
        for batch in sent
            .iter()
            .filter(|b| b.receipts.is_some())
            .skip(acked_before)
        {
            let answer = post(&client, &server.base, &batch.body)
                .await
                .expect("retry");
            assert_eq!(answer["eventsReplayed"], batch.event_ids.len(), "{answer}");
            assert_eq!(answer["eventsAccepted"], 0, "{answer}");
            assert_eq!(answer["receipts"].as_array(), batch.receipts.as_ref());
        }
        let mut kept: Vec<Sent> = sent.into_iter().filter(|b| b.receipts.is_some()).collect();
        for mut batch in lost {
            let answer = post(&client, &server.base, &batch.body)
                .await
                .expect("retry lost");
            let answered = answer["eventsReplayed"].as_u64().unwrap_or(0)
                + answer["eventsAccepted"].as_u64().unwrap_or(0);
            assert_eq!(answered, batch.event_ids.len() as u64, "{answer}");
            batch.receipts = answer["receipts"].as_array().cloned();
            kept.push(batch);
        }
        *log.lock() = kept;
    }
    // The stream continues gap-free after the last restart.
    let head = stored(&client, &server.base).await.len() as u64;
    let answer = post(&client, &server.base, &new_batch(3).body)
        .await
        .expect("push");
    assert_eq!(answer["sequenceStart"], head + 1);
    assert_eq!(answer["sequenceEnd"], head + 3);
    server.kill9().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_kill_9() {
    crash_rounds(Backend::Sqlite, 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_kill_9() {
    crash_rounds(Backend::Postgres, 3).await;
}
