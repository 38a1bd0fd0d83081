//! The sidecar's [`StepExecutor`]: `command` steps through the exec core in the workspace (as
//! the workspace user), `llm` steps as a single-turn PROMPT through the agent runtime, `http`
//! steps through the orchestrator's [`HttpExecutor`] (which refuses internal destinations
//! unless `SIDECAR_SNAPSHOT_ALLOW_PRIVATE` is set, resolves DNS once and re-checks every
//! redirect), and `sub_workflow` steps as a nested run of the same engine.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use agent_orchestrator::{
    CancelToken, Engine, HttpConfig, HttpExecutor, RunStatus, StepContext, StepError, StepExecutor,
    StepKind, StepOutput, ValidatedWorkflow,
};
use async_trait::async_trait;
use serde_json::{json, Value};

use crate::account;
use crate::agent::{self, AgentContext, AgentError, Mode, RunParams};
use crate::config::Config;
use crate::exec::{self, ExecRequest, MAX_TIMEOUT};

/// Message of the error an `llm` step fails with when no provider is configured.
pub const LLM_NOT_CONFIGURED: &str =
    "503 llm_not_configured: no LLM provider is configured (set SIDECAR_LLM_BASE_URL)";

/// Carries out command, LLM and sub-workflow steps (HTTP goes through [`HttpExecutor`]).
pub struct LocalExecutor {
    config: Arc<Config>,
    /// Set once the engine exists (weak: the engine owns this executor).
    engine: Arc<OnceLock<Weak<Engine>>>,
}

/// The full executor: guarded HTTP, or the local kinds.
pub struct SidecarExecutor {
    http: HttpExecutor<LocalExecutor>,
}

impl SidecarExecutor {
    pub fn new(
        config: Arc<Config>,
        engine: Arc<OnceLock<Weak<Engine>>>,
    ) -> Result<Self, StepError> {
        let http = HttpConfig {
            allow_private: config.snapshot_allow_private,
            ..HttpConfig::default()
        };
        Ok(Self {
            http: HttpExecutor::with_config(LocalExecutor { config, engine }, http)?,
        })
    }
}

#[async_trait]
impl StepExecutor for SidecarExecutor {
    async fn execute(&self, ctx: StepContext) -> Result<StepOutput, StepError> {
        self.http.execute(ctx).await
    }
}

