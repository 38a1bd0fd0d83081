mod common;

use std::time::{Duration, Instant};

use agent_orchestrator::{CancelToken, RunStatus};
use common::{position, step, workflow, Behavior, Env, TestExecutor};
use serde_json::json;

#[tokio::test]
async fn linear_chain_passes_outputs_along() {
    let env = Env::new();
    let exec = TestExecutor::with(&[]);
    let engine = env.engine(exec.clone(), 8);
    let wf = workflow(
        vec![
            step(
                "a",
                &[],
                json!({ "inputs": { "topic": { "from": "input", "name": "topic" } } }),
            ),
            step(
                "b",
                &[],
                json!({ "inputs": { "prev": { "from": "step", "step": "a", "pointer": "/input/topic" } } }),
            ),
            step(
                "c",
                &["b"],
                json!({ "inputs": { "lit": { "from": "literal", "value": 7 } } }),
            ),
        ],
        json!({ "inputs": { "topic": {} } }),
    );
    let out = engine
        .run(wf, json!({ "topic": "rust" }), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Succeeded, "{:?}", out.error);
    assert_eq!(exec.completed(), vec!["a", "b", "c"]);
    assert_eq!(
        out.output,
        json!({ "c": { "step": "c", "input": { "lit": 7 } } })
    );
    let b_input = exec.calls("b");
    assert_eq!(b_input, 1);
    let run = engine.journal().load_run(out.run_id).unwrap();
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(run.receipt.as_ref(), Some(&out.receipt));
    assert_eq!(out.receipt.steps_completed, 3);
    // b received a's output through the pointer.
    let b_out = run.entries.iter().find_map(|e| match &e.entry {
        agent_orchestrator::JournalEntry::StepSucceeded { step, output, .. } if step == "b" => {
            Some(output.clone())
        }
        _ => None,
    });
    assert_eq!(b_out.unwrap()["input"]["prev"], json!("rust"));
}

#[tokio::test]
async fn independent_steps_run_in_parallel_up_to_the_bound() {
    let env = Env::new();
    let behaviors: Vec<(String, Behavior)> = (0..8)
        .map(|i| (format!("p{i}"), Behavior::Sleep(Duration::from_millis(150))))
        .collect();
    let refs: Vec<(&str, Behavior)> = behaviors
        .iter()
        .map(|(k, b)| (k.as_str(), b.clone()))
        .collect();
    let exec = TestExecutor::with(&refs);
    let engine = env.engine(exec.clone(), 4);
    let steps = (0..8)
        .map(|i| step(&format!("p{i}"), &[], json!({})))
        .collect();
    let t = Instant::now();
    let out = engine
        .run(workflow(steps, json!({})), json!({}), &CancelToken::new())
        .await
        .unwrap();
    let elapsed = t.elapsed();
    assert_eq!(out.status, RunStatus::Succeeded);
    assert_eq!(
        exec.max_running.load(std::sync::atomic::Ordering::SeqCst),
        4
    );
    assert!(
        elapsed < Duration::from_millis(8 * 150 - 100),
        "{elapsed:?}"
    );
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
}

#[tokio::test]
async fn diamond_respects_dependencies() {
    let env = Env::new();
    let exec = TestExecutor::with(&[("b", Behavior::Sleep(Duration::from_millis(50)))]);
    let engine = env.engine(exec.clone(), 8);
    let wf = workflow(
        vec![
            step("a", &[], json!({})),
            step("b", &["a"], json!({})),
            step("c", &["a"], json!({})),
            step(
                "d",
                &[],
                json!({ "inputs": {
                "b": { "from": "step", "step": "b", "pointer": "/step" },
                "c": { "from": "step", "step": "c", "pointer": "/step" } } }),
            ),
        ],
        json!({ "output": { "final": { "from": "step", "step": "d", "pointer": "/input" } } }),
    );
    let out = engine
        .run(wf, json!({}), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Succeeded);
    let order = exec.completed();
    assert_eq!(order.len(), 4);
    assert_eq!(order[0], "a");
    assert_eq!(order[3], "d");
    assert_eq!(out.output, json!({ "final": { "b": "b", "c": "c" } }));
}

#[tokio::test]
async fn wide_fan_out_and_fan_in() {
    let env = Env::new();
    let exec = TestExecutor::with(&[]);
    let engine = env.engine(exec.clone(), 16);
    let mut steps = vec![step("root", &[], json!({}))];
    let leaves: Vec<String> = (0..500).map(|i| format!("w{i}")).collect();
    for l in &leaves {
        steps.push(step(l, &["root"], json!({})));
    }
    let refs: Vec<&str> = leaves.iter().map(String::as_str).collect();
    steps.push(step("join", &refs, json!({})));
    let out = engine
        .run(workflow(steps, json!({})), json!({}), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Succeeded);
    let order = exec.completed();
    assert_eq!(order.len(), 502);
    assert_eq!(position(&order, "root"), 0);
    assert_eq!(position(&order, "join"), 501);
    assert!(exec.max_running.load(std::sync::atomic::Ordering::SeqCst) <= 16);
    assert_eq!(out.receipt.steps_completed, 502);
}

