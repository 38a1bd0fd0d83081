//! Engine overhead and receipt verification benchmark.
//!
//! `cargo run --release -p agent-orchestrator --example dag_bench [steps] [width]`
//!
//! Runs a layered DAG of no-op steps (`width` steps per layer, each depending on two steps of
//! the previous layer) with the echo executor, the SQLite journal (WAL, group commit,
//! `synchronous=FULL`) and the in-memory signing sink (one Ed25519-signed VES event per
//! journal entry), then times receipt verification at `basic` and, for a 1,000-step run,
//! at `full`.

use std::sync::Arc;
use std::time::Instant;

use agent_orchestrator::{
    verify, CancelToken, EchoExecutor, Engine, EngineConfig, Evidence, FullEvidence, Journal,
    JournalOptions, MemorySink, RunStatus, ValidatedWorkflow, VerifyLevel,
};
use serde_json::{json, Value};
use ves::{Ed25519PublicKey, SigningKey};

/// CPU time (user + system, all threads) of this process, from `/proc/self/stat`.
fn cpu_time() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of the whole line are 12 and 13 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

fn layered(steps: usize, width: usize) -> ValidatedWorkflow {
    let width = width.max(1);
    let mut out: Vec<Value> = Vec::with_capacity(steps);
    for n in 0..steps {
        let (layer, i) = (n / width, n % width);
        let deps: Vec<String> = if layer == 0 {
            vec![]
        } else {
            let prev = (layer - 1) * width;
            let mut d = vec![format!("s{}", prev + i)];
            if width > 1 {
                d.push(format!("s{}", prev + (i + 1) % width));
            }
            d
        };
        out.push(json!({ "id": format!("s{n}"), "kind": { "type": "noop" }, "depends_on": deps }));
    }
    let def = json!({ "name": "bench", "steps": out });
    match ValidatedWorkflow::parse(&def.to_string()) {
        Ok(wf) => wf,
        Err(e) => panic!("benchmark workflow invalid: {e}"),
    }
}

struct Run {
    engine: Engine,
    sink: Arc<MemorySink>,
    _dir: tempfile::TempDir,
}

fn setup(key: &SigningKey, concurrency: usize) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = Arc::new(MemorySink::random(key.clone()));
    let journal = Journal::open(
        dir.path().join("j.db"),
        sink.clone(),
        JournalOptions::default(),
    )
    .expect("journal");
    let engine = Engine::new(
        Arc::new(EchoExecutor),
        journal,
        key.clone(),
        EngineConfig {
            max_concurrency: concurrency,
        },
    );
    Run {
        engine,
        sink,
        _dir: dir,
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let steps = args.first().copied().unwrap_or(10_000);
    let width = args.get(1).copied().unwrap_or(100);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let trusted = Ed25519PublicKey::from_signing_key(&key);

    let t = Instant::now();
    let wf = Arc::new(layered(steps, width));
    let validate = t.elapsed();
    let run = setup(&key, 64);
    let t = Instant::now();
    let cpu = cpu_time();
    let out = rt
        .block_on(run.engine.run(wf.clone(), json!({}), &CancelToken::new()))
        .expect("run");
    let total = t.elapsed();
    let cpu = cpu_time() - cpu;
    assert_eq!(out.status, RunStatus::Succeeded);
    println!(
        "{steps} no-op steps (layers of {width}): validate+hash {:.1} ms, run {:.1} ms total, \
         {:.1} µs/step wall, {:.1} µs/step CPU (all threads) \
         (journal: {} signed events, SQLite WAL group commit, fsync)",
        validate.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e6 / steps as f64,
        cpu * 1e6 / steps as f64,
        run.sink.len(),
    );

    let key_only = Evidence::key_only(trusted);
    let iters = 1000;
    let t = Instant::now();
    for _ in 0..iters {
        verify(&out.receipt, VerifyLevel::Basic, &key_only).expect("basic");
    }
    println!(
        "verify basic (signature): {:.3} ms",
        t.elapsed().as_secs_f64() * 1e3 / iters as f64
    );

    // `full` on a 1,000-step run.
    let wf1k = Arc::new(layered(1000, 50));
    let run1k = setup(&key, 64);
    let out1k = rt
        .block_on(
            run1k
                .engine
                .run(wf1k.clone(), json!({}), &CancelToken::new()),
        )
        .expect("run 1k");
    let stored = run1k.engine.journal().load_run(out1k.run_id).expect("load");
    let (commitment, events) = run1k.sink.evidence_for(out1k.run_id).expect("evidence");
    let n_events = events.len();
    // Baseline: strict Ed25519 verification of the same events on one thread.
    let t = Instant::now();
    for e in &events {
        let esh = e.event.event_signing_hash().expect("esh");
        ves::verify_event_signature(&trusted, &esh, &e.event.agent_signature).expect("sig");
    }
    let sig_only = t.elapsed();
    let evidence = Evidence {
        workflow: Some(wf1k.def().clone()),
        inputs: Some(stored.inputs.clone()),
        output: stored.output.clone(),
        step_results: Some(stored.step_results()),
        full: Some(FullEvidence { commitment, events }),
        ..Evidence::key_only(trusted)
    };
    let t = Instant::now();
    verify(&out1k.receipt, VerifyLevel::Basic, &evidence).expect("basic+hashes");
    println!(
        "verify basic with all hashes recomputed (1,000 steps): {:.3} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    // The machine may be shared: report the fastest and the median of several runs.
    let reps = 15;
    let mut times = Vec::with_capacity(reps);
    let cpu = cpu_time();
    for _ in 0..reps {
        let t = Instant::now();
        verify(&out1k.receipt, VerifyLevel::Full, &evidence).expect("full");
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let cpu = cpu_time() - cpu;
    times.sort_by(f64::total_cmp);
    println!(
        "verify full (1,000 steps, {n_events} events: signatures, inclusion, DAG order): \
         {:.1} ms wall fastest, {:.1} ms median of {reps}, {:.1} ms CPU mean",
        times[0],
        times[reps / 2],
        cpu * 1e3 / reps as f64
    );
    println!(
        "  of which strict Ed25519 verification alone, single thread: {:.1} ms",
        sig_only.as_secs_f64() * 1e3
    );
}
