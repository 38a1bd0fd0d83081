//! The blueprint-sdk job handlers: thin wrappers that extract the call's metadata and the
//! ABI-decoded request, run the job function and return the ABI result (`TangleResult`).

use agent_types::AgentJobs::{
    DeprovisionRequest, DeprovisionResult, ExecRequest, ExecResult, PromptRequest, PromptResult,
    ProvisionRequest, ProvisionResult, SnapshotRequest, SnapshotResult, SshProvisionRequest,
    SshProvisionResult, SshRevokeRequest, SshRevokeResult, TaskRequest, TaskResult,
};
use agent_types::Job;
use blueprint_sdk::extract::Context;
use blueprint_sdk::tangle::extract::{CallId, ServiceId, TangleArg, TangleResult};

use super::{agent, exec as exec_job, lifecycle, snapshot as snapshot_job, ssh};
use super::{JobError, OperatorContext};

type Answer<T> = Result<TangleResult<T>, JobError>;

pub async fn provision(
    Context(ctx): Context<OperatorContext>,
    ServiceId(sid): ServiceId,
    CallId(call): CallId,
    TangleArg(req): TangleArg<ProvisionRequest>,
) -> Answer<ProvisionResult> {
    let fut = lifecycle::provision(&ctx, sid, req);
    ctx.observe(Job::Provision, sid, call, fut)
        .await
        .map(TangleResult)
}

pub async fn exec(
    Context(ctx): Context<OperatorContext>,
    ServiceId(sid): ServiceId,
    CallId(call): CallId,
    TangleArg(req): TangleArg<ExecRequest>,
) -> Answer<ExecResult> {
    let fut = exec_job::exec(&ctx, sid, req);
    ctx.observe(Job::Exec, sid, call, fut)
        .await
        .map(TangleResult)
}

pub async fn prompt(
    Context(ctx): Context<OperatorContext>,
    ServiceId(sid): ServiceId,
    CallId(call): CallId,
    TangleArg(req): TangleArg<PromptRequest>,
) -> Answer<PromptResult> {
    let fut = agent::prompt(&ctx, sid, req);
    ctx.observe(Job::Prompt, sid, call, fut)
        .await
        .map(TangleResult)
}

pub async fn task(
    Context(ctx): Context<OperatorContext>,
    ServiceId(sid): ServiceId,
    CallId(call): CallId,
    TangleArg(req): TangleArg<TaskRequest>,
) -> Answer<TaskResult> {
    let fut = agent::task(&ctx, sid, req);
    ctx.observe(Job::Task, sid, call, fut)
        .await
        .map(TangleResult)
}

pub async fn ssh_provision(
    Context(ctx): Context<OperatorContext>,
    ServiceId(sid): ServiceId,
    CallId(call): CallId,
    TangleArg(req): TangleArg<SshProvisionRequest>,
) -> Answer<SshProvisionResult> {
    let fut = ssh::provision(&ctx, sid, req);
    ctx.observe(Job::SshProvision, sid, call, fut)
        .await
        .map(TangleResult)
}

pub async fn ssh_revoke(
    Context(ctx): Context<OperatorContext>,
    ServiceId(sid): ServiceId,
    CallId(call): CallId,
    TangleArg(req): TangleArg<SshRevokeRequest>,
) -> Answer<SshRevokeResult> {
    let fut = ssh::revoke(&ctx, sid, req);
    ctx.observe(Job::SshRevoke, sid, call, fut)
        .await
        .map(TangleResult)
}

pub async fn snapshot(
    Context(ctx): Context<OperatorContext>,
    ServiceId(sid): ServiceId,
    CallId(call): CallId,
    TangleArg(req): TangleArg<SnapshotRequest>,
) -> Answer<SnapshotResult> {
    let fut = snapshot_job::snapshot(&ctx, sid, req);
    ctx.observe(Job::Snapshot, sid, call, fut)
        .await
        .map(TangleResult)
}

pub async fn deprovision(
    Context(ctx): Context<OperatorContext>,
    ServiceId(sid): ServiceId,
    CallId(call): CallId,
    TangleArg(req): TangleArg<DeprovisionRequest>,
) -> Answer<DeprovisionResult> {
    let fut = lifecycle::deprovision(&ctx, sid, req);
    ctx.observe(Job::Deprovision, sid, call, fut)
        .await
        .map(TangleResult)
}
