//! Durable, verifiable workflows: the orchestrator engine wired to the embedded sequencer
//! ([`sink`]) and the sidecar's step kinds ([`executor`]).
//!
//! The journal is `<data_dir>/workflows.sqlite`; stored definitions live in
//! `<data_dir>/workflows/<id>.json`. Unfinished runs are resumed when the state is opened.

pub mod evidence;
pub mod executor;
pub mod sink;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use agent_orchestrator::{
    CancelToken, Engine, EngineConfig, EngineError, Journal, JournalOptions, RunOutcome,
    ValidatedWorkflow,
};
use serde_json::Value;
use tokio::sync::broadcast;
use tokio::task::{AbortHandle, JoinHandle};
use uuid::Uuid;

use crate::config::Config;
use crate::ves::Ves;
pub use sink::{LiveEvent, VesSink};

/// File name of the journal inside the data directory.
pub const JOURNAL_FILE: &str = "workflows.sqlite";
/// Directory of stored definitions inside the data directory.
pub const DEFS_DIR: &str = "workflows";

/// Why the workflow service could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowStartError {
    #[error("workflow sink: {0}")]
    Sink(String),
    #[error("workflow executor: {0}")]
    Executor(String),
    #[error("workflow journal: {0}")]
    Journal(String),
}

struct Running {
    cancel: CancelToken,
    abort: AbortHandle,
}

/// The engine and its runs (cheap to clone).
#[derive(Clone)]
pub struct Workflows {
    engine: Arc<Engine>,
    running: Arc<Mutex<HashMap<Uuid, Running>>>,
    live: broadcast::Sender<LiveEvent>,
    defs_dir: PathBuf,
}

impl std::fmt::Debug for Workflows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workflows")
            .field("defs_dir", &self.defs_dir)
            .finish()
    }
}

impl Workflows {
    /// Opens the journal, builds the engine and resumes every unfinished run in the
    /// background. Must run inside the Tokio runtime.
    pub fn open(config: Arc<Config>, ves: &Ves) -> Result<Self, WorkflowStartError> {
        let (live, _) = broadcast::channel(1024);
        let key = ves.identity.signing_key().clone();
        let sink = VesSink::new(
            ves.sequencer.clone(),
            key.clone(),
            ves.stream,
            ves.agent_id(),
            live.clone(),
        )
        .map_err(|e| WorkflowStartError::Sink(e.to_string()))?;
        let journal = Journal::open(
            config.data_dir.join(JOURNAL_FILE),
            Arc::new(sink),
            JournalOptions::default(),
        )
        .map_err(|e| WorkflowStartError::Journal(e.to_string()))?;
        let slot = Arc::new(OnceLock::new());
        let exec = executor::SidecarExecutor::new(config.clone(), slot.clone())
            .map_err(|e| WorkflowStartError::Executor(e.message))?;
        let engine = Arc::new(Engine::new(
            Arc::new(exec),
            journal,
            key,
            EngineConfig::default(),
        ));
        let _ = slot.set(Arc::downgrade(&engine));
        let me = Self {
            engine,
            running: Arc::default(),
            live,
            defs_dir: config.data_dir.join(DEFS_DIR),
        };
        let unfinished = me
            .journal()
            .unfinished_runs()
            .map_err(|e| WorkflowStartError::Journal(e.to_string()))?;
        for run_id in unfinished {
            tracing::info!(%run_id, "resuming workflow run");
            me.spawn(run_id);
        }
        Ok(me)
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn journal(&self) -> &Journal {
        self.engine.journal()
    }

    /// Live journal events of all runs.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.live.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a new run (durably) and starts executing it in the background.
    pub async fn start(
        &self,
        workflow: &ValidatedWorkflow,
        inputs: Value,
    ) -> Result<(Uuid, JoinHandle<Result<RunOutcome, EngineError>>), EngineError> {
        let (run_id, _) = self.engine.start(workflow, inputs).await?;
        Ok((run_id, self.spawn(run_id)))
    }

    /// Executes a recorded, unfinished run in the background (resume skips completed steps).
    fn spawn(&self, run_id: Uuid) -> JoinHandle<Result<RunOutcome, EngineError>> {
        let cancel = CancelToken::new();
        let (engine, running) = (self.engine.clone(), self.running.clone());
        let token = cancel.clone();
        let mut map = self.lock();
        let handle = tokio::spawn(async move {
            let out = engine.resume(run_id, &token).await;
            if let Err(e) = &out {
                tracing::warn!(%run_id, error = %e, "workflow run failed to execute");
            }
            running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&run_id);
            out
        });
        map.insert(
            run_id,
            Running {
                cancel,
                abort: handle.abort_handle(),
            },
        );
        handle
    }

    /// Requests cancellation; `false` when the run is not executing here.
    pub fn cancel(&self, run_id: Uuid) -> bool {
        match self.lock().get(&run_id) {
            Some(r) => {
                r.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Whether the run is executing in this process.
    pub fn is_running(&self, run_id: Uuid) -> bool {
        self.lock().contains_key(&run_id)
    }

    /// Stops every run task without recording an end (as a crash would); the runs stay
    /// unfinished in the journal and resume on the next start.
    pub fn abort_all(&self) {
        for (_, r) in self.lock().drain() {
            r.abort.abort();
        }
    }

    fn def_path(&self, id: Uuid) -> PathBuf {
        self.defs_dir.join(format!("{id}.json"))
    }

    /// Stores a validated definition; returns its id.
    pub async fn store_definition(&self, wf: &ValidatedWorkflow) -> std::io::Result<Uuid> {
        let id = Uuid::new_v4();
        let text = serde_json::to_vec_pretty(wf.def()).map_err(std::io::Error::other)?;
        tokio::fs::create_dir_all(&self.defs_dir).await?;
        let tmp = self.defs_dir.join(format!(".{id}.tmp"));
        tokio::fs::write(&tmp, text).await?;
        tokio::fs::rename(&tmp, self.def_path(id)).await?;
        Ok(id)
    }

    /// A stored definition (`None` when unknown).
    pub async fn definition(&self, id: Uuid) -> std::io::Result<Option<ValidatedWorkflow>> {
        match tokio::fs::read_to_string(self.def_path(id)).await {
            Ok(text) => ValidatedWorkflow::parse(&text)
                .map(Some)
                .map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Ids of the stored definitions.
    pub async fn definition_ids(&self) -> std::io::Result<Vec<Uuid>> {
        let mut out = Vec::new();
        let mut dir = match tokio::fs::read_dir(&self.defs_dir).await {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        while let Some(entry) = dir.next_entry().await? {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(id) = name
                .strip_suffix(".json")
                .and_then(|s| Uuid::parse_str(s).ok())
            {
                out.push(id);
            }
        }
        out.sort();
        Ok(out)
    }
}
