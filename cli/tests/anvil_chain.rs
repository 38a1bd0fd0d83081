//! The chain commands against a real anvil running the SDK's seeded Tangle core snapshot
//! (blueprint 0 / service 0, operators 0x7099… and 0x3C44…, owner 0xf39F…; no BSM):
//! request a service, submit a job with the customer key, have one operator answer, wait for
//! the result, time out naming the silent operators, open a sealed PROVISION token from the
//! chain's events, and refuse a caller without permission.
//!
//! Needs the anvil binary (`ANVIL`, else `.tools/bin/anvil` of the repository, else `PATH`) and
//! the snapshot shipped in the `blueprint-chain-setup-anvil` crate source (or
//! `TANGLE_SNAPSHOT`); without them the test fails.

mod common;

use std::time::Duration;

use agent_cli::access::{open_tokens, provision_results};
use agent_cli::chain::{send_and_confirm, Chain, ChainOpts, SEEDED_TANGLE};
use agent_cli::jobs::JobInput;
use agent_cli::keys::CustomerKey;
use agent_cli::output::Spinner;
use agent_cli::service::{request_service, OperatorSource, ServiceRequest};
use agent_cli::submit::submit_job;
use agent_cli::wait::{result_events, wait_for_results, WaitOptions};
use agent_types::sealing::seal_access;
use agent_types::AgentJobs::{ExecRequest, ExecResult, ProvisionRequest, ProvisionResult};
use agent_types::Job;
use blueprint_sdk::alloy::primitives::{Address, B256, U256};
use blueprint_sdk::alloy::sol_types::SolValue;

const CUSTOMER_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const OPERATOR1_KEY: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// Anvil account #5: holds funds, is no permitted caller of service 0.
const STRANGER_KEY: &str = "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
const OPERATOR1: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const OPERATOR2: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

fn chain(url: &str, key: Option<&str>) -> Chain {
    let mut opts = ChainOpts::new(url, SEEDED_TANGLE.parse().expect("address"));
    opts.private_key = key.map(|k| k.parse().expect("key"));
    Chain::connect(&opts).expect("connect")
}

