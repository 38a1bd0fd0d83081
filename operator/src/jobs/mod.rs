//! The eight jobs. Each job is a plain async function over the [`OperatorContext`] (tested
//! directly, against wiremock sidecars and against real sandboxes); [`handlers`] wraps them
//! for blueprint-sdk and [`router`] routes the job ids to them with `TangleLayer`.
//!
//! Error policy (a handler `Err` submits nothing, so the call stays open for this operator):
//! - input the sandbox refuses (a 4xx from the sidecar) becomes an on-chain result that says
//!   so, where the result type can say it: EXEC (exit code -1, reason in `stderr`),
//!   PROMPT/TASK (`success = false`, reason in the text), SSH (`success = false`);
//! - everything else (sandbox unreachable, Docker failure, timeouts, bad PROVISION/SNAPSHOT
//!   input) is an error: logged, counted, and no result.

pub mod agent;
pub mod exec;
pub mod handlers;
pub mod lifecycle;
pub mod snapshot;
pub mod ssh;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_types::Job;
use blueprint_sdk::tangle::TangleLayer;
use blueprint_sdk::{Job as _, Router};

use crate::manager::{ManagerError, SandboxManager};
use crate::metrics::{Metrics, Outcome};
use crate::sidecar_client::{Commitment, SidecarError};

/// Longest stdout / stderr put into an on-chain EXEC result (the full output's digest is in
/// the sandbox's event log).
pub const MAX_RESULT_OUTPUT: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Manager(#[from] ManagerError),
    #[error("invalid job input: {0}")]
    BadInput(String),
}

impl From<SidecarError> for JobError {
    fn from(e: SidecarError) -> Self {
        JobError::Manager(ManagerError::Sidecar(e))
    }
}

impl JobError {
    /// The sidecar's refusal of the request, if that is what this error is.
    pub fn rejection(&self) -> Option<&SidecarError> {
        match self {
            JobError::Manager(ManagerError::Sidecar(e)) if e.is_rejection() => Some(e),
            _ => None,
        }
    }
}

/// What every handler gets: the sandbox manager and the metrics.
#[derive(Clone)]
pub struct OperatorContext {
    pub manager: Arc<SandboxManager>,
    pub metrics: Arc<Metrics>,
}

impl OperatorContext {
    /// Runs one job: marks it in flight (the idle policy leaves the sandbox alone), times it,
    /// logs and counts its outcome.
    pub async fn observe<T>(
        &self,
        job: Job,
        service_id: u64,
        call_id: u64,
        fut: impl std::future::Future<Output = Result<(T, Outcome), JobError>>,
    ) -> Result<T, JobError> {
        let _guard = self.manager.begin_job(service_id);
        let start = Instant::now();
        let res = fut.await;
        let took = start.elapsed();
        let outcome = match &res {
            Ok((_, o)) => *o,
            Err(_) => Outcome::Error,
        };
        self.metrics.job(job, outcome, took);
        match &res {
            Ok(_) => tracing::info!(
                job = job.name(),
                service_id,
                call_id,
                outcome = outcome.as_str(),
                ms = took.as_millis() as u64,
                "job done"
            ),
            Err(e) => tracing::warn!(
                job = job.name(),
                service_id,
                call_id,
                ms = took.as_millis() as u64,
                error = %e,
                "job failed; no result is submitted"
            ),
        }
        res.map(|(v, _)| v)
    }

    /// The HTTP deadline for a sidecar call that carries a job with `timeout`.
    pub fn call_timeout(&self, timeout: Duration) -> Duration {
        timeout + self.manager.settings().call_grace
    }

    /// Commits the sandbox's event stream and returns the head that covers this job's record
    /// (anchored on chain through EXEC / SNAPSHOT results).
    pub async fn commit(&self, service_id: u64) -> Result<([u8; 32], u64), JobError> {
        let c: Commitment = self
            .manager
            .with_sidecar(service_id, |client| async move {
                client.commit(Duration::from_secs(30)).await
            })
            .await?;
        let root = crate::sidecar_client::parse_hash32(&c.state_root).ok_or_else(|| {
            JobError::Manager(ManagerError::Sidecar(SidecarError::Malformed {
                path: "/v1/ves/commit".into(),
                message: format!("state_root {:?}", c.state_root),
            }))
        })?;
        Ok((root, c.seq_end))
    }
}

/// The job router: the eight job ids, each behind `TangleLayer` (without it the consumer
/// cannot tell which call a result answers and drops it).
pub fn router(ctx: OperatorContext) -> Router {
    Router::new()
        .route(Job::Provision.id(), handlers::provision.layer(TangleLayer))
        .route(Job::Exec.id(), handlers::exec.layer(TangleLayer))
        .route(Job::Prompt.id(), handlers::prompt.layer(TangleLayer))
        .route(Job::Task.id(), handlers::task.layer(TangleLayer))
        .route(
            Job::SshProvision.id(),
            handlers::ssh_provision.layer(TangleLayer),
        )
        .route(Job::SshRevoke.id(), handlers::ssh_revoke.layer(TangleLayer))
        .route(Job::Snapshot.id(), handlers::snapshot.layer(TangleLayer))
        .route(
            Job::Deprovision.id(),
            handlers::deprovision.layer(TangleLayer),
        )
        .with_context(ctx)
}

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut.
pub fn cap_text(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("\n[truncated]");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_text_respects_char_boundaries() {
        assert_eq!(cap_text("abc".into(), 10), "abc");
        assert_eq!(cap_text("abcdef".into(), 3), "abc\n[truncated]");
        assert_eq!(cap_text("é".repeat(4), 3), "é\n[truncated]");
    }
}
