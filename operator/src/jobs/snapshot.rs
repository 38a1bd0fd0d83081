//! SNAPSHOT: a tar archive of the workspace (and optionally the sidecar state) made by the
//! sidecar, kept locally or uploaded; optionally also a `docker commit` of the container.

use std::time::Duration;

use agent_types::AgentJobs::{SnapshotRequest, SnapshotResult};

use super::{JobError, OperatorContext};
use crate::metrics::Outcome;
use crate::sidecar_client::parse_hash32;

const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(600);
/// Repository of images made by `dockerCommit` snapshots.
pub const COMMIT_REPO: &str = "agent-snapshot";

pub async fn snapshot(
    ctx: &OperatorContext,
    service_id: u64,
    req: SnapshotRequest,
) -> Result<(SnapshotResult, Outcome), JobError> {
    let destination = (!req.destinationUrl.is_empty()).then_some(req.destinationUrl);
    let include_state = req.includeState;
    let out = ctx
        .manager
        .with_sidecar(service_id, |client| {
            let destination = destination.clone();
            async move {
                client
                    .snapshot(destination.as_deref(), include_state, SNAPSHOT_TIMEOUT)
                    .await
            }
        })
        .await?;
    let sha256 = parse_hash32(&out.sha256).ok_or_else(|| {
        JobError::BadInput(format!(
            "sidecar returned a malformed sha256 {:?}",
            out.sha256
        ))
    })?;
    let mut location = out.location;
    if req.dockerCommit {
        let rec = ctx
            .manager
            .store()
            .get(service_id)
            .map_err(crate::manager::ManagerError::from)?
            .ok_or(crate::manager::ManagerError::NotProvisioned(service_id))?;
        let tag = format!("svc{service_id}-{}", out.snapshot_id);
        let tag: String = tag
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .take(120)
            .collect();
        ctx.manager
            .runtime()
            .commit(&rec.container_name, COMMIT_REPO, &tag)
            .await
            .map_err(crate::manager::ManagerError::from)?;
        location = format!("{location};image:{COMMIT_REPO}:{tag}");
    }
    let (root, sequence) = ctx.commit(service_id).await?;
    Ok((
        SnapshotResult {
            snapshotId: out.snapshot_id,
            sha256: sha256.into(),
            sizeBytes: out.size_bytes,
            location,
            vesSequence: sequence,
            vesStateRoot: root.into(),
        },
        Outcome::Ok,
    ))
}
