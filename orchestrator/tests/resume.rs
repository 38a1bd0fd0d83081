mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_orchestrator::{
    verify, CancelToken, Evidence, FullEvidence, JournalEntry, RunStatus, VerifyLevel,
};
use common::{key, open_journal, step, workflow, Behavior, Env, TestExecutor};
use serde_json::json;

fn crash_workflow() -> Arc<agent_orchestrator::ValidatedWorkflow> {
    let mut steps = vec![step("a", &[], json!({}))];
    let mut all = vec![];
    for i in 0..10 {
        steps.push(step(&format!("f{i}"), &["a"], json!({})));
        all.push(format!("f{i}"));
    }
    for i in 0..3 {
        steps.push(step(&format!("s{i}"), &["a"], json!({})));
        all.push(format!("s{i}"));
    }
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    steps.push(step("z", &refs, json!({})));
    workflow(steps, json!({}))
}

fn succeeded_steps(env: &Env, run_id: uuid::Uuid) -> HashSet<String> {
    let journal = env.journal();
    let run = journal.load_run(run_id).unwrap();
    run.entries
        .iter()
        .filter_map(|e| match &e.entry {
            JournalEntry::StepSucceeded { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect()
}

/// Entries of `kind` committed to the journal, read directly from SQLite.
fn durable_count(env: &Env, kind: &str) -> i64 {
    let Ok(conn) = rusqlite::Connection::open(env.db()) else {
        return 0;
    };
    conn.query_row(
        "SELECT count(*) FROM entries WHERE kind = ?1",
        [kind],
        |r| r.get(0),
    )
    .unwrap_or(0)
}

#[test]
fn resume_after_crash_skips_completed_steps() {
    let env = Env::new();
    let wf = crash_workflow();
    // First incarnation: the s* steps hang; stop the runtime while they are in flight.
    let slow: Vec<(String, Behavior)> = (0..3)
        .map(|i| (format!("s{i}"), Behavior::Sleep(Duration::from_secs(60))))
        .collect();
    let refs: Vec<(&str, Behavior)> = slow.iter().map(|(k, b)| (k.as_str(), b.clone())).collect();
    let exec1 = TestExecutor::with(&refs);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let engine = env.engine(exec1.clone(), 8);
    let (run_id, _) = rt.block_on(engine.start(&wf, json!({}))).unwrap();
    let e2 = engine.clone();
    let wf2 = wf.clone();
    rt.spawn(async move { e2.resume(run_id, &CancelToken::new()).await });
    let t = Instant::now();
    while durable_count(&env, "step_succeeded") < 11 || exec1.calls("s2") == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "first incarnation stalled"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(wf2);
    rt.shutdown_background(); // the "crash": in-flight steps are dropped mid-execution
    drop(engine);
    assert_eq!(exec1.calls("z"), 0);

    // Restart: reopen the journal, find the unfinished run, resume it.
    let done_before = succeeded_steps(&env, run_id);
    assert!(
        done_before.contains("a") && done_before.contains("f9"),
        "{done_before:?}"
    );
    assert!(!done_before.contains("s0"));
    let exec2 = TestExecutor::with(&[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let engine = env.engine(exec2.clone(), 8);
    assert_eq!(engine.journal().unfinished_runs().unwrap(), vec![run_id]);
    let outcomes = rt.block_on(engine.resume_all(&CancelToken::new())).unwrap();
    assert_eq!(outcomes.len(), 1);
    let out = &outcomes[0];
    assert_eq!(out.status, RunStatus::Succeeded, "{:?}", out.error);
    for s in &done_before {
        assert_eq!(exec2.calls(s), 0, "completed step {s} was executed again");
    }
    for s in ["s0", "s1", "s2", "z"] {
        assert_eq!(exec2.calls(s), 1, "{s}");
    }
    // The interrupted attempt is repeated with the same idempotency key (attempt 1).
    assert!(exec2
        .keys
        .lock()
        .unwrap()
        .iter()
        .any(|k| k.ends_with(":s0:1")));
    assert_eq!(out.receipt.steps_completed, 15);
    assert!(engine.journal().unfinished_runs().unwrap().is_empty());
    assert!(matches!(
        rt.block_on(engine.resume(run_id, &CancelToken::new())),
        Err(agent_orchestrator::EngineError::AlreadyFinished(_))
    ));

    // Full verification covers events from both incarnations.
    let (commitment, events) = env.sink.evidence_for(run_id).unwrap();
    let stored = engine.journal().load_run(run_id).unwrap();
    let evidence = Evidence {
        workflow: Some(wf.def().clone()),
        inputs: Some(stored.inputs.clone()),
        output: stored.output.clone(),
        step_results: Some(stored.step_results()),
        full: Some(FullEvidence { commitment, events }),
        ..Evidence::key_only(ves::Ed25519PublicKey::from_signing_key(&key()))
    };
    verify(&out.receipt, VerifyLevel::Full, &evidence).unwrap();
}

/// Child side of the kill -9 test: runs a workflow whose later steps hang.
#[test]
fn kill9_child() {
    let Ok(db) = std::env::var("ORCH_KILL9_DB") else {
        return;
    };
    let sink = Arc::new(agent_orchestrator::MemorySink::random(key()));
    let slow: Vec<(String, Behavior)> = (0..3)
        .map(|i| (format!("s{i}"), Behavior::Sleep(Duration::from_secs(600))))
        .collect();
    let refs: Vec<(&str, Behavior)> = slow.iter().map(|(k, b)| (k.as_str(), b.clone())).collect();
    let exec = TestExecutor::with(&refs);
    let engine = agent_orchestrator::Engine::new(
        exec,
        open_journal(db.as_ref(), sink),
        key(),
        Default::default(),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _ = rt.block_on(engine.run(crash_workflow(), json!({}), &CancelToken::new()));
}

#[test]
fn resume_after_kill_9() {
    let env = Env::new();
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args(["--exact", "kill9_child", "--nocapture", "--test-threads=1"])
        .env("ORCH_KILL9_DB", env.db())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait (reading SQLite directly) until a, f0..f9 are durable and the s* steps started.
    let t = Instant::now();
    loop {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "child made no progress"
        );
        std::thread::sleep(Duration::from_millis(20));
        if durable_count(&env, "step_succeeded") >= 11 && durable_count(&env, "step_started") >= 14
        {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let journal = env.journal();
    let runs = journal.unfinished_runs().unwrap();
    assert_eq!(runs.len(), 1);
    let run_id = runs[0];
    drop(journal);
    let done_before = succeeded_steps(&env, run_id);
    assert_eq!(done_before.len(), 11, "{done_before:?}");
    let exec = TestExecutor::with(&[]);
    let engine = env.engine(exec.clone(), 8);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let out = rt
        .block_on(engine.resume(run_id, &CancelToken::new()))
        .unwrap();
    assert_eq!(out.status, RunStatus::Succeeded, "{:?}", out.error);
    for s in &done_before {
        assert_eq!(exec.calls(s), 0, "{s} re-executed");
    }
    assert_eq!(exec.completed().len(), 4);
    let stored = engine.journal().load_run(run_id).unwrap();
    let evidence = Evidence {
        workflow: Some(crash_workflow().def().clone()),
        inputs: Some(stored.inputs.clone()),
        output: stored.output.clone(),
        step_results: Some(stored.step_results()),
        ..Evidence::key_only(ves::Ed25519PublicKey::from_signing_key(&key()))
    };
    verify(&out.receipt, VerifyLevel::Basic, &evidence).unwrap();
}
