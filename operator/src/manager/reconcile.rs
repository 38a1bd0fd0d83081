//! Reconciliation of the store of record against Docker, and the idle/lifetime policy.
//!
//! Run at start-up and on a timer. The record wins: a record whose container is missing gets
//! its container back (unless its lifetime is over, then the stale record goes); a container
//! with our labels but no record is an orphan and is removed (its volumes are kept, so nothing
//! a customer wrote is destroyed by a lost record).

use std::collections::HashSet;

use serde::Serialize;

use super::{ManagerError, SandboxManager};
use crate::sandbox::SandboxState;
use crate::state::{now_secs, Desired};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// Records whose container is there and in the desired state.
    pub healthy: usize,
    /// Containers started because their record wants them running.
    pub restarted: Vec<u64>,
    /// Containers recreated because they had vanished.
    pub recreated: Vec<u64>,
    /// Expired records whose container was gone: removed.
    pub stale_removed: Vec<u64>,
    /// Containers with our labels and no record: removed (volumes kept).
    pub orphans_removed: Vec<String>,
    /// Records that could not be brought to their desired state (with the error).
    pub failed: Vec<(u64, String)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Sandboxes stopped by the idle policy.
    pub stopped_idle: Vec<u64>,
    /// Sandboxes deprovisioned because their lifetime ended.
    pub expired: Vec<u64>,
    pub running: usize,
    pub stopped: usize,
}

impl SandboxManager {
    pub async fn reconcile(&self) -> Result<ReconcileReport, ManagerError> {
        let mut report = ReconcileReport::default();
        let me = self.settings.operator_hex();
        let records = self.store.all()?;
        let names: HashSet<&str> = records
            .values()
            .map(|r| r.container_name.as_str())
            .collect();
        for c in self.runtime.list_managed().await? {
            if c.operator.as_deref() != Some(me.as_str()) || names.contains(c.name.as_str()) {
                continue;
            }
            tracing::warn!(container = %c.name, "orphaned sandbox container (no record): removing it, keeping its volumes");
            self.runtime.remove(&c.id, &[]).await?;
            report.orphans_removed.push(c.name);
        }
        let now = now_secs();
        for service_id in records.into_keys() {
            let _lock = self.lock(service_id).await;
            // Re-read under the lock: a job may have changed it meanwhile.
            let Some(rec) = self.store.get(service_id)? else {
                continue;
            };
            let status = self.runtime.status(&rec.container_name).await?;
            let outcome = match (status, rec.desired) {
                (None, _) if rec.is_expired(now) => {
                    self.store.remove(service_id)?;
                    report.stale_removed.push(service_id);
                    continue;
                }
                (None, Desired::Running) => self
                    .start_container(rec)
                    .await
                    .map(|_| report.recreated.push(service_id)),
                (Some(st), Desired::Running) if st.state != SandboxState::Running => self
                    .ensure_up(rec)
                    .await
                    .map(|_| report.restarted.push(service_id)),
                // A stopped sandbox without a container is recreated lazily on its next job.
                _ => {
                    report.healthy += 1;
                    Ok(())
                }
            };
            if let Err(e) = outcome {
                tracing::warn!(service_id, error = %e, "reconciliation could not restore the sandbox");
                report.failed.push((service_id, e.to_string()));
            }
        }
        Ok(report)
    }

    /// Applies the lifetime and idle policy once.
    pub async fn sweep(&self) -> Result<SweepReport, ManagerError> {
        let mut report = SweepReport::default();
        let now = now_secs();
        for service_id in self.store.all()?.into_keys() {
            let activity = self.activity_of(service_id);
            let lock = self.lock(service_id).await;
            let Some(mut rec) = self.store.get(service_id)? else {
                continue;
            };
            if activity.last > rec.last_activity {
                rec.last_activity = activity.last;
                self.store.put(&rec)?;
            }
            if rec.is_expired(now) && activity.in_flight == 0 {
                drop(lock);
                tracing::info!(service_id, "sandbox lifetime ended: deprovisioning");
                self.deprovision(service_id).await?;
                report.expired.push(service_id);
                continue;
            }
            if rec.desired == Desired::Running && activity.in_flight == 0 && rec.is_idle(now) {
                tracing::info!(
                    service_id,
                    "sandbox idle: stopping it (the next job resumes it)"
                );
                let grace = self.settings.stop_grace;
                self.runtime.stop(&rec.container_name, grace).await?;
                rec.desired = Desired::Stopped;
                self.store.put(&rec)?;
                report.stopped_idle.push(service_id);
            }
            if rec.desired == Desired::Running {
                self.keep_alive(&rec).await;
            }
            match rec.desired {
                Desired::Running => report.running += 1,
                Desired::Stopped => report.stopped += 1,
            }
        }
        Ok(report)
    }
}
