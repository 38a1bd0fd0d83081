//! The `agent-indexer` binary itself (its flags, start-up and poll loop) against a real anvil
//! with the real `AgentRegistry`: it serves what was registered before it started, follows
//! what is registered afterwards, and fills `--cache-dir`.
//!
//! Needs `.tools/bin/anvil` and forge's `out/AgentRegistry.sol/AgentRegistry.json`; without
//! them the test fails.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::agents::{tool, ManifestServer, TestAgent};
use common::chain::TestChain;
use common::node::CONFIRMATIONS;
use serde_json::{json, Value};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn query(url: &str, tool_id: &str) -> Option<Vec<Value>> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "discover_query",
                      "params": [{"tool_id": tool_id}]});
    let reply: Value = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    reply["result"]["results"].as_array().cloned()
}

/// Polls `discover_query {tool_id}` until it returns `want` agents (30 s at most).
async fn wait_for(url: &str, tool_id: &str, want: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        if let Some(found) = query(url, tool_id).await {
            if found.len() == want {
                return found;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{tool_id}: not {want} result(s) within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_follows_and_caches() {
    let chain = TestChain::start().await;
    let server = ManifestServer::start().await;
    let early = TestAgent::new("early", 41, vec![tool("ocr.read", "Read", "vision")]);
    let late = TestAgent::new("late", 42, vec![tool("ocr.read", "Read", "vision")]);
    server.publish(&early);
    server.publish(&late);
    early.register(&chain, &server).await;
    chain.mine(CONFIRMATIONS).await;

    let cache = tempfile::tempdir().expect("cache dir");
    let port = anvil_harness::free_port().expect("a free port");
    let child = Command::new(env!("CARGO_BIN_EXE_agent-indexer"))
        .args(["--rpc-url", &chain.anvil.http])
        .args(["--registry", &format!("{:#x}", chain.registry)])
        .args(["--confirmations", &CONFIRMATIONS.to_string()])
        .args(["--poll-ms", "100", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--cache-dir")
        .arg(cache.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("agent-indexer starts");
    let _running = Running(child);
    let url = format!("http://127.0.0.1:{port}");

    let found = wait_for(&url, "ocr.read", 1).await;
    assert_eq!(found[0]["agent_id"], early.id().to_string());

    late.register(&chain, &server).await;
    chain.mine(CONFIRMATIONS).await;
    let found = wait_for(&url, "ocr.read", 2).await;
    let ids: Vec<&str> = found
        .iter()
        .filter_map(|r| r["agent_id"].as_str())
        .collect();
    assert!(ids.contains(&late.id().to_string().as_str()), "{ids:?}");

    let files = std::fs::read_dir(cache.path())
        .expect("cache listing")
        .count();
    assert_eq!(files, 2, "both verified manifests are cached");
}
