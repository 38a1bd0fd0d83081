//! Shared test helpers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_orchestrator::{
    Engine, EngineConfig, Journal, JournalOptions, JournalSink, MemorySink, StepContext, StepError,
    StepExecutor, StepOutput, ValidatedWorkflow,
};
use async_trait::async_trait;
use serde_json::{json, Value};
use ves::SigningKey;

/// What a step does in [`TestExecutor`].
#[derive(Debug, Clone)]
pub enum Behavior {
    /// Fail (retryably) the first `n` attempts, then succeed.
    FailTimes(u32),
    /// Always fail retryably.
    AlwaysFail,
    /// Fail with a non-retryable error.
    Fatal,
    /// Sleep before succeeding.
    Sleep(Duration),
    /// Succeed and charge a cost.
    Cost(f64),
}

/// Counts executions and concurrency; outputs `{"step": id, "input": input}`.
#[derive(Default)]
pub struct TestExecutor {
    pub behaviors: HashMap<String, Behavior>,
    pub calls: Mutex<HashMap<String, u32>>,
    pub completed: Mutex<Vec<String>>,
    pub keys: Mutex<Vec<String>>,
    pub running: AtomicUsize,
    pub max_running: AtomicUsize,
}

impl TestExecutor {
    pub fn with(behaviors: &[(&str, Behavior)]) -> Arc<Self> {
        Arc::new(Self {
            behaviors: behaviors
                .iter()
                .map(|(k, b)| (k.to_string(), b.clone()))
                .collect(),
            ..Self::default()
        })
    }

    pub fn calls(&self, step: &str) -> u32 {
        self.calls.lock().unwrap().get(step).copied().unwrap_or(0)
    }

    pub fn completed(&self) -> Vec<String> {
        self.completed.lock().unwrap().clone()
    }
}

struct Running<'a>(&'a AtomicUsize);
impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl StepExecutor for TestExecutor {
    async fn execute(&self, ctx: StepContext) -> Result<StepOutput, StepError> {
        let id = ctx.step_id().to_string();
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let c = calls.entry(id.clone()).or_insert(0);
            *c += 1;
            *c
        };
        self.keys.lock().unwrap().push(ctx.idempotency_key());
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        let _guard = Running(&self.running);
        let mut cost = 0.0;
        match self.behaviors.get(&id) {
            Some(Behavior::FailTimes(k)) if n <= *k => {
                return Err(StepError::retryable(format!("flaky failure {n}")))
            }
            Some(Behavior::AlwaysFail) => return Err(StepError::retryable("always fails")),
            Some(Behavior::Fatal) => return Err(StepError::fatal("fatal failure")),
            Some(Behavior::Sleep(d)) => tokio::time::sleep(*d).await,
            Some(Behavior::Cost(c)) => cost = *c,
            _ => tokio::task::yield_now().await,
        }
        self.completed.lock().unwrap().push(id.clone());
        Ok(StepOutput {
            output: json!({ "step": id, "input": ctx.input }),
            cost,
        })
    }
}

pub fn key() -> SigningKey {
    SigningKey::from_bytes(&[42u8; 32])
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub sink: Arc<MemorySink>,
}

impl Env {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            sink: Arc::new(MemorySink::random(key())),
        }
    }

    pub fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("journal.db")
    }

    pub fn journal(&self) -> Journal {
        open_journal(&self.db(), self.sink.clone())
    }

    pub fn engine(&self, exec: Arc<dyn StepExecutor>, max_concurrency: usize) -> Engine {
        Engine::new(
            exec,
            self.journal(),
            key(),
            EngineConfig { max_concurrency },
        )
    }
}

pub fn open_journal(path: &Path, sink: Arc<dyn JournalSink>) -> Journal {
    Journal::open(path, sink, JournalOptions::default()).unwrap()
}

/// A step `{"id", "kind": noop, "depends_on": deps}` with optional extra fields.
pub fn step(id: &str, deps: &[&str], extra: Value) -> Value {
    let mut s = json!({ "id": id, "kind": { "type": "noop" }, "depends_on": deps });
    if let (Some(m), Value::Object(e)) = (s.as_object_mut(), extra) {
        m.extend(e);
    }
    s
}

pub fn workflow(steps: Vec<Value>, extra: Value) -> Arc<ValidatedWorkflow> {
    Arc::new(ValidatedWorkflow::parse(&workflow_json(steps, extra)).unwrap())
}

pub fn workflow_json(steps: Vec<Value>, extra: Value) -> String {
    let mut w = json!({ "name": "test", "steps": steps });
    if let (Some(m), Value::Object(e)) = (w.as_object_mut(), extra) {
        m.extend(e);
    }
    w.to_string()
}

/// Index of the first completion of `id` in the executor's completion order.
pub fn position(order: &[String], id: &str) -> usize {
    order.iter().position(|s| s == id).unwrap_or(usize::MAX)
}
