//! The pure parts of the reports: consensus and minority, missing operators, sealed-token
//! opening, key and access files, and the `--json` shapes.

use std::time::Duration;

use agent_cli::access::{open_tokens, AccessFile, AccessReport, ProvisionRecord};
use agent_cli::keys::CustomerKey;
use agent_cli::output::Output;
use agent_cli::results::{Consensus, ResultsReport};
use agent_cli::service::OperatorSource;
use agent_cli::wait::{OperatorResult, WaitReport};
use agent_types::sealing::seal_access;
use agent_types::AgentJobs::{ExecResult, ProvisionResult};
use agent_types::Job;
use blueprint_sdk::alloy::primitives::{Address, Bytes, FixedBytes, B256};
use blueprint_sdk::alloy::sol_types::SolValue;
use serde_json::Value;

fn op(n: u8) -> Address {
    Address::repeat_byte(n)
}

fn h(n: u8) -> B256 {
    B256::repeat_byte(n)
}

fn json_of<R: agent_cli::output::Render>(r: &R) -> Value {
    let text = Output::plain(true).format(r).expect("serialises");
    serde_json::from_str(&text).expect("one JSON document")
}

#[test]
fn consensus_marks_the_minority() {
    let service_ops = [op(1), op(2), op(3)];
    let r = ResultsReport::build(
        7,
        3,
        &service_ops,
        &[op(1), op(2), op(3)],
        &[h(0xaa), h(0xbb), h(0xaa)],
        Consensus {
            top_hash: h(0xaa),
            agreeing: 2,
            answered: 3,
        },
    )
    .expect("consistent");
    assert_eq!(r.minority, vec![op(2)]);
    assert!(r.majority && !r.unanimous && !r.tie);
    assert!(r.missing.is_empty());
    let text = Output::plain(false).format(&r).expect("text");
    assert!(text.contains("MINORITY"), "{text}");
    assert!(text.contains(&op(2).to_string()), "{text}");
    assert!(text.contains("2 of 3"), "{text}");

    let j = json_of(&r);
    assert_eq!(j["minority"][0], op(2).to_string());
    assert_eq!(j["consensus"]["agreeing"], 2);
    assert_eq!(j["consensus"]["top_hash"], h(0xaa).to_string());
    assert_eq!(j["hashes"][1]["agrees"], false);
    assert_eq!(j["hashes"].as_array().map(Vec::len), Some(3));
}

#[test]
fn unanimous_tie_and_missing_operators() {
    let service_ops = [op(1), op(2), op(3)];
    let all = ResultsReport::build(
        1,
        1,
        &service_ops,
        &[op(1), op(2), op(3)],
        &[h(1), h(1), h(1)],
        Consensus {
            top_hash: h(1),
            agreeing: 3,
            answered: 3,
        },
    )
    .expect("ok");
    assert!(all.unanimous && all.minority.is_empty());
    assert!(Output::plain(false)
        .format(&all)
        .expect("text")
        .ends_with("unanimous"));

    let tie = ResultsReport::build(
        1,
        2,
        &service_ops,
        &[op(1), op(3)],
        &[h(1), h(2)],
        Consensus {
            top_hash: h(1),
            agreeing: 1,
            answered: 2,
        },
    )
    .expect("ok");
    assert!(tie.tie && !tie.majority);
    assert_eq!(tie.missing, vec![op(2)]);
    let text = Output::plain(false).format(&tie).expect("text");
    assert!(text.contains("NO CONSENSUS"), "{text}");
    assert!(text.contains("(no result)"), "{text}");

    let inconsistent = ResultsReport::build(
        1,
        3,
        &service_ops,
        &[op(1)],
        &[],
        Consensus {
            top_hash: h(1),
            agreeing: 1,
            answered: 1,
        },
    );
    assert!(inconsistent.is_err());
}

fn exec_bytes(code: i32) -> Bytes {
    Bytes::from(
        ExecResult {
            exitCode: code,
            stdout: "hello\n".into(),
            stderr: String::new(),
            vesSequence: 4,
            vesStateRoot: h(9),
        }
        .abi_encode(),
    )
}

#[test]
fn an_incomplete_wait_names_the_silent_operators() {
    let results = vec![
        OperatorResult::new(Job::Exec, op(1), exec_bytes(0), Some(10), None),
        OperatorResult::new(
            Job::Exec,
            op(3),
            Bytes::from_static(b"junk"),
            Some(11),
            None,
        ),
    ];
    let r = WaitReport::build(
        1,
        5,
        Job::Prompt,
        false,
        true,
        2,
        Some(3),
        vec![op(1), op(2), op(3)],
        OperatorSource::Bsm,
        results,
        Duration::from_millis(1500),
    );
    assert_eq!(r.missing, vec![op(2)]);
    let text = Output::plain(false).format(&r).expect("text");
    assert!(text.contains("INCOMPLETE"), "{text}");
    assert!(
        text.contains(&format!("no result from: {}", op(2))),
        "{text}"
    );
    assert!(text.contains("timed out"), "{text}");

    let j = json_of(&r);
    assert_eq!(j["completed"], false);
    assert_eq!(j["timed_out"], true);
    assert_eq!(j["missing"][0], op(2).to_string());
    assert_eq!(j["operator_source"], "bsm");
    assert_eq!(j["required"], 3);
    assert_eq!(j["job"], "PROMPT");
    assert_eq!(j["waited_ms"], 1500);
    // A result that does not decode is shown raw with the reason.
    assert_eq!(j["results"][0]["decoded"]["exit_code"], 0);
    assert!(j["results"][1]["decoded"].is_null());
    assert!(j["results"][1]["decode_error"].is_string());
    assert_eq!(j["results"][1]["raw"], "0x6a756e6b");
    assert!(text.contains("undecodable"), "{text}");
}

