//! The CLI's sidecar clients against real sidecars in process: streamed exec on several
//! sandboxes at once, event-log verification (with a chain view), and receipt verification of
//! a real workflow run at both levels.

mod common;

use std::sync::Mutex;

use agent_cli::output::Spinner;
use agent_cli::receipt::{check_receipt, default_levels, EvidenceDoc, TrustSource};
use agent_cli::sidecar::{ExecBody, Sidecar};
use agent_cli::stream::{exec_everywhere, Channel, Target};
use agent_cli::verify::{check_log, fetch_log, verify_log, ChainView};
use agent_orchestrator::VerifyLevel;
use blueprint_sdk::alloy::primitives::{Address, B256};
use common::{start_sidecar, LiveSidecar};
use serde_json::json;

fn target(label: &str, s: &LiveSidecar) -> Target {
    Target {
        label: label.into(),
        operator: None,
        sidecar: s.client(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_exec_runs_on_every_sidecar_at_once() {
    let (a, b) = (start_sidecar().await, start_sidecar().await);
    let targets = vec![target("op0", &a), target("op1", &b)];
    let lines: Mutex<Vec<(String, Channel, String)>> = Mutex::new(Vec::new());
    let sink = |t: &Target, ch: Channel, line: &str| {
        lines
            .lock()
            .expect("lock")
            .push((t.label.clone(), ch, line.to_owned()));
    };
    let body = ExecBody {
        command: "echo one; echo two; echo warn >&2".into(),
        ..Default::default()
    };
    let report = exec_everywhere(&targets, &body, &sink).await;
    assert!(report.all_succeeded, "{report:?}");
    assert!(report.outputs_agree, "{report:?}");
    for o in &report.operators {
        assert_eq!(o.stdout, "one\ntwo\n");
        assert_eq!(o.stderr, "warn\n");
        let exit = o.exit.as_ref().expect("exit event");
        assert_eq!(exit.exit_code, 0);
        assert!(
            exit.ves_sequence > 0,
            "the exec is recorded in the sandbox log"
        );
    }
    let lines = lines.into_inner().expect("lock");
    for label in ["op0", "op1"] {
        let mine: Vec<_> = lines.iter().filter(|(l, _, _)| l == label).collect();
        assert_eq!(mine.len(), 3, "{lines:?}");
        assert!(mine
            .iter()
            .any(|(_, ch, l)| *ch == Channel::Stderr && l == "warn"));
    }

    // Different sandboxes, different workspaces: the comparison says so.
    let pwd = ExecBody {
        command: "pwd; exit 3".into(),
        ..Default::default()
    };
    let report = exec_everywhere(&targets, &pwd, &|_, _, _| {}).await;
    assert!(!report.outputs_agree && !report.all_succeeded);
    assert_eq!(
        report.operators[0].exit.as_ref().map(|e| e.exit_code),
        Some(3)
    );

    // A wrong token is that operator's failure, not the others'.
    let bad = Target {
        label: "bad".into(),
        operator: Some(Address::repeat_byte(9)),
        sidecar: Sidecar::new(&a.url, "wrong-token-0123456789").expect("client"),
    };
    let report = exec_everywhere(&[target("op0", &a), bad], &body, &|_, _, _| {}).await;
    assert!(report.operators[0].error.is_none());
    let err = report.operators[1].error.as_deref().expect("refused");
    assert!(err.contains("401"), "{err}");
    assert!(!report.all_succeeded);
}

async fn run_some_execs(s: &LiveSidecar, n: usize) {
    for i in 0..n {
        let out = s
            .post("/v1/exec", json!({ "command": format!("echo run {i}") }))
            .await;
        assert_eq!(out["exit_code"], 0, "{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_log_checks_a_real_sandbox_log() {
    let s = start_sidecar().await;
    run_some_execs(&s, 3).await;
    let sidecar = s.client();
    let report = verify_log(&sidecar, None, true, &Spinner::hidden())
        .await
        .expect("verifies");
    assert!(report.ok, "{:?}", report.failures);
    assert!(report.events >= 3, "{report:?}");
    assert_eq!(report.committed_sequence, report.head_sequence);
    assert_eq!(report.proofs as u64, report.committed_sequence);
    assert!(report.commitments >= 1);
    assert!(report.state_root.is_some());

    // More events after the last commitment: verified, but without proofs for them.
    run_some_execs(&s, 2).await;
    let report = verify_log(&sidecar, None, false, &Spinner::hidden())
        .await
        .expect("verifies");
    assert!(report.ok, "{:?}", report.failures);
    assert!(report.head_sequence > report.committed_sequence);

    // The chain's view: the sidecar key recorded at PROVISION and an anchored head.
    let committed = s.post("/v1/ves/commit", json!({})).await;
    let seq = committed["seq_end"].as_u64().expect("seq_end");
    let root: B256 = committed["state_root"]
        .as_str()
        .expect("root")
        .parse()
        .expect("hex");
    let evidence = fetch_log(&sidecar, false, &Spinner::hidden())
        .await
        .expect("fetch");
    let key = B256::from(evidence.info.ves.public_key.to_bytes());
    let view = ChainView {
        service_id: 1,
        operator: Address::repeat_byte(1),
        sidecar_public_key: key,
        anchor_sequence: seq,
        anchor_state_root: root,
    };
    let good = check_log(&s.url, &evidence, Some(view));
    assert!(good.ok, "{:?}", good.failures);
    let anchor = good.anchor.as_ref().expect("anchor check");
    assert!(anchor.key_matches);
    assert_eq!(anchor.anchor_matches, Some(true));

    // Nothing anchored yet is not a failure.
    let none = check_log(
        &s.url,
        &evidence,
        Some(ChainView {
            anchor_sequence: 0,
            anchor_state_root: B256::ZERO,
            ..view
        }),
    );
    assert!(none.ok);
    assert_eq!(none.anchor.as_ref().and_then(|a| a.anchor_matches), None);

    // A root the log never committed to, and a key that is not the sidecar's, both fail.
    let wrong_root = check_log(
        &s.url,
        &evidence,
        Some(ChainView {
            anchor_state_root: B256::repeat_byte(7),
            ..view
        }),
    );
    assert!(!wrong_root.ok);
    assert_eq!(
        wrong_root.anchor.as_ref().and_then(|a| a.anchor_matches),
        Some(false)
    );
    let wrong_key = check_log(
        &s.url,
        &evidence,
        Some(ChainView {
            sidecar_public_key: B256::repeat_byte(7),
            ..view
        }),
    );
    assert!(!wrong_key.ok);
    assert!(wrong_key
        .failures
        .iter()
        .any(|f| f.error.contains("not the key on chain")));
}

const DIAMOND: &str = r#"{
  "name": "diamond",
  "steps": [
    {"id": "a", "kind": {"type": "command", "program": "sh", "args": ["-c", "echo A"]}},
    {"id": "b", "kind": {"type": "command", "program": "sh", "args": ["-c", "echo B"]}, "depends_on": ["a"]},
    {"id": "c", "kind": {"type": "command", "program": "sh", "args": ["-c", "echo C"]}, "depends_on": ["a"]},
    {"id": "d", "kind": {"type": "command", "program": "sh", "args": ["-c", "echo D"]}, "depends_on": ["b", "c"]}
  ]
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_receipt_of_a_real_run_at_both_levels() {
    let s = start_sidecar().await;
    let workflow: serde_json::Value = serde_json::from_str(DIAMOND).expect("json");
    let out = s
        .post("/v1/workflows/run", json!({ "workflow": workflow }))
        .await;
    assert_eq!(out["status"], "succeeded", "{out}");
    let run_id: uuid::Uuid = out["run_id"]
        .as_str()
        .expect("run id")
        .parse()
        .expect("uuid");
    let sidecar = s.client();
    let key = sidecar.info().await.expect("info").ves.public_key;

    let doc = EvidenceDoc::parse(sidecar.evidence(run_id).await.expect("evidence"))
        .expect("evidence doc");
    assert!(doc.has_full_evidence());
    let levels = default_levels(&doc, None);
    assert_eq!(levels, vec![VerifyLevel::Basic, VerifyLevel::Full]);
    let report = check_receipt(&doc, key, TrustSource::Given, &levels);
    assert!(report.ok, "{report:?}");
    assert_eq!(report.status, "succeeded");
    assert!(report.levels[1].events_checked > 0);
    assert!(report.levels[0]
        .hashes_checked
        .iter()
        .any(|h| h == "workflow"));

    // Another trusted key: refused at every level.
    let stranger =
        ves::Ed25519PublicKey::from_signing_key(&ves::SigningKey::from_bytes(&[3u8; 32]));
    let report = check_receipt(&doc, stranger, TrustSource::Given, &levels);
    assert!(!report.ok);
    assert!(report
        .levels
        .iter()
        .all(|l| l.error.as_deref().is_some_and(|e| e.contains("signer"))));

    // Tampered evidence: the output no longer matches the receipt.
    let mut tampered = doc.clone();
    tampered.output = Some(json!({"d": "forged"}));
    let report = check_receipt(&tampered, key, TrustSource::Given, &[VerifyLevel::Basic]);
    assert!(!report.ok);
    assert!(
        report.levels[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("output")),
        "{report:?}"
    );

    // A bare receipt: only `basic` can run; `full` says what is missing.
    let bare =
        EvidenceDoc::parse(sidecar.receipt(run_id).await.expect("receipt")).expect("receipt doc");
    assert!(!bare.has_full_evidence());
    assert_eq!(default_levels(&bare, None), vec![VerifyLevel::Basic]);
    assert!(
        check_receipt(
            &bare,
            key,
            TrustSource::ReceiptSigner,
            &[VerifyLevel::Basic]
        )
        .ok
    );
    let full = check_receipt(&bare, key, TrustSource::Given, &[VerifyLevel::Full]);
    assert!(!full.ok);
    assert!(full.levels[0]
        .error
        .as_deref()
        .is_some_and(|e| e.contains("missing evidence")));
}
