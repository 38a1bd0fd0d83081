//! EXEC: run a command in the sandbox (any one operator's answer suffices on chain).

use agent_types::AgentJobs::{ExecRequest, ExecResult};

use super::{cap_text, JobError, OperatorContext, MAX_RESULT_OUTPUT};
use crate::metrics::Outcome;
use crate::sidecar_client::ExecCall;

pub async fn exec(
    ctx: &OperatorContext,
    service_id: u64,
    req: ExecRequest,
) -> Result<(ExecResult, Outcome), JobError> {
    if req.command.trim().is_empty() {
        return Err(JobError::BadInput("command is empty".into()));
    }
    let timeout = ctx.manager.settings().job_timeout(req.timeoutMs);
    let call = ExecCall {
        command: req.command,
        cwd: (!req.cwd.is_empty()).then_some(req.cwd),
        env: req.env,
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
    };
    let http_timeout = ctx.call_timeout(timeout);
    let ran = ctx
        .manager
        .with_sidecar(service_id, |client| {
            let call = call.clone();
            async move { client.exec(&call, http_timeout).await }
        })
        .await
        .map_err(JobError::from);
    let (exit_code, stdout, stderr, outcome) = match ran {
        Ok(o) => (o.exit_code, o.stdout, o.stderr, Outcome::Ok),
        Err(e) => match e.rejection() {
            Some(r) => (
                -1,
                String::new(),
                format!("rejected by the sandbox: {r}"),
                Outcome::Rejected,
            ),
            None => return Err(e),
        },
    };
    let (root, sequence) = ctx.commit(service_id).await?;
    Ok((
        ExecResult {
            exitCode: exit_code,
            stdout: cap_text(stdout, MAX_RESULT_OUTPUT),
            stderr: cap_text(stderr, MAX_RESULT_OUTPUT),
            vesSequence: sequence,
            vesStateRoot: root.into(),
        },
        outcome,
    ))
}
