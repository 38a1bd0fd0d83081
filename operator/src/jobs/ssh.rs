//! SSH_PROVISION and SSH_REVOKE: authorized keys of a sandbox user (sshd in the image serves
//! them). Both are idempotent in the sidecar.

use std::time::Duration;

use agent_types::AgentJobs::{
    SshProvisionRequest, SshProvisionResult, SshRevokeRequest, SshRevokeResult,
};

use super::{JobError, OperatorContext};
use crate::metrics::Outcome;
use crate::sidecar_client::KeyChange;

const SSH_TIMEOUT: Duration = Duration::from_secs(30);

async fn change(
    ctx: &OperatorContext,
    service_id: u64,
    add: bool,
    username: String,
    public_key: String,
) -> Result<Result<KeyChange, String>, JobError> {
    if public_key.trim().is_empty() {
        return Err(JobError::BadInput("publicKey is empty".into()));
    }
    let user = (!username.is_empty()).then_some(username);
    let res = ctx
        .manager
        .with_sidecar(service_id, |client| {
            let user = user.clone();
            let key = public_key.clone();
            async move {
                client
                    .ssh_key(add, user.as_deref(), &key, SSH_TIMEOUT)
                    .await
            }
        })
        .await
        .map_err(JobError::from);
    match res {
        Ok(change) => Ok(Ok(change)),
        Err(e) => match e.rejection() {
            Some(r) => Ok(Err(r.to_string())),
            None => Err(e),
        },
    }
}

pub async fn provision(
    ctx: &OperatorContext,
    service_id: u64,
    req: SshProvisionRequest,
) -> Result<(SshProvisionResult, Outcome), JobError> {
    match change(ctx, service_id, true, req.username, req.publicKey).await? {
        Ok(c) => Ok((
            SshProvisionResult {
                success: true,
                fingerprint: c.fingerprint,
            },
            Outcome::Ok,
        )),
        Err(reason) => {
            tracing::info!(service_id, %reason, "ssh key refused");
            Ok((
                SshProvisionResult {
                    success: false,
                    fingerprint: String::new(),
                },
                Outcome::Rejected,
            ))
        }
    }
}

pub async fn revoke(
    ctx: &OperatorContext,
    service_id: u64,
    req: SshRevokeRequest,
) -> Result<(SshRevokeResult, Outcome), JobError> {
    match change(ctx, service_id, false, req.username, req.publicKey).await? {
        Ok(_) => Ok((SshRevokeResult { success: true }, Outcome::Ok)),
        Err(reason) => {
            tracing::info!(service_id, %reason, "ssh key revocation refused");
            Ok((SshRevokeResult { success: false }, Outcome::Rejected))
        }
    }
}
