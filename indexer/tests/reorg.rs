//! Reorgs against a real anvil (`evm_snapshot` / `evm_revert`): one within the confirmation
//! depth never reaches the index; one deeper than it is detected by the running follower
//! (the last applied block's hash changed, or the head fell below it) and the index is
//! rebuilt from the new chain history without a restart.
//!
//! Needs `.tools/bin/anvil` and forge's `out/AgentRegistry.sol/AgentRegistry.json`; without
//! them the test fails.

mod common;

use common::agents::{tool, ManifestServer, TestAgent};
use common::chain::TestChain;
use common::node::{IndexNode, CONFIRMATIONS};
use discovery::rpc::AGENT_NOT_FOUND;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorgs_deeper_than_the_confirmations_rebuild_the_running_index() {
    let chain = TestChain::start().await;
    let server = ManifestServer::start().await;
    let keeper = TestAgent::new("keeper", 31, vec![tool("kv.get", "Get", "storage")]);
    let doomed = TestAgent::new("doomed", 32, vec![tool("kv.put", "Put", "storage")]);
    let newcomer = TestAgent::new("newcomer", 33, vec![tool("kv.del", "Delete", "storage")]);
    let shallow = TestAgent::new("shallow", 34, vec![tool("kv.scan", "Scan", "storage")]);
    for agent in [&keeper, &doomed, &newcomer, &shallow] {
        server.publish(agent);
    }
    keeper.register(&chain, &server).await;
    chain.mine(CONFIRMATIONS).await;
    let mut node = IndexNode::start(&chain, None).await;
    assert!(node.resolve(&keeper.id()).await.is_ok());

    // A reorg within the confirmation depth: the registration is never applied.
    let snap = chain.snapshot().await;
    shallow.register(&chain, &server).await;
    chain.mine(CONFIRMATIONS - 1).await;
    node.step().await;
    chain.revert(snap).await;
    chain.mine(CONFIRMATIONS + 1).await;
    node.step().await;
    assert_eq!(node.resolve(&shallow.id()).await, Err(AGENT_NOT_FOUND));
    assert_eq!(node.stats().reorgs, 0);

    // `doomed` registers, is confirmed and indexed…
    let snap = chain.snapshot().await;
    let doomed_block = doomed.register(&chain, &server).await;
    chain.mine(CONFIRMATIONS + 1).await;
    node.step().await;
    let old_head = chain.head().await;
    assert!(old_head - CONFIRMATIONS > doomed_block, "applied past it");
    assert_eq!(
        node.query_ids(json!({"tool_id": "kv.put"})).await,
        vec![doomed.id().to_string()]
    );

    // …then the chain reorganises deeper than the confirmation depth: another branch from
    // before its registration, with another registration, grows past the old head.
    chain.revert(snap).await;
    newcomer.register(&chain, &server).await;
    chain.mine(CONFIRMATIONS + 3).await;
    assert!(chain.head().await > old_head);
    node.step().await;
    assert_eq!(node.stats().reorgs, 1, "detected by the running follower");
    assert_eq!(node.resolve(&doomed.id()).await, Err(AGENT_NOT_FOUND));
    assert!(node
        .query_ids(json!({"tool_id": "kv.put"}))
        .await
        .is_empty());
    let mut ids = node.query_ids(json!({"category": "storage"})).await;
    ids.sort();
    let mut want = vec![keeper.id().to_string(), newcomer.id().to_string()];
    want.sort();
    assert_eq!(ids, want, "the rebuilt index holds the new branch's agents");
    let resolved = node.resolve(&newcomer.id()).await.expect("newcomer");
    assert!(!resolved["manifest"].is_null(), "manifests re-attached");

    // Nothing new: no spurious reorg.
    node.step().await;
    assert_eq!(node.stats().reorgs, 1);

    // The head falls below the last applied block (a reverted branch not yet regrown).
    let snap = chain.snapshot().await;
    chain.mine(CONFIRMATIONS + 4).await;
    node.step().await;
    chain.revert(snap).await;
    node.step().await;
    assert_eq!(node.stats().reorgs, 2);
    let mut ids = node.query_ids(json!({"category": "storage"})).await;
    ids.sort();
    assert_eq!(ids, want, "the same agents after the rebuild");
    // And it keeps following the new branch.
    chain.mine(CONFIRMATIONS + 1).await;
    node.step().await;
    assert_eq!(node.stats().reorgs, 2);
    assert_eq!(node.stats().events_refused, 0);
}
