//! PROVISION and DEPROVISION: the sandbox's birth and end (every operator answers both).

use agent_types::AgentJobs::{
    DeprovisionRequest, DeprovisionResult, ProvisionRequest, ProvisionResult,
};

use super::{JobError, OperatorContext};
use crate::metrics::Outcome;

pub async fn provision(
    ctx: &OperatorContext,
    service_id: u64,
    req: ProvisionRequest,
) -> Result<(ProvisionResult, Outcome), JobError> {
    let result = ctx.manager.provision(service_id, &req).await?;
    Ok((result, Outcome::Ok))
}

pub async fn deprovision(
    ctx: &OperatorContext,
    service_id: u64,
    req: DeprovisionRequest,
) -> Result<(DeprovisionResult, Outcome), JobError> {
    tracing::info!(service_id, reason = %req.reason, "deprovision requested");
    ctx.manager.deprovision(service_id).await?;
    Ok((DeprovisionResult { success: true }, Outcome::Ok))
}
