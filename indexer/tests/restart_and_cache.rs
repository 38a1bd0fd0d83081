//! A restarted index rebuilds the same set from chain history; with `--cache-dir` it does so
//! without the agents' endpoints, and a cache file is never trusted (it must verify against
//! the on-chain record like a fetched manifest).
//!
//! Needs `.tools/bin/anvil` and forge's `out/AgentRegistry.sol/AgentRegistry.json`; without
//! them the test fails.

mod common;

use common::agents::{tool, ManifestServer, TestAgent};
use common::chain::{confirm, TestChain};
use common::node::{IndexNode, CONFIRMATIONS};
use serde_json::{json, Value};

/// Everything a client can see about `agents`: each `discover_resolve` answer and the full
/// ranked list (inactive included).
async fn view(node: &IndexNode, agents: &[&TestAgent]) -> Value {
    let mut resolved = Vec::new();
    for agent in agents {
        resolved.push(node.resolve(&agent.id()).await.expect("resolved"));
    }
    let ranked = node
        .call(
            "discover_query",
            json!([{"include_inactive": true, "limit": 100}]),
        )
        .await;
    json!({"resolved": resolved, "ranked": ranked})
}

fn manifests_attached(view: &Value) -> usize {
    view["resolved"]
        .as_array()
        .expect("resolved")
        .iter()
        .filter(|r| !r["manifest"].is_null())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_rebuilds_the_same_index_with_or_without_the_endpoints() {
    let chain = TestChain::start().await;
    let server = ManifestServer::start().await;
    let alpha = TestAgent::new("alpha", 21, vec![tool("img.resize", "Resize", "media")]);
    let beta = TestAgent::new("beta", 22, vec![tool("img.crop", "Crop", "media")]);
    let gamma = TestAgent::new("gamma", 23, vec![tool("txt.sum", "Summarise", "text")]);
    let agents = [&alpha, &beta, &gamma];
    for agent in agents {
        server.publish(agent);
        agent.register(&chain, &server).await;
    }
    // Some history on top: a heartbeat, a jail, an update to a new manifest.
    confirm(
        chain.owner.heartbeat(alpha.id_b256(), 900).send().await,
        "heartbeat",
    )
    .await;
    confirm(
        chain
            .admin
            .jail(gamma.id_b256(), "flaky".into())
            .send()
            .await,
        "jail",
    )
    .await;
    let beta2 = TestAgent::new(
        "beta",
        22,
        vec![
            tool("img.crop", "Crop", "media"),
            tool("img.blur", "Blur", "media"),
        ],
    );
    server.publish(&beta2);
    let params = agent_types::IAgentRegistry::AgentParams {
        endpoint: server.endpoint("beta"),
        manifestHash: beta2.manifest_hash(),
        capabilityDigest: Default::default(),
        region: "us-east".into(),
    };
    confirm(
        chain.owner.update(beta.id_b256(), params).send().await,
        "update",
    )
    .await;
    chain.mine(CONFIRMATIONS).await;

    let cache = tempfile::tempdir().expect("cache dir");
    let first = IndexNode::start(&chain, Some(cache.path().to_path_buf())).await;
    let expected = view(&first, &agents).await;
    assert_eq!(manifests_attached(&expected), 3, "{expected}");
    assert_eq!(
        first.query_ids(json!({"tool_id": "img.blur"})).await,
        vec![beta.id().to_string()]
    );
    let stats = first.stats();
    assert_eq!((stats.events_applied, stats.events_refused), (6, 0));
    // The endpoint serves only beta's current manifest, so beta's first registration finds
    // none that matches (refused); its update's does.
    assert_eq!((stats.manifests_fetched, stats.manifests_refused), (3, 1));
    let mut files: Vec<String> = std::fs::read_dir(cache.path())
        .expect("cache listing")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    files.sort();
    let mut hashes: Vec<String> = [&alpha, &beta2, &gamma]
        .iter()
        .map(|a| hex_of(&a.manifest_hash()))
        .collect();
    hashes.sort();
    assert_eq!(
        files, hashes,
        "one file per verified manifest, named by its hash"
    );
    drop(first);

    // Restart without a cache, endpoints up: the same index.
    let second = IndexNode::start(&chain, None).await;
    assert_eq!(view(&second, &agents).await, expected);
    assert_eq!(second.stats().manifests_fetched, 3);
    drop(second);

    // Restart with the cache, endpoints down: the same index, every manifest from the cache.
    server.stop().await;
    let third = IndexNode::start(&chain, Some(cache.path().to_path_buf())).await;
    assert_eq!(view(&third, &agents).await, expected);
    let stats = third.stats();
    assert_eq!(
        (stats.manifests_from_cache, stats.manifests_fetched),
        (3, 0)
    );
    drop(third);

    // Without the cache and without endpoints the records are there but no manifest is:
    // the cache is what carried them.
    let bare = IndexNode::start(&chain, None).await;
    let seen = view(&bare, &agents).await;
    assert_eq!(manifests_attached(&seen), 0);
    assert_eq!(seen["ranked"]["total"], expected["ranked"]["total"]);
    drop(bare);

    // The cache is not trusted: alpha's file replaced by gamma's (valid, signed) manifest and
    // beta2's file by garbage → neither is attached; gamma's own file still is.
    let alpha_file = cache.path().join(hex_of(&alpha.manifest_hash()));
    let gamma_file = cache.path().join(hex_of(&gamma.manifest_hash()));
    std::fs::copy(&gamma_file, &alpha_file).expect("swap a cache file");
    std::fs::write(cache.path().join(hex_of(&beta2.manifest_hash())), "{}").expect("corrupt");
    let wary = IndexNode::start(&chain, Some(cache.path().to_path_buf())).await;
    let seen = view(&wary, &agents).await;
    let resolved = seen["resolved"].as_array().expect("resolved");
    assert!(
        resolved[0]["manifest"].is_null(),
        "alpha: the swapped file is refused"
    );
    assert!(
        resolved[1]["manifest"].is_null(),
        "beta: the corrupt file is refused"
    );
    assert!(
        !resolved[2]["manifest"].is_null(),
        "gamma: its file verifies"
    );
    let stats = wary.stats();
    assert_eq!(
        (stats.manifests_from_cache, stats.manifests_refused),
        (1, 3)
    );
}

fn hex_of(hash: &blueprint_sdk::alloy::primitives::B256) -> String {
    hash.0.iter().map(|b| format!("{b:02x}")).collect()
}
