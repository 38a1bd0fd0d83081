//! The discovery index against a real anvil running the real `AgentRegistry`: registration
//! found by `discover_query` / `discover_resolve` over the served JSON-RPC, heartbeat and
//! expiry in chain time, jailing by the admin, and manifests that do not match the on-chain
//! record refused.
//!
//! Needs `.tools/bin/anvil` and forge's `out/AgentRegistry.sol/AgentRegistry.json`; without
//! them the test fails.

mod common;

use agent_types::IAgentRegistry::AgentStatus;
use common::agents::{tool, ManifestServer, TestAgent, TTL};
use common::chain::{confirm, TestChain};
use common::node::{IndexNode, CONFIRMATIONS};
use discovery::rpc::{system_now, AGENT_NOT_FOUND};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_heartbeat_expiry_and_jail_follow_the_chain() {
    let chain = TestChain::start().await;
    let server = ManifestServer::start().await;
    let deployer = TestAgent::new(
        "deployer",
        1,
        vec![tool("build.deploy", "Deploy build", "devops")],
    );
    let spammer = TestAgent::new("spammer", 2, vec![tool("mail.send", "Send mail", "devops")]);
    server.publish(&deployer);
    server.publish(&spammer);
    let mut node = IndexNode::start(&chain, None).await;

    // Registered, but not yet confirmed: not in the index.
    let block = deployer.register(&chain, &server).await;
    spammer.register(&chain, &server).await;
    node.step().await;
    assert_eq!(node.resolve(&deployer.id()).await, Err(AGENT_NOT_FOUND));

    // Confirmed: found by category, tool, text, and resolved with its verified manifest.
    chain.mine(CONFIRMATIONS).await;
    assert_eq!(node.step().await, 2);
    assert!(chain.head().await >= block + CONFIRMATIONS);
    let id = deployer.id().to_string();
    let ids = node.query_ids(json!({"tool_id": "build.deploy"})).await;
    assert_eq!(ids, vec![id.clone()]);
    let ids = node
        .query_ids(json!({"q": "deploy", "category": "devops"}))
        .await;
    assert_eq!(ids, vec![id.clone()]);
    let resolved = node.resolve(&deployer.id()).await.expect("resolved");
    assert_eq!(resolved["status"], "active");
    assert_eq!(resolved["endpoint"], server.endpoint("deployer"));
    assert_eq!(
        resolved["manifest"],
        serde_json::to_value(&deployer.manifest).expect("json")
    );
    let expires_at = resolved["record"]["expires_at"].as_u64().expect("expiry");
    let registered_time = chain.time().await;
    assert!(expires_at > registered_time && expires_at <= registered_time + TTL);

    // A heartbeat before expiry moves it; past the first expiry the agent is still active.
    chain.increase_time(TTL - 100).await;
    let hb = chain.owner.heartbeat(deployer.id_b256(), TTL);
    confirm(hb.send().await, "heartbeat").await;
    chain.mine(CONFIRMATIONS).await;
    chain.increase_time(200).await;
    chain.mine(1).await;
    node.step().await;
    assert!(chain.time().await > expires_at, "past the first expiry");
    assert_eq!(node.status(&deployer.id()).await, "active");
    let ids = node.query_ids(json!({"category": "devops"})).await;
    assert!(ids.contains(&id), "{ids:?}");

    // Past the heartbeat's expiry in chain time (the wall clock is far behind): expired,
    // not returned unless inactive agents are asked for.
    let status = node.call("agent_status", json!([id])).await;
    let new_expiry = status["expires_at"].as_u64().expect("expiry");
    assert!(new_expiry > expires_at);
    chain.increase_time(TTL).await;
    chain.mine(1).await;
    node.step().await;
    assert!(chain.time().await >= new_expiry);
    assert!(
        system_now() < new_expiry,
        "the wall clock alone would not expire it"
    );
    assert_eq!(node.status(&deployer.id()).await, "expired");
    let ids = node.query_ids(json!({"category": "devops"})).await;
    assert!(!ids.contains(&id), "{ids:?}");
    let all = node
        .query_ids(json!({"category": "devops", "include_inactive": true}))
        .await;
    assert!(all.contains(&id), "{all:?}");
    let status_on_chain = chain
        .owner
        .statusOf(deployer.id_b256())
        .call()
        .await
        .expect("statusOf");
    assert!(
        status_on_chain == AgentStatus::Expired,
        "the contract agrees: expired"
    );

    // The spammer renews, then the admin jails it: jailed, with the reason, excluded.
    let hb = chain.owner.heartbeat(spammer.id_b256(), TTL);
    confirm(hb.send().await, "heartbeat").await;
    confirm(
        chain
            .admin
            .jail(spammer.id_b256(), "spam".into())
            .send()
            .await,
        "jail",
    )
    .await;
    chain.mine(CONFIRMATIONS).await;
    node.step().await;
    let status = node
        .call("agent_status", json!({"agentId": spammer.id().to_string()}))
        .await;
    assert_eq!(status["status"], "jailed");
    assert_eq!(status["jail_reason"], "spam");
    let ids = node.query_ids(json!({"tool_id": "mail.send"})).await;
    assert!(ids.is_empty(), "{ids:?}");
    let ids = node
        .query_ids(json!({"tool_id": "mail.send", "include_inactive": true}))
        .await;
    assert_eq!(ids, vec![spammer.id().to_string()]);
    assert_eq!(node.stats().events_refused, 0);
    assert_eq!(node.stats().manifests_fetched, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_that_do_not_match_the_record_are_refused() {
    let chain = TestChain::start().await;
    let server = ManifestServer::start().await;
    let honest = TestAgent::new("honest", 11, vec![tool("db.query", "Query", "data")]);
    let swapped = TestAgent::new("swapped", 12, vec![tool("db.dump", "Dump", "data")]);
    let forged = TestAgent::new("forged", 13, vec![tool("db.drop", "Drop", "data")]);
    let absent = TestAgent::new("absent", 14, vec![tool("db.wipe", "Wipe", "data")]);
    server.publish(&honest);
    // Correctly signed, but not the manifest whose hash is on chain.
    server.serve(&swapped.name, &swapped.other_manifest());
    // The registered manifest with a signature that does not verify.
    server.serve(&forged.name, &forged.forged_signature());
    // `absent` serves nothing (HTTP 404).
    for agent in [&honest, &swapped, &forged, &absent] {
        agent.register(&chain, &server).await;
    }
    chain.mine(CONFIRMATIONS).await;
    let node = IndexNode::start(&chain, None).await;
    let stats = node.stats();
    assert_eq!(stats.events_applied, 4);
    assert_eq!((stats.manifests_fetched, stats.manifests_refused), (1, 3));

    for agent in [&swapped, &forged, &absent] {
        // The record is there (active, the on-chain hash), without a manifest…
        let resolved = node.resolve(&agent.id()).await.expect("record present");
        assert_eq!(resolved["status"], "active", "{}", agent.name);
        assert_eq!(
            resolved["manifest"],
            serde_json::Value::Null,
            "{}",
            agent.name
        );
        assert_eq!(
            resolved["manifest_hash"],
            agent.manifest.hash().expect("hash").to_string()
        );
    }
    // …so every query that needs a manifest (category, tool, text) finds only the honest one.
    let ids = node.query_ids(json!({"category": "data"})).await;
    assert_eq!(ids, vec![honest.id().to_string()]);
    for t in ["db.dump", "db.drop", "db.wipe"] {
        assert!(
            node.query_ids(json!({"tool_id": t})).await.is_empty(),
            "{t}"
        );
    }
    let ids = node.query_ids(json!({"q": "dump drop wipe query"})).await;
    assert_eq!(ids, vec![honest.id().to_string()]);
    // An unfiltered query lists every active record; only the verified one earns the boost.
    let all = node.call("discover_query", json!([{}])).await;
    assert_eq!(all["total"], 4);
    assert_eq!(all["results"][0]["agent_id"], honest.id().to_string());
}
