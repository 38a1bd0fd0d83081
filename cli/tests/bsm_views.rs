//! `endpoints`, `results` and the chain side of `verify log` against our real service manager
//! (the forge artifact `out/AgentInstanceBlueprint.sol/AgentInstanceBlueprint.json`) on an
//! empty anvil. The test account plays Tangle core: it binds the manager and calls the hooks
//! the way Tangle core does (request, activation, job results).
//!
//! Needs `forge build` output and the anvil binary; without them the test fails.

mod common;

use agent_cli::chain::{send_and_confirm, Chain, ChainOpts, SEEDED_TANGLE};
use agent_cli::results;
use agent_cli::service::endpoints;
use agent_cli::verify::chain_view;
use agent_types::AgentJobs::{ExecResult, PromptResult, ProvisionResult};
use agent_types::Job;
use blueprint_sdk::alloy::network::TransactionBuilder;
use blueprint_sdk::alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use blueprint_sdk::alloy::providers::Provider;
use blueprint_sdk::alloy::rpc::types::TransactionRequest;
use blueprint_sdk::alloy::sol_types::SolValue;
use blueprint_sdk::clients::tangle::contracts::IBlueprintServiceManager;

/// Anvil account #0: plays Tangle core and the service owner.
const CORE_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SERVICE: u64 = 7;

fn artifact() -> Bytes {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../out/AgentInstanceBlueprint.sol/AgentInstanceBlueprint.json"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        panic!("no forge artifact at {path}: run `forge build` (script/test.sh does)");
    };
    let doc: serde_json::Value = serde_json::from_str(&text).expect("artifact is JSON");
    let hex = doc["bytecode"]["object"].as_str().expect("bytecode");
    hex.parse().expect("bytecode hex")
}

fn provision(n: u8) -> ProvisionResult {
    ProvisionResult {
        sandboxId: format!("sbx-{n}"),
        sidecarUrl: format!("http://127.0.0.1:900{n}"),
        sshPort: 2200 + u16::from(n),
        attestation: Bytes::from(vec![n; 16]),
        sealedAccess: Bytes::from(vec![1, n, n, n]),
        sidecarPublicKey: B256::repeat_byte(0x40 + n),
    }
}

