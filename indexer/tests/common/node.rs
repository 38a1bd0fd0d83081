//! The index node as the `agent-indexer` binary runs it (`indexer::open`, then the JSON-RPC
//! of `discovery::rpc::serve` on a loopback port), stepped by the test instead of `run`.

use std::path::PathBuf;
use std::time::Duration;

use discovery::ids::AgentId;
use indexer::{Follower, FollowerConfig, FollowerStats};
use serde_json::{json, Value};

use super::chain::TestChain;

/// Blocks on top before a block is applied, in every test.
pub const CONFIRMATIONS: u64 = 2;

pub struct IndexNode {
    pub follower: Follower,
    /// The JSON-RPC URL.
    pub url: String,
    http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for IndexNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl IndexNode {
    /// Opens the index (rebuild from chain history) and serves its JSON-RPC.
    pub async fn start(chain: &TestChain, cache_dir: Option<PathBuf>) -> Self {
        let (follower, state) = indexer::open(FollowerConfig {
            rpc_url: chain.anvil.http.clone(),
            registry: chain.registry,
            confirmations: CONFIRMATIONS,
            from_block: 0,
            poll: Duration::from_millis(100),
            cache_dir,
        })
        .await
        .expect("the index opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the RPC");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            let _ = discovery::rpc::serve(listener, state).await;
        });
        Self {
            follower,
            url,
            http: reqwest::Client::new(),
            task,
        }
    }

    /// One follower step (what `run` does every poll).
    pub async fn step(&mut self) -> usize {
        self.follower.step().await.expect("follower step")
    }

    pub fn stats(&self) -> FollowerStats {
        self.follower.stats()
    }

    /// A JSON-RPC call; the whole reply object.
    pub async fn call_raw(&self, method: &str, params: Value) -> Value {
        self.http
            .post(&self.url)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
            .await
            .expect("RPC reachable")
            .json()
            .await
            .expect("RPC answers JSON")
    }

    /// A JSON-RPC call that must succeed; its `result`.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let reply = self.call_raw(method, params).await;
        assert!(reply.get("error").is_none(), "{method}: {reply}");
        reply["result"].clone()
    }

    /// `discover_query`: the agent ids returned, in order.
    pub async fn query_ids(&self, query: Value) -> Vec<String> {
        let result = self.call("discover_query", json!([query])).await;
        result["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["agent_id"].as_str().expect("agent_id").to_string())
            .collect()
    }

    /// `agent_status` → the effective status string.
    pub async fn status(&self, id: &AgentId) -> String {
        let result = self.call("agent_status", json!([id.to_string()])).await;
        result["status"].as_str().expect("status").to_string()
    }

    /// `discover_resolve`, or the JSON-RPC error code.
    pub async fn resolve(&self, id: &AgentId) -> Result<Value, i64> {
        let reply = self
            .call_raw("discover_resolve", json!([id.to_string()]))
            .await;
        match reply.get("error") {
            Some(e) => Err(e["code"].as_i64().expect("error code")),
            None => Ok(reply["result"].clone()),
        }
    }
}