#[tokio::test]
async fn retry_then_success() {
    let env = Env::new();
    let exec = TestExecutor::with(&[("flaky", Behavior::FailTimes(2))]);
    let engine = env.engine(exec.clone(), 4);
    let wf = workflow(
        vec![step(
            "flaky",
            &[],
            json!({ "retry": { "max_attempts": 3, "initial_backoff_ms": 20, "jitter": 0.5 } }),
        )],
        json!({}),
    );
    let t = Instant::now();
    let out = engine
        .run(wf, json!({}), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Succeeded);
    assert_eq!(exec.calls("flaky"), 3);
    // Backoffs 20 ms and 40 ms, each at least halved by jitter.
    assert!(
        t.elapsed() >= Duration::from_millis(30),
        "{:?}",
        t.elapsed()
    );
    let keys = exec.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 3);
    assert!(keys[2].ends_with(":flaky:3"), "{keys:?}");
}

#[tokio::test]
async fn retry_exhaustion_fails_the_run() {
    let env = Env::new();
    let exec = TestExecutor::with(&[("bad", Behavior::AlwaysFail), ("fatal", Behavior::Fatal)]);
    let engine = env.engine(exec.clone(), 4);
    let wf = workflow(
        vec![
            step(
                "bad",
                &[],
                json!({ "retry": { "max_attempts": 3, "initial_backoff_ms": 1 } }),
            ),
            step("after", &["bad"], json!({})),
        ],
        json!({}),
    );
    let out = engine
        .run(wf, json!({}), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Failed);
    assert_eq!(exec.calls("bad"), 3);
    assert_eq!(exec.calls("after"), 0);
    assert!(out.error.unwrap().contains("attempt 3"));
    // Non-retryable errors are not retried.
    let wf = workflow(
        vec![step(
            "fatal",
            &[],
            json!({ "retry": { "max_attempts": 5 } }),
        )],
        json!({}),
    );
    let out = engine
        .run(wf, json!({}), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Failed);
    assert_eq!(exec.calls("fatal"), 1);
}

#[tokio::test]
async fn timeouts_are_enforced_and_retried() {
    let env = Env::new();
    let exec = TestExecutor::with(&[("slow", Behavior::Sleep(Duration::from_secs(30)))]);
    let engine = env.engine(exec.clone(), 4);
    let wf = workflow(
        vec![step(
            "slow",
            &[],
            json!({ "timeout_ms": 50, "retry": { "max_attempts": 2, "initial_backoff_ms": 1 } }),
        )],
        json!({}),
    );
    let t = Instant::now();
    let out = engine
        .run(wf, json!({}), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Failed);
    assert!(out.error.unwrap().contains("timed out after 50 ms"));
    assert_eq!(exec.calls("slow"), 2);
    assert!(t.elapsed() < Duration::from_secs(5));
    // Workflow-level run time limit.
    let wf = workflow(
        vec![step("slow", &[], json!({}))],
        json!({ "limits": { "max_run_time_ms": 100 } }),
    );
    let out = engine
        .run(wf, json!({}), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Failed);
    assert!(out.error.unwrap().contains("run time limit"));
}

#[tokio::test]
async fn cancellation_mid_run_stops_work() {
    let env = Env::new();
    let exec = TestExecutor::with(&[("slow", Behavior::Sleep(Duration::from_secs(30)))]);
    let engine = env.engine(exec.clone(), 4);
    let wf = workflow(
        vec![
            step("first", &[], json!({})),
            step("slow", &["first"], json!({})),
            step("never", &["slow"], json!({})),
        ],
        json!({}),
    );
    let cancel = CancelToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        c2.cancel();
    });
    let t = Instant::now();
    let out = engine.run(wf, json!({}), &cancel).await.unwrap();
    assert_eq!(out.status, RunStatus::Cancelled);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(exec.completed(), vec!["first"]);
    assert_eq!(exec.calls("never"), 0);
    assert_eq!(out.receipt.steps_completed, 1);
    assert!(engine.journal().unfinished_runs().unwrap().is_empty());
}

#[tokio::test]
async fn cost_budget_is_enforced() {
    let env = Env::new();
    let exec = TestExecutor::with(&[("a", Behavior::Cost(0.6)), ("b", Behavior::Cost(0.6))]);
    let engine = env.engine(exec.clone(), 1);
    let wf = workflow(
        vec![
            step("a", &[], json!({})),
            step("b", &["a"], json!({})),
            step("c", &["b"], json!({})),
        ],
        json!({ "limits": { "max_cost": 1.0 } }),
    );
    let out = engine
        .run(wf, json!({}), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(out.status, RunStatus::Failed);
    assert!(out.error.unwrap().contains("cost budget"));
    assert_eq!(exec.calls("c"), 0);
}
