//! PROMPT and TASK: the agent in the sandbox (every operator answers; results are compared
//! across operators, so they carry deterministic fields only — DESIGN decision 4).

use agent_types::AgentJobs::{PromptRequest, PromptResult, TaskRequest, TaskResult};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{JobError, OperatorContext};
use crate::metrics::Outcome;
use crate::sidecar_client::{parse_hash32, AgentCall, AgentOutput, SidecarError, WorkflowOutput};

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// The deterministic text of a refused request.
fn refusal(e: &SidecarError) -> String {
    match e {
        SidecarError::Api { code, message, .. } => format!("error: {code}: {message}"),
        other => format!("error: {other}"),
    }
}

/// Runs a PROMPT (`task = false`) or prompt TASK in the sandbox. `Ok(Err(text))` is the
/// deterministic refusal text of input the sandbox rejected.
async fn run_agent(
    ctx: &OperatorContext,
    service_id: u64,
    call: AgentCall,
    task: bool,
) -> Result<Result<AgentOutput, String>, JobError> {
    let http_timeout = ctx.call_timeout(std::time::Duration::from_millis(call.timeout_ms));
    let res = ctx
        .manager
        .with_sidecar(service_id, |client| {
            let call = call.clone();
            async move {
                if task {
                    client.task(&call, http_timeout).await
                } else {
                    client.prompt(&call, http_timeout).await
                }
            }
        })
        .await
        .map_err(JobError::from);
    match res {
        Ok(o) => Ok(Ok(o)),
        Err(e) => match e.rejection() {
            Some(r) => Ok(Err(refusal(r))),
            None => Err(e),
        },
    }
}

fn digest_of(o: &AgentOutput) -> [u8; 32] {
    parse_hash32(&o.transcript_digest).unwrap_or_default()
}

pub async fn prompt(
    ctx: &OperatorContext,
    service_id: u64,
    req: PromptRequest,
) -> Result<(PromptResult, Outcome), JobError> {
    let timeout = ctx.manager.settings().job_timeout(req.timeoutMs);
    let call = AgentCall {
        prompt: req.prompt,
        system_prompt: non_empty(req.systemPrompt),
        model: non_empty(req.model),
        max_tokens: (req.maxTokens > 0).then_some(req.maxTokens),
        max_turns: None,
        seed: Some(req.seed),
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
    };
    match run_agent(ctx, service_id, call, false).await? {
        Ok(o) => Ok((
            PromptResult {
                success: o.success,
                transcriptDigest: digest_of(&o).into(),
                response: o.response.unwrap_or_default(),
            },
            Outcome::Ok,
        )),
        Err(text) => Ok((
            PromptResult {
                success: false,
                response: text,
                transcriptDigest: Default::default(),
            },
            Outcome::Rejected,
        )),
    }
}

pub async fn task(
    ctx: &OperatorContext,
    service_id: u64,
    req: TaskRequest,
) -> Result<(TaskResult, Outcome), JobError> {
    if !req.workflowJson.is_empty() {
        return workflow_task(ctx, service_id, req).await;
    }
    let timeout = ctx.manager.settings().job_timeout(req.timeoutMs);
    let call = AgentCall {
        prompt: req.prompt,
        system_prompt: non_empty(req.systemPrompt),
        model: non_empty(req.model),
        max_tokens: None,
        max_turns: Some(req.maxTurns.max(1)),
        seed: Some(req.seed),
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
    };
    match run_agent(ctx, service_id, call, true).await? {
        Ok(o) => {
            let digest = digest_of(&o);
            let text = o.response.unwrap_or_default();
            Ok((
                TaskResult {
                    success: o.success,
                    outputHash: sha256(text.as_bytes()).into(),
                    finalText: text,
                    transcriptDigest: digest.into(),
                },
                Outcome::Ok,
            ))
        }
        Err(text) => Ok((refused_task(text), Outcome::Rejected)),
    }
}

fn refused_task(text: String) -> TaskResult {
    TaskResult {
        success: false,
        outputHash: sha256(text.as_bytes()).into(),
        finalText: text,
        transcriptDigest: Default::default(),
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A TASK carrying a workflow: run it in the sandbox's orchestrator. The result pins the run's
/// receipt: `transcriptDigest` = the receipt's Merkle root of step results, `outputHash` = the
/// receipt's final output hash; `finalText` = the output as JSON.
async fn workflow_task(
    ctx: &OperatorContext,
    service_id: u64,
    req: TaskRequest,
) -> Result<(TaskResult, Outcome), JobError> {
    let workflow: Value = match serde_json::from_str(&req.workflowJson) {
        Ok(v) => v,
        Err(e) => {
            let text = format!("error: workflowJson is not valid JSON: {e}");
            return Ok((refused_task(text), Outcome::Rejected));
        }
    };
    let timeout = ctx.manager.settings().job_timeout(req.timeoutMs);
    let res = ctx
        .manager
        .with_sidecar(service_id, |client| {
            let workflow = workflow.clone();
            async move { client.run_workflow(&workflow, timeout).await }
        })
        .await
        .map_err(JobError::from);
    let run: WorkflowOutput = match res {
        Ok(run) => run,
        Err(e) => match e.rejection() {
            Some(r) => return Ok((refused_task(refusal(r)), Outcome::Rejected)),
            None => return Err(e),
        },
    };
    let field = |name: &str| {
        run.receipt
            .as_ref()
            .and_then(|r| r.get(name))
            .and_then(Value::as_str)
            .and_then(parse_hash32)
            .unwrap_or_default()
    };
    let (steps_root, output_hash) = (field("steps_root"), field("output_hash"));
    tracing::info!(service_id, run_id = %run.run_id, status = %run.status, "workflow task finished");
    Ok((
        TaskResult {
            success: run.status == "succeeded",
            finalText: run.output.to_string(),
            transcriptDigest: steps_root.into(),
            outputHash: output_hash.into(),
        },
        Outcome::Ok,
    ))
}
