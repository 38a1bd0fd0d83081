//! The agent runtime: an OpenAI-compatible chat-completions client, a tool loop over the
//! workspace, persistent sessions, and deterministic result digests.
//!
//! * PROMPT is a single model call with **no tools offered** (an answer, not an action): the
//!   result is the assistant's text.
//! * TASK offers the tools in [`tools`] and runs up to `max_turns` model calls, executing the
//!   tool calls of each answer and feeding their results back, until the model answers without
//!   tool calls (success) or the turns run out (`success = false`).
//!
//! Every call uses temperature 0 and passes the request's seed through. The comparable part of a
//! result is `success`, the final text and the transcript digest ([`transcript`]); run metadata
//! (duration, token usage, provider ids and model, turn count) is returned separately.

pub mod llm;
pub mod response;
pub mod run;
pub mod session;
pub mod stream;
pub mod tools;
pub mod transcript;

use std::sync::OnceLock;

use crate::account::{self, AccountError};
use crate::config::Config;

pub use llm::{LlmClient, LlmError, Message, Role};
pub use run::{run, Metadata, Mode, RunEvent, RunOutcome, RunParams};
pub use session::{SessionError, SessionStore};
pub use tools::ToolEnv;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("no LLM provider is configured (set SIDECAR_LLM_BASE_URL)")]
    NotConfigured,
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("the run exceeded its timeout of {0} ms")]
    Timeout(u64),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("{0}")]
    Internal(String),
}

/// Everything a run needs, built from the sidecar configuration.
#[derive(Clone, Debug)]
pub struct AgentContext {
    pub client: LlmClient,
    pub default_model: Option<String>,
    pub sessions: SessionStore,
    pub tools: ToolEnv,
}

static HTTP: OnceLock<reqwest::Client> = OnceLock::new();

fn http_client() -> Result<reqwest::Client, AgentError> {
    if let Some(c) = HTTP.get() {
        return Ok(c.clone());
    }
    let c = reqwest::Client::builder()
        .build()
        .map_err(|e| AgentError::Internal(format!("cannot build HTTP client: {e}")))?;
    Ok(HTTP.get_or_init(|| c).clone())
}

impl AgentContext {
    /// Fails with [`AgentError::NotConfigured`] when no provider URL is set.
    pub fn from_config(cfg: &Config) -> Result<Self, AgentError> {
        let base_url = cfg
            .llm
            .base_url
            .as_deref()
            .ok_or(AgentError::NotConfigured)?;
        let run_as = account::workspace_account(cfg.workspace_user.as_deref())?;
        Ok(Self {
            client: LlmClient::new(http_client()?, base_url, cfg.llm.api_key.clone()),
            default_model: cfg.llm.model.clone(),
            sessions: SessionStore::new(&cfg.data_dir),
            tools: ToolEnv {
                workspace: cfg.workspace.clone(),
                run_as,
                max_output: cfg.exec_max_output,
                max_read: cfg.files_max_read,
            },
        })
    }
}