fn exec_input(command: &str) -> JobInput {
    JobInput::Exec(ExecRequest {
        command: command.into(),
        cwd: String::new(),
        env: vec![],
        timeoutMs: 1000,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_and_waits_on_the_seeded_tangle_chain() {
    let anvil = common::anvil::start_anvil(true).await;
    let customer = chain(&anvil.http, Some(CUSTOMER_KEY));
    let (op1, op2): (Address, Address) = (
        OPERATOR1.parse().expect("op"),
        OPERATOR2.parse().expect("op"),
    );

    // A service request for blueprint 0 with both seeded operators (request 0 is seeded).
    let requested = request_service(
        &customer,
        &ServiceRequest {
            blueprint_id: 0,
            operators: vec![op1, op2],
            ttl: 0,
            permitted_callers: vec![],
            payment_wei: U256::ZERO,
        },
    )
    .await
    .expect("requestService");
    assert!(requested.request_id >= 1, "{requested:?}");
    let stored = customer
        .tangle()
        .getServiceRequest(requested.request_id)
        .call()
        .await
        .expect("getServiceRequest");
    assert_eq!(stored.requester, customer.sender().expect("sender"));
    assert_eq!(stored.operatorCount, 2);

    // EXEC on service 0; the call id comes from the receipt's topics.
    let submitted = submit_job(&customer, 0, &exec_input("echo hi"), None)
        .await
        .expect("submitJob");
    let call = customer
        .tangle()
        .getJobCall(0, submitted.call_id)
        .call()
        .await
        .expect("getJobCall");
    assert_eq!(call.jobIndex, Job::Exec.id());
    assert_eq!(call.caller, customer.sender().expect("sender"));

    // Operator 1 answers (required results default to 1 without a service manager).
    let result = ExecResult {
        exitCode: 0,
        stdout: "hi\n".into(),
        stderr: String::new(),
        vesSequence: 1,
        vesStateRoot: B256::repeat_byte(4),
    };
    let operator = chain(&anvil.http, Some(OPERATOR1_KEY));
    let tangle = operator.tangle();
    let answer = tangle.submitResult(0, submitted.call_id, result.abi_encode().into());
    send_and_confirm(answer, "submitResult")
        .await
        .expect("result lands");

    let opts = WaitOptions {
        timeout: Duration::from_secs(20),
        poll: Duration::from_millis(200),
        from_block: submitted.block,
    };
    let report = wait_for_results(&customer, 0, submitted.call_id, opts, &Spinner::hidden())
        .await
        .expect("wait");
    assert!(report.completed && !report.timed_out, "{report:?}");
    assert_eq!(report.operator_source, OperatorSource::Tangle);
    assert_eq!(report.results.len(), 1);
    assert_eq!(report.results[0].operator, op1);
    let decoded = report.results[0].decoded.as_ref().expect("decoded");
    assert_eq!(decoded["stdout"], "hi\n");
    assert_eq!(report.missing, vec![op2]);
    let events = result_events(&customer, 0, None, 0).await.expect("events");
    assert!(events
        .iter()
        .any(|e| e.call_id == submitted.call_id && e.operator == op1));

    // Nobody answers the next call: the wait times out and names both operators.
    let silent = submit_job(&customer, 0, &exec_input("sleep 1"), None)
        .await
        .expect("submitJob");
    assert_eq!(silent.call_id, submitted.call_id + 1);
    let opts = WaitOptions {
        timeout: Duration::from_secs(2),
        ..opts
    };
    let report = wait_for_results(&customer, 0, silent.call_id, opts, &Spinner::hidden())
        .await
        .expect("wait");
    assert!(report.timed_out && !report.completed);
    assert_eq!(report.missing, vec![op1, op2]);

    // An unknown call is an input error, not a hang.
    let err = wait_for_results(&customer, 0, 9_999, opts, &Spinner::hidden())
        .await
        .expect_err("no such call");
    assert!(err.to_string().contains("9999"), "{err}");

    // PROVISION: the operator seals its sidecar token to the customer's key; open-access
    // finds the result among the service's events and opens it.
    let key = CustomerKey::generate();
    let provision = JobInput::Provision(ProvisionRequest {
        cpuMillis: 1000,
        memoryMb: 512,
        diskGb: 1,
        lifetimeSecs: 60,
        idleTimeoutSecs: 60,
        image: String::new(),
        sshPublicKey: String::new(),
        customerX25519PublicKey: key.public().into(),
        attestationNonce: B256::repeat_byte(1),
    });
    let submitted = submit_job(&customer, 0, &provision, None)
        .await
        .expect("submitJob");
    let sealed =
        seal_access(&key.public(), 0, &op1.into_array(), b"sidecar-token-1").expect("seal");
    let answer = ProvisionResult {
        sandboxId: "sbx-1".into(),
        sidecarUrl: "http://127.0.0.1:9001".into(),
        sshPort: 2201,
        attestation: Default::default(),
        sealedAccess: sealed.into(),
        sidecarPublicKey: B256::repeat_byte(2),
    };
    let call = tangle.submitResult(0, submitted.call_id, answer.abi_encode().into());
    send_and_confirm(call, "submitResult")
        .await
        .expect("result lands");
    let records = provision_results(&customer, 0, None, 0)
        .await
        .expect("records");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].call_id, submitted.call_id);
    let opened = open_tokens(&key, 0, &records).expect("opens");
    assert_eq!(opened[0].operator, op1);
    assert_eq!(opened[0].token, "sidecar-token-1");
    assert_eq!(opened[0].sidecar_url, "http://127.0.0.1:9001");
    // Another customer's key opens nothing.
    assert!(open_tokens(&CustomerKey::generate(), 0, &records).is_err());

    // A caller the service does not permit cannot submit jobs.
    let stranger = chain(&anvil.http, Some(STRANGER_KEY));
    assert!(submit_job(&stranger, 0, &exec_input("id"), None)
        .await
        .is_err());
    // Without a key nothing is sent.
    let read_only = chain(&anvil.http, None);
    let err = submit_job(&read_only, 0, &exec_input("id"), None)
        .await
        .expect_err("no key");
    assert!(err.to_string().contains("--private-key"), "{err}");
}