/// Single-quotes `s` for `sh`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Fills `{{name}}` placeholders from the step's input object.
fn render(template: &str, input: &Value) -> String {
    let mut out = template.to_string();
    if let Value::Object(map) = input {
        for (k, v) in map {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out = out.replace(&format!("{{{{{k}}}}}"), &text);
        }
    }
    out
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl LocalExecutor {
    async fn command(&self, ctx: &StepContext) -> Result<StepOutput, StepError> {
        let StepKind::Command {
            program,
            args,
            env,
            cwd,
        } = ctx.kind()
        else {
            return Err(StepError::fatal("not a command step"));
        };
        let mut command = shell_quote(program);
        for a in args {
            command.push(' ');
            command.push_str(&shell_quote(a));
        }
        let timeout = ctx
            .step()
            .timeout()
            .min(MAX_TIMEOUT)
            .max(Duration::from_millis(1));
        let req = ExecRequest {
            command,
            cwd: cwd.clone(),
            env: env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            timeout_ms: Some(millis(timeout)),
        };
        let cfg = &self.config;
        let run_as = account::workspace_account(cfg.workspace_user.as_deref())
            .map_err(|e| StepError::fatal(e.to_string()))?;
        let spec = exec::prepare(req, &cfg.workspace, cfg.exec_max_output, run_as)
            .map_err(|e| StepError::fatal(e.to_string()))?;
        // Cancellation terminates the process group.
        let res = exec::run_until(spec, None, ctx.cancel.cancelled())
            .await
            .map_err(|e| StepError::retryable(e.to_string()))?;
        if ctx.cancel.is_cancelled() {
            return Err(StepError::fatal("cancelled"));
        }
        if res.timed_out {
            return Err(StepError::retryable(format!(
                "command timed out after {} ms",
                millis(timeout)
            )));
        }
        if res.exit_code != 0 {
            return Err(StepError::retryable(format!(
                "command exited with {}: {}",
                res.exit_code,
                res.stderr.chars().take(500).collect::<String>()
            )));
        }
        Ok(StepOutput::new(json!({
            "exit_code": res.exit_code,
            "stdout": res.stdout,
            "stderr": res.stderr,
            "truncated": res.truncated,
        })))
    }

    async fn llm(&self, ctx: &StepContext) -> Result<StepOutput, StepError> {
        let StepKind::Llm {
            prompt,
            model,
            max_tokens,
        } = ctx.kind()
        else {
            return Err(StepError::fatal("not an llm step"));
        };
        let actx = AgentContext::from_config(&self.config).map_err(|e| match e {
            AgentError::NotConfigured => StepError::fatal(LLM_NOT_CONFIGURED),
            other => StepError::fatal(other.to_string()),
        })?;
        let params = RunParams {
            prompt: render(prompt, &ctx.input),
            model: model.clone(),
            max_tokens: *max_tokens,
            timeout_ms: Some(millis(ctx.step().timeout().min(agent::run::MAX_TIMEOUT))),
            max_turns: 1,
            ..Default::default()
        };
        let out = tokio::select! {
            r = agent::run(actx, Mode::Prompt, params, None) => r.map_err(|e| match e {
                AgentError::Llm(_) | AgentError::Timeout(_) => StepError::retryable(e.to_string()),
                other => StepError::fatal(other.to_string()),
            })?,
            _ = ctx.cancel.cancelled() => return Err(StepError::fatal("cancelled")),
        };
        if !out.success {
            return Err(StepError::fatal(out.reason.unwrap_or_default()));
        }
        Ok(StepOutput::new(json!({
            "text": out.text,
            "transcript_digest": out.transcript_digest,
        })))
    }

    async fn sub_workflow(&self, ctx: &StepContext) -> Result<StepOutput, StepError> {
        let StepKind::SubWorkflow { workflow } = ctx.kind() else {
            return Err(StepError::fatal("not a sub_workflow step"));
        };
        let engine = self
            .engine
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| StepError::fatal("the workflow engine is shutting down"))?;
        let wf = ValidatedWorkflow::new((**workflow).clone())
            .map_err(|e| StepError::fatal(e.to_string()))?;
        let cancel: CancelToken = ctx.cancel.child();
        let out = engine
            .run(Arc::new(wf), ctx.input.clone(), &cancel)
            .await
            .map_err(|e| StepError::retryable(e.to_string()))?;
        if out.status != RunStatus::Succeeded {
            return Err(StepError::fatal(format!(
                "sub-workflow run {} {}: {}",
                out.run_id,
                out.status.as_str(),
                out.error.unwrap_or_default()
            )));
        }
        Ok(StepOutput::new(
            json!({ "run_id": out.run_id, "output": out.output }),
        ))
    }
}

#[async_trait]
impl StepExecutor for LocalExecutor {
    async fn execute(&self, ctx: StepContext) -> Result<StepOutput, StepError> {
        match ctx.kind() {
            StepKind::Command { .. } => self.command(&ctx).await,
            StepKind::Llm { .. } => self.llm(&ctx).await,
            StepKind::SubWorkflow { .. } => self.sub_workflow(&ctx).await,
            StepKind::Noop => Ok(StepOutput::new(ctx.input)),
            StepKind::Http { .. } => Err(StepError::fatal("http steps are handled elsewhere")),
        }
    }
}

/// Whether any step (nested included) is an `llm` step.
pub fn uses_llm(def: &agent_orchestrator::WorkflowDef) -> bool {
    def.steps.iter().any(|s| match &s.kind {
        StepKind::Llm { .. } => true,
        StepKind::SubWorkflow { workflow } => uses_llm(workflow),
        _ => false,
    })
}
