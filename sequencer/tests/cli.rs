//! The `ves` binary as a subprocess against a served router:
//! keygen → register-key → emit → sync → pull → verify-stream (and tampering detection).

mod common;

use std::path::Path;

use common::http::*;
use common::*;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use ves::client::VesClient;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn ves(s: &Server, dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_ves"));
    cmd.args(args)
        .env("VES_URL", &s.base)
        .env("VES_API_KEY", AGENT_KEY)
        .env("VES_TENANT", TENANT.to_string())
        .env("VES_STORE", STORE.to_string())
        .env("VES_AGENT_ID", AGENT.to_string())
        .env("VES_KEY_FILE", dir.join("agent.key"))
        .env("VES_OUTBOX", dir.join("outbox.db"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn ves");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).await.expect("write stdin");
    }
    drop(pipe);
    let out = child.wait_with_output().await.expect("ves output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn ok(s: &Server, dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let run = ves(s, dir, args, stdin).await;
    assert_eq!(run.code, 0, "ves {args:?}: {}\n{}", run.stdout, run.stderr);
    run.stdout
}

#[tokio::test]
async fn keygen_register_emit_sync_pull_verify() {
    let s = serve().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();

    let out = ok(&s, dir, &["keygen", "--json"], None).await;
    let keygen: Value = serde_json::from_str(&out).expect("keygen json");
    assert!(keygen["public_key"]
        .as_str()
        .is_some_and(|k| k.starts_with("0x") && k.len() == 66));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("agent.key"))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = ves(&s, dir, &["keygen"], None).await;
    assert_eq!(again.code, 2, "keygen must not overwrite: {}", again.stderr);

    let out = ok(&s, dir, &["register-key"], None).await;
    assert!(out.contains("registered"), "{out}");

    // Offline emits (no network needed), one payload from stdin.
    let common_args = ["--entity-type", "Order", "--event-type", "Created"];
    let mut args = vec![
        "emit",
        "--entity-id",
        "o-1",
        "--payload",
        r#"{"amount": 1.5}"#,
    ];
    args.extend(common_args);
    assert!(ok(&s, dir, &args, None).await.contains("queued event"));
    let mut args = vec!["emit", "--entity-id", "o-2"];
    args.extend(common_args);
    ok(&s, dir, &args, Some(r#"{"amount": 2}"#)).await;
    let bad = ves(
        &s,
        dir,
        &[
            "emit",
            "--entity-id",
            "o-3",
            "--payload",
            "{",
            "--entity-type",
            "Order",
            "--event-type",
            "Created",
        ],
        None,
    )
    .await;
    assert_eq!(bad.code, 2);

    let out = ok(&s, dir, &["sync"], None).await;
    assert!(out.contains("2 accepted"), "{out}");
    assert!(out.contains("last pushed 2"), "{out}");

    // Commit what is there, then add one uncommitted event.
    let client = VesClient::new(&s.base, AGENT_KEY).expect("client");
    client
        .create_commitment(stream(), None)
        .await
        .expect("commit");
    let mut args = vec![
        "emit",
        "--entity-id",
        "o-1",
        "--base-version",
        "1",
        "--payload",
        "{\"amount\": 3}",
    ];
    args.extend(common_args);
    ok(&s, dir, &args, None).await;
    let out = ok(&s, dir, &["push", "--json"], None).await;
    let push: Value = serde_json::from_str(&out).expect("push json");
    assert_eq!(push["report"]["accepted"], 1);

    let pulled = ok(&s, dir, &["pull"], None).await;
    let lines: Vec<&str> = pulled.lines().collect();
    assert_eq!(lines.len(), 3, "{pulled}");
    let first: Value = serde_json::from_str(lines[0]).expect("json line");
    assert_eq!(first["sequence_number"], 1);
    assert_eq!(ok(&s, dir, &["pull"], None).await.lines().count(), 0);

    let head: Value =
        serde_json::from_str(&ok(&s, dir, &["head", "--json"], None).await).expect("head");
    assert_eq!(
        (
            head["head_sequence"].as_u64(),
            head["committed_sequence"].as_u64()
        ),
        (Some(3), Some(2))
    );

    let out = ok(&s, dir, &["verify-stream"], None).await;
    assert!(
        out.contains("checked 3 event(s)") && out.contains("2 inclusion proof(s)"),
        "{out}"
    );
    assert!(out.contains("OK: stream verified"), "{out}");

    let event_id = first["event"]["event_id"]
        .as_str()
        .expect("event id")
        .to_owned();
    assert!(
        ok(&s, dir, &["verify-receipt", "--event-id", &event_id], None)
            .await
            .starts_with("OK")
    );
    assert!(ok(&s, dir, &["verify-proof", &event_id], None)
        .await
        .starts_with("OK"));

    // Tampered event: verify-stream fails.
    let tampered = pulled.replacen("1.5", "150", 1);
    assert_ne!(tampered, pulled);
    let file = dir.join("tampered.jsonl");
    std::fs::write(&file, &tampered).expect("write");
    let run = ves(
        &s,
        dir,
        &["verify-stream", "--file", file.to_str().expect("path")],
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("FAILED at sequence 1"),
        "{}",
        run.stdout
    );

    // Forged receipt signature: verify-receipt and verify-stream fail.
    let mut forged: Value = serde_json::from_str(lines[2]).expect("json");
    let sig = forged["receipt"]["sequencerSignature"]
        .as_str()
        .expect("sig")
        .to_owned();
    let flipped = if sig.ends_with('0') { "1" } else { "0" };
    forged["receipt"]["sequencerSignature"] =
        Value::from(format!("{}{flipped}", &sig[..sig.len() - 1]));
    let forged_line = forged.to_string();
    let run = ves(
        &s,
        dir,
        &["verify-receipt", "--file", "-"],
        Some(&forged_line),
    )
    .await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("FAILED"), "{}", run.stdout);
    let stream_text = format!("{}\n{}\n{forged_line}\n", lines[0], lines[1]);
    let run = ves(
        &s,
        dir,
        &["verify-stream", "--json", "--file", "-"],
        Some(&stream_text),
    )
    .await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("report json");
    assert_eq!(report["ok"], false);
    assert_eq!(report["report"]["failures"][0]["sequence_number"], 3);

    // Missing configuration is a clear error.
    let run = ves(&s, dir, &["head", "--url", "ftp://nowhere"], None).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("error"), "{}", run.stderr);
}