fn prompt(answer: &str) -> Vec<u8> {
    PromptResult {
        success: true,
        response: answer.into(),
        transcriptDigest: keccak256(answer.as_bytes()),
    }
    .abi_encode()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_manager_views_through_the_cli() {
    let code = artifact();
    let anvil = common::anvil::start_anvil(false).await;
    let mut opts = ChainOpts::new(&anvil.http, SEEDED_TANGLE.parse().expect("address"));
    opts.private_key = Some(CORE_KEY.parse().expect("key"));
    let core_chain = Chain::connect(&opts).expect("connect");
    let core = core_chain.sender().expect("sender");
    let deploy = TransactionRequest::default().with_deploy_code(code);
    let receipt = core_chain
        .provider()
        .send_transaction(deploy)
        .await
        .expect("deploy")
        .get_receipt()
        .await
        .expect("receipt");
    let bsm_address = receipt.contract_address.expect("deployed");
    let bsm = IBlueprintServiceManager::new(bsm_address, core_chain.provider().clone());

    let ops = [0xa1, 0xa2, 0xa3, 0xa4].map(Address::repeat_byte);
    send_and_confirm(bsm.onBlueprintCreated(1, core, core), "onBlueprintCreated")
        .await
        .expect("bind");
    send_and_confirm(
        bsm.onRequest(
            1,
            core,
            ops.to_vec(),
            Bytes::new(),
            0,
            Address::ZERO,
            U256::ZERO,
        ),
        "onRequest",
    )
    .await
    .expect("request");
    send_and_confirm(
        bsm.onServiceInitialized(1, 1, SERVICE, core, vec![], 0),
        "onServiceInitialized",
    )
    .await
    .expect("activate");
    let result = |job: Job, call: u64, op: Address, out: Vec<u8>| {
        bsm.onJobResult(SERVICE, job.id(), call, op, B256::ZERO, out.into())
    };
    // PROVISION (call 0) from the first three operators; the fourth never provisions.
    for (i, op) in ops.iter().take(3).enumerate() {
        let n = u8::try_from(i).expect("small");
        send_and_confirm(
            result(Job::Provision, 0, *op, provision(n).abi_encode()),
            "PROVISION",
        )
        .await
        .expect("provision");
    }
    // PROMPT (call 1): two agree, one diverges; the unprovisioned operator's result is
    // rejected by the manager (nothing recorded).
    for (op, answer) in [
        (ops[0], "42"),
        (ops[1], "41"),
        (ops[2], "42"),
        (ops[3], "42"),
    ] {
        send_and_confirm(result(Job::Prompt, 1, op, prompt(answer)), "PROMPT")
            .await
            .expect("prompt");
    }
    // PROMPT (call 3): one against one.
    for (op, answer) in [(ops[0], "a"), (ops[2], "b")] {
        send_and_confirm(result(Job::Prompt, 3, op, prompt(answer)), "PROMPT")
            .await
            .expect("prompt");
    }
    // EXEC (call 2) anchors operator 0's stream head.
    let exec = ExecResult {
        exitCode: 0,
        stdout: "ok".into(),
        stderr: String::new(),
        vesSequence: 5,
        vesStateRoot: B256::repeat_byte(0x55),
    };
    send_and_confirm(result(Job::Exec, 2, ops[0], exec.abi_encode()), "EXEC")
        .await
        .expect("exec");

    // The customer's read-only view, pointed at the manager.
    let mut opts = ChainOpts::new(&anvil.http, SEEDED_TANGLE.parse().expect("address"));
    opts.bsm = Some(bsm_address);
    let chain = Chain::connect(&opts).expect("connect");

    let eps = endpoints(&chain, SERVICE).await.expect("endpoints");
    assert_eq!(eps.bsm, bsm_address);
    assert_eq!(eps.endpoints.len(), 4);
    assert_eq!(eps.sidecar_urls.len(), 3);
    for (i, ep) in eps.endpoints.iter().take(3).enumerate() {
        let n = u8::try_from(i).expect("small");
        let p = provision(n);
        assert!(ep.provisioned);
        assert_eq!(ep.sidecar_url, p.sidecarUrl);
        assert_eq!(ep.ssh_port, p.sshPort);
        assert_eq!(ep.sidecar_public_key, p.sidecarPublicKey);
        assert_eq!(ep.attestation_hash, keccak256(&p.attestation));
        assert!(eps
            .sidecar_urls
            .iter()
            .any(|s| s.operator == ep.operator && s.sidecar_url == p.sidecarUrl));
    }
    assert!(!eps.endpoints[3].provisioned);
    let text = agent_cli::output::Output::plain(false)
        .format(&eps)
        .expect("text");
    assert!(
        text.contains("4 operator(s), 3 provisioned") && text.contains("not provisioned"),
        "{text}"
    );

    let r = results::fetch(&chain, SERVICE, 1).await.expect("results");
    assert_eq!((r.consensus.agreeing, r.consensus.answered), (2, 3));
    assert_eq!(r.consensus.top_hash, keccak256(prompt("42")));
    assert_eq!(r.minority, vec![ops[1]]);
    assert_eq!(r.missing, vec![ops[3]]);
    assert!(r.majority && !r.tie && !r.unanimous);
    let tie = results::fetch(&chain, SERVICE, 3).await.expect("results");
    assert!(
        tie.tie && !tie.majority,
        "one against one is no consensus: {tie:?}"
    );
    assert_eq!(tie.missing, vec![ops[1], ops[3]]);

    // The anchored head and the sidecar key of operator 0.
    let view = chain_view(&chain, SERVICE, ops[0]).await.expect("view");
    assert_eq!(view.anchor_sequence, 5);
    assert_eq!(view.anchor_state_root, B256::repeat_byte(0x55));
    assert_eq!(view.sidecar_public_key, provision(0).sidecarPublicKey);
    // Operator 3 never provisioned: verifying its log against the chain is refused.
    let err = chain_view(&chain, SERVICE, ops[3])
        .await
        .expect_err("not provisioned");
    assert!(err.to_string().contains("no provisioned sandbox"), "{err}");
}