#[test]
fn decoded_results_appear_in_json_and_text() {
    let r = OperatorResult::new(Job::Exec, op(1), exec_bytes(3), None, None);
    assert_eq!(
        r.decoded.as_ref().map(|d| d["exit_code"].clone()),
        Some(Value::from(3))
    );
    assert!(r
        .summary
        .as_deref()
        .is_some_and(|s| s.contains("exit code 3") && s.contains("hello")));
    let wait = WaitReport::build(
        1,
        2,
        Job::Exec,
        true,
        false,
        1,
        Some(1),
        vec![op(1), op(2)],
        OperatorSource::Tangle,
        vec![r],
        Duration::ZERO,
    );
    assert!(Output::plain(false)
        .format(&wait)
        .expect("text")
        .contains("COMPLETED"));
    let j = json_of(&wait);
    assert_eq!(j["results"][0]["decoded"]["stdout"], "hello\n");
    assert_eq!(j["results"][0]["operator"], op(1).to_string());
}

fn provision(
    operator: Address,
    service_id: u64,
    key: &CustomerKey,
    token: &str,
) -> ProvisionRecord {
    let sealed = seal_access(
        &key.public(),
        service_id,
        &operator.into_array(),
        token.as_bytes(),
    )
    .expect("seal");
    ProvisionRecord {
        operator,
        call_id: 0,
        block: Some(3),
        result: ProvisionResult {
            sandboxId: format!("sbx-{operator}"),
            sidecarUrl: "http://127.0.0.1:9000".into(),
            sshPort: 2222,
            attestation: Bytes::new(),
            sealedAccess: Bytes::from(sealed),
            sidecarPublicKey: FixedBytes::repeat_byte(5),
        },
    }
}

#[test]
fn tokens_open_only_for_their_service_operator_and_key() {
    let key = CustomerKey::generate();
    let records = vec![
        provision(op(1), 4, &key, "token-one"),
        provision(op(2), 4, &key, "token-two"),
    ];
    let opened = open_tokens(&key, 4, &records).expect("opens");
    assert_eq!(opened[0].token, "token-one");
    assert_eq!(opened[1].token, "token-two");
    // Another service id, another key: refused, naming the operator.
    let err = open_tokens(&key, 5, &records).expect_err("bound to the service");
    assert!(err.to_string().contains(&op(1).to_string()), "{err}");
    assert!(open_tokens(&CustomerKey::generate(), 4, &records).is_err());
    // A token sealed for operator 1 presented as operator 2's.
    let mut swapped = provision(op(1), 4, &key, "x");
    swapped.operator = op(2);
    assert!(open_tokens(&key, 4, &[swapped]).is_err());

    // Tokens are shown only when asked.
    let hidden = json_of(&AccessReport::new(4, Some("a.json".into()), &opened, false));
    assert!(hidden["operators"][0].get("token").is_none());
    assert!(!hidden.to_string().contains("token-one"));
    let shown = json_of(&AccessReport::new(4, None, &opened, true));
    assert_eq!(shown["operators"][1]["token"], "token-two");
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

#[test]
fn key_and_access_files_are_private_and_round_trip() {
    let dir = tempfile::tempdir().expect("tmp");
    let key_path = dir.path().join("customer.key");
    let key = CustomerKey::generate();
    key.write(&key_path, false).expect("write");
    #[cfg(unix)]
    assert_eq!(mode(&key_path), 0o600);
    assert_eq!(CustomerKey::read(&key_path).expect("read"), key);
    assert!(!format!("{key:?}").contains(&hex::encode(key.secret())));
    // No silent overwrite.
    let err = key.write(&key_path, false).expect_err("exists");
    assert!(err.to_string().contains("--force"), "{err}");
    key.write(&key_path, true).expect("forced");

    // A key file whose public key does not belong to its secret key is refused.
    let other = CustomerKey::generate();
    let text = std::fs::read_to_string(&key_path).expect("read");
    let doc: Value = serde_json::from_str(&text).expect("json");
    let mut bad = doc.clone();
    bad["public_key"] = Value::from(format!("0x{}", hex::encode(other.public())));
    let bad_path = dir.path().join("bad.key");
    std::fs::write(&bad_path, bad.to_string()).expect("write");
    assert!(CustomerKey::read(&bad_path).is_err());

    let opened = open_tokens(&key, 9, &[provision(op(7), 9, &key, "tok")]).expect("open");
    let access_path = dir.path().join("access.json");
    let file = AccessFile::new(9, opened);
    file.write(&access_path, false).expect("write");
    #[cfg(unix)]
    assert_eq!(mode(&access_path), 0o600);
    let back = AccessFile::read(&access_path).expect("read");
    assert_eq!(back, file);
    assert_eq!(back.token(op(7)), Some("tok"));
    assert_eq!(back.token(op(8)), None);
}
