//! Command-line arguments → job input bytes, checked against the golden bytes shared with the
//! forge tests (`contracts/test/fixtures/golden-outputs.json`), round trips for all eight
//! jobs, and result decoding of the golden result bytes.

use agent_cli::args::{Cli, Command};
use agent_cli::jobs::{JobInput, JobOutput};
use agent_types::Job;
use clap::Parser;
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contracts/test/fixtures/golden-outputs.json"
    );
    let text = std::fs::read_to_string(path).expect("golden fixture is committed");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn encoded(entry: &Value) -> Vec<u8> {
    let hex = entry["encoded"].as_str().expect("encoded");
    hex::decode(hex.trim_start_matches("0x")).expect("hex")
}

/// Parses `agentctl submit --service-id 1 <args>` and returns the job input.
fn submit_input(args: &[&str]) -> JobInput {
    let mut argv = vec!["agentctl", "submit", "--service-id", "1"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).expect("arguments parse");
    match cli.command {
        Command::Submit(s) => s.job.to_input().expect("valid input"),
        other => panic!("not a submit: {other:?}"),
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} is a string"))
}

#[test]
fn arguments_produce_the_golden_request_bytes() {
    let fx = fixture();
    let rq = &fx["requests"];

    let f = &rq["ProvisionRequest"]["fields"];
    let input = submit_input(&[
        "provision",
        "--cpu-millis",
        "2000",
        "--memory-mb",
        "4096",
        "--disk-gb",
        "20",
        "--lifetime-secs",
        "86400",
        "--idle-timeout-secs",
        "1800",
        "--image",
        s(f, "image"),
        "--ssh-key",
        s(f, "sshPublicKey"),
        "--customer-public-key",
        s(f, "customerX25519PublicKey"),
        "--nonce",
        s(f, "attestationNonce"),
    ]);
    assert_eq!(input.job(), Job::Provision);
    assert_eq!(
        input.encode(),
        encoded(&rq["ProvisionRequest"]),
        "PROVISION"
    );

    let f = &rq["ExecRequest"]["fields"];
    let env: Vec<&str> = f["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| e.as_str().expect("env entry"))
        .collect();
    let mut args = vec!["exec", "--command", s(f, "command"), "--cwd", s(f, "cwd")];
    for e in &env {
        args.extend_from_slice(&["--env", e]);
    }
    args.extend_from_slice(&["--timeout-ms", "30000"]);
    assert_eq!(
        submit_input(&args).encode(),
        encoded(&rq["ExecRequest"]),
        "EXEC"
    );

    let f = &rq["PromptRequest"]["fields"];
    let seed = f["seed"].as_u64().expect("seed").to_string();
    let input = submit_input(&[
        "prompt",
        "--prompt",
        s(f, "prompt"),
        "--system-prompt",
        s(f, "systemPrompt"),
        "--model",
        s(f, "model"),
        "--max-tokens",
        "512",
        "--seed",
        &seed,
        "--timeout-ms",
        "60000",
    ]);
    assert_eq!(input.encode(), encoded(&rq["PromptRequest"]), "PROMPT");

    let f = &rq["SshProvisionRequest"]["fields"];
    let input = submit_input(&[
        "ssh-provision",
        "--username",
        s(f, "username"),
        "--key",
        s(f, "publicKey"),
    ]);
    assert_eq!(
        input.encode(),
        encoded(&rq["SshProvisionRequest"]),
        "SSH_PROVISION"
    );

    let f = &rq["SshRevokeRequest"]["fields"];
    let input = submit_input(&[
        "ssh-revoke",
        "--username",
        s(f, "username"),
        "--key",
        s(f, "publicKey"),
    ]);
    assert_eq!(
        input.encode(),
        encoded(&rq["SshRevokeRequest"]),
        "SSH_REVOKE"
    );

    let input = submit_input(&["snapshot", "--include-state"]);
    assert_eq!(input.encode(), encoded(&rq["SnapshotRequest"]), "SNAPSHOT");

    // The default reason is the fixture's.
    let input = submit_input(&["deprovision"]);
    assert_eq!(
        input.encode(),
        encoded(&rq["DeprovisionRequest"]),
        "DEPROVISION"
    );
}

#[test]
fn golden_requests_decode_to_the_same_input() {
    let fx = fixture();
    for (name, entry) in fx["requests"].as_object().expect("requests") {
        let job = Job::try_from(entry["job"].as_u64().expect("job") as u8).expect("job id");
        let bytes = encoded(entry);
        let input = JobInput::decode(job, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(input.job(), job, "{name}");
        assert_eq!(input.encode(), bytes, "{name} re-encodes identically");
    }
}

#[test]
fn every_job_round_trips_from_arguments() {
    let dir = tempfile::tempdir().expect("tmp");
    let workflow = dir.path().join("wf.json");
    std::fs::write(
        &workflow,
        r#"{"name":"two","steps":[
            {"id":"a","kind":{"type":"command","program":"sh","args":["-c","echo a"]}},
            {"id":"b","kind":{"type":"command","program":"sh","args":["-c","echo b"]},"depends_on":["a"]}
        ]}"#,
    )
    .expect("write workflow");
    let key_file = dir.path().join("customer.key");
    let key = agent_cli::keys::CustomerKey::generate();
    key.write(&key_file, false).expect("key file");
    let wf = workflow.to_str().expect("utf-8 path");
    let kf = key_file.to_str().expect("utf-8 path");

    let cases: Vec<Vec<&str>> = vec![
        vec!["provision", "--customer-key", kf],
        vec![
            "exec",
            "--command",
            "echo hi",
            "--env",
            "A=1",
            "--env",
            "B=x=y",
        ],
        vec!["prompt", "--prompt", "hello", "--seed", "7"],
        vec!["task", "--prompt", "fix it", "--max-turns", "3"],
        vec!["task", "--workflow", wf],
        vec![
            "ssh-provision",
            "--username",
            "agent",
            "--key",
            "ssh-ed25519 AAAA me",
        ],
        vec!["ssh-revoke", "--username", "agent"],
        vec![
            "snapshot",
            "--destination-url",
            "https://example.org/up",
            "--docker-commit",
        ],
        vec!["deprovision", "--reason", "done"],
    ];
    let mut seen = std::collections::BTreeSet::new();
    for args in cases {
        let input = submit_input(&args);
        seen.insert(input.job().id());
        let bytes = input.encode();
        let back = JobInput::decode(input.job(), &bytes).expect("decodes");
        assert_eq!(back, input, "{args:?}");
        assert_eq!(back.to_json(), input.to_json(), "{args:?}");
    }
    assert_eq!(seen.len(), 8, "all eight jobs are covered");

    // PROVISION carries the key file's public key; TASK the workflow file's text.
    match submit_input(&["provision", "--customer-key", kf]) {
        JobInput::Provision(r) => assert_eq!(r.customerX25519PublicKey.0, key.public()),
        other => panic!("{other:?}"),
    }
    match submit_input(&["task", "--workflow", wf]) {
        JobInput::Task(r) => {
            assert!(r.workflowJson.starts_with("{\"name\":\"two\""));
            assert!(r.prompt.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

fn camel_to_snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn golden_results_decode_with_every_field() {
    let fx = fixture();
    for (name, entry) in fx["results"].as_object().expect("results") {
        let job = Job::try_from(entry["job"].as_u64().expect("job") as u8).expect("job id");
        let bytes = encoded(entry);
        let out = JobOutput::decode(job, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.job(), job);
        assert_eq!(out.encode(), bytes, "{name}");
        let json = out.to_json();
        for (field, want) in entry["fields"].as_object().expect("fields") {
            let got = &json[camel_to_snake(field)];
            match want {
                Value::String(w) if w.starts_with("0x") => {
                    assert_eq!(
                        got.as_str().map(str::to_lowercase),
                        Some(w.to_lowercase()),
                        "{name}.{field}"
                    )
                }
                _ => assert_eq!(got, want, "{name}.{field}"),
            }
        }
        assert!(!out.summary().is_empty());
    }
}

#[test]
fn malformed_result_bytes_are_refused() {
    let fx = fixture();
    let exec = encoded(&fx["results"]["ExecResult"]);
    // Truncated.
    assert!(JobOutput::decode(Job::Exec, &exec[..exec.len() - 1]).is_err());
    // Trailing garbage: decodes leniently elsewhere, but is not the canonical encoding.
    let mut longer = exec.clone();
    longer.extend_from_slice(&[0u8; 32]);
    let err = JobOutput::decode(Job::Exec, &longer).expect_err("non-canonical");
    assert!(err.to_string().contains("canonical"), "{err}");
    // Empty output.
    assert!(JobOutput::decode(Job::Deprovision, &[]).is_err());
}

#[test]
fn bad_job_arguments_are_refused_with_clear_errors() {
    let parse = |args: &[&str]| {
        let mut argv = vec!["agentctl", "submit", "--service-id", "1"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Submit(s) => s.job.to_input(),
            _ => unreachable!("submit"),
        })
    };
    let msg = |args: &[&str]| match parse(args) {
        Ok(Err(e)) => e.to_string(),
        Ok(Ok(i)) => panic!("{args:?} accepted: {i:?}"),
        Err(e) => e.to_string(),
    };
    assert!(msg(&["exec", "--command", "ls", "--env", "NOVALUE"]).contains("NAME=VALUE"));
    assert!(msg(&["exec", "--command", "ls", "--env", "1X=2"]).contains("invalid variable name"));
    assert!(msg(&["exec", "--command", "  "]).contains("must not be empty"));
    assert!(msg(&["task"]).contains("--prompt or --workflow"));
    assert!(msg(&["provision"]).contains("customer"));
    assert!(msg(&["provision", "--customer-public-key", "0x1234"]).contains("32 bytes"));
    assert!(msg(&[
        "provision",
        "--customer-public-key",
        &format!("0x{}", "00".repeat(32))
    ])
    .contains("must not be zero"));
    assert!(msg(&[
        "provision",
        "--customer-public-key",
        &"11".repeat(32),
        "--nonce",
        "zz"
    ])
    .contains("not hex"));
    assert!(
        msg(&["provision", "--customer-key", "/nonexistent/key.json"])
            .contains("/nonexistent/key.json")
    );
    assert!(msg(&["ssh-provision", "--username", "agent"]).contains("--key"));
    assert!(msg(&["task", "--workflow", "/nonexistent/wf.json"]).contains("/nonexistent/wf.json"));

    let dir = tempfile::tempdir().expect("tmp");
    let cyclic = dir.path().join("cycle.json");
    std::fs::write(
        &cyclic,
        r#"{"name":"c","steps":[
            {"id":"x","kind":{"type":"command","program":"true"},"depends_on":["y"]},
            {"id":"y","kind":{"type":"command","program":"true"},"depends_on":["x"]}]}"#,
    )
    .expect("write");
    assert!(
        msg(&["task", "--workflow", cyclic.to_str().expect("path")]).contains("invalid workflow")
    );
}
