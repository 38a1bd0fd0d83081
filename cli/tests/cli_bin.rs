//! The `agentctl` binary at its edge: argument parsing, one JSON document per command with
//! `--json`, exit codes, and errors that never echo the private key.

use std::process::{Command, Output};

use agent_cli::args::{Cli, Command as Sub, StreamCommand, VerifyCommand};
use clap::Parser;
use serde_json::Value;

fn agentctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentctl"))
        .args(args)
        .env_remove("AGENT_PRIVATE_KEY")
        .env_remove("AGENT_BSM")
        .env_remove("AGENT_SIDECAR_TOKEN")
        .output()
        .expect("agentctl runs")
}

fn json_stdout(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("one JSON document expected ({e}): {text}"))
}

#[test]
fn keygen_writes_a_private_key_file_and_prints_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("k.json");
    let p = path.to_str().expect("utf-8");
    let out = agentctl(&["--json", "keygen", "--out", p]);
    assert!(out.status.success(), "{out:?}");
    let doc = json_stdout(&out);
    assert_eq!(doc["file"], p);
    let public = doc["public_key"].as_str().expect("public key");
    assert_eq!(public.len(), 66);
    let key = agent_cli::keys::CustomerKey::read(&path).expect("readable");
    assert_eq!(format!("0x{}", hex::encode(key.public())), public);
    // The secret never reaches stdout.
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&hex::encode(key.secret())));

    // Refusing to overwrite is an error with exit code 2 and a JSON error document.
    let again = agentctl(&["--json", "keygen", "--out", p]);
    assert_eq!(again.status.code(), Some(2));
    let err = json_stdout(&again);
    assert_eq!(err["ok"], false);
    assert!(err["error"].as_str().is_some_and(|e| e.contains("--force")));
    // In text mode the error goes to stderr.
    let text = agentctl(&["keygen", "--out", p]);
    assert_eq!(text.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&text.stderr).starts_with("error:"));
}

#[test]
fn chain_errors_are_reported_without_the_private_key() {
    let key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    // Nothing listens on port 9 of loopback: the RPC call fails quickly.
    let out = agentctl(&[
        "--json",
        "submit",
        "--rpc-url",
        "http://127.0.0.1:9",
        "--private-key",
        key,
        "--service-id",
        "1",
        "exec",
        "--command",
        "ls",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = json_stdout(&out);
    assert_eq!(err["ok"], false);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(key));
    assert!(!all.contains(&key[..16]));

    let bad_key = agentctl(&[
        "submit",
        "--private-key",
        "0x1234",
        "--service-id",
        "1",
        "exec",
        "--command",
        "ls",
    ]);
    assert_eq!(bad_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_key.stderr).contains("32 bytes"));
}

#[test]
fn every_command_parses() {
    let parse = |args: &[&str]| {
        let mut argv = vec!["agentctl"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    match parse(&[
        "request-service",
        "--blueprint-id",
        "1",
        "--operators",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8,0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        "--permitted-caller",
        "0x15d34AAf54267DB7D7c367839AAF71A00a2C6A65",
        "--ttl",
        "60",
    ])
    .command
    {
        Sub::RequestService(a) => {
            assert_eq!(a.operators.len(), 2);
            assert_eq!(a.permitted_caller.len(), 1);
            assert_eq!(a.ttl, 60);
            assert_eq!(a.chain.rpc_url, "http://127.0.0.1:8545");
            assert_eq!(a.chain.tangle.to_string(), agent_cli::chain::SEEDED_TANGLE);
        }
        other => panic!("{other:?}"),
    }
    // Chain and submit options may come before or after the job.
    match parse(&[
        "submit",
        "exec",
        "--command",
        "ls",
        "--service-id",
        "3",
        "--wait",
        "--timeout",
        "5",
        "--rpc-url",
        "http://x:1",
    ])
    .command
    {
        Sub::Submit(a) => {
            assert_eq!(a.service_id, Some(3));
            assert!(a.wait);
            assert_eq!(a.wait_opts.timeout, 5);
            assert_eq!(a.chain.rpc_url, "http://x:1");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse(&["wait", "--service-id", "1", "--call-id", "2"]).command,
        Sub::Wait(_)
    ));
    assert!(matches!(
        parse(&["endpoints", "--service-id", "1"]).command,
        Sub::Endpoints(_)
    ));
    assert!(matches!(
        parse(&["results", "--service-id", "1", "--call-id", "2"]).command,
        Sub::Results(_)
    ));
    assert!(matches!(
        parse(&["open-access", "--service-id", "1", "--key", "k.json", "--show-tokens"]).command,
        Sub::OpenAccess(a) if a.show_tokens
    ));
    assert!(matches!(
        parse(&[
            "stream",
            "exec",
            "--service-id",
            "1",
            "--command",
            "uname -a",
            "--access",
            "a.json"
        ])
        .command,
        Sub::Stream(StreamCommand::Exec(_))
    ));
    assert!(matches!(
        parse(&[
            "verify",
            "log",
            "--sidecar-url",
            "http://s",
            "--token",
            "t",
            "--service-id",
            "1",
            "--operator",
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        ])
        .command,
        Sub::Verify(VerifyCommand::Log(_))
    ));
    assert!(matches!(
        parse(&["verify", "receipt", "r.json", "--level", "full"]).command,
        Sub::Verify(VerifyCommand::Receipt(a)) if a.level.is_some()
    ));

    let refused = |args: &[&str]| {
        let mut argv = vec!["agentctl"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).is_err()
    };
    assert!(refused(&[
        "request-service",
        "--blueprint-id",
        "1",
        "--operators",
        "0xnothex"
    ]));
    assert!(refused(&["verify", "receipt", "r.json", "--level", "zk"]));
    assert!(refused(&["verify", "receipt"]));
    assert!(refused(&["verify", "log", "--service-id", "1"]));
    assert!(refused(&[
        "stream",
        "exec",
        "--service-id",
        "1",
        "--command",
        "x",
        "--access",
        "a",
        "--key",
        "k"
    ]));
}

#[test]
fn submit_without_a_service_id_is_a_clear_error() {
    let out = agentctl(&["submit", "deprovision"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--service-id"));
}

#[test]
fn verify_receipt_of_a_file_reports_and_exits_non_zero_on_failure() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("r.json");
    std::fs::write(&path, r#"{"not": "a receipt"}"#).expect("write");
    let out = agentctl(&["--json", "verify", "receipt", path.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(json_stdout(&out)["error"]
        .as_str()
        .is_some_and(|e| e.contains("not a receipt")));
}
