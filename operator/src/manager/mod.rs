//! The sandbox manager: the one place that turns jobs into sandbox lifecycle actions.
//!
//! It owns the store of record ([`StateStore`]), the Docker runtime and the idle/lifetime
//! policy. Every lifecycle change of a service's sandbox happens under that service's lock,
//! so two concurrent PROVISION calls cannot create two containers.

mod announce;
mod lifecycle;
mod reconcile;

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use tokio::sync::Mutex;

pub use reconcile::{ReconcileReport, SweepReport};

use crate::attestation::{AttestationError, AttestationProvider};
use crate::sandbox::{DockerRuntime, RuntimeError, SpecError};
use crate::settings::Settings;
use crate::sidecar_client::{SidecarClient, SidecarError};
use crate::state::{now_secs, Desired, SandboxRecord, StateError, StateStore};

#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error("service {0} has no sandbox on this operator (PROVISION first)")]
    NotProvisioned(u64),
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Sidecar(#[from] SidecarError),
    #[error("attestation failed: {0}")]
    Attestation(#[from] AttestationError),
}

/// Per-service activity kept in memory (persisted into the record by the sweep).
#[derive(Clone, Copy, Debug, Default)]
struct Activity {
    in_flight: usize,
    last: u64,
}

pub struct SandboxManager {
    settings: Arc<Settings>,
    runtime: DockerRuntime,
    store: StateStore,
    http: reqwest::Client,
    attestation: Box<dyn AttestationProvider>,
    registry: Option<crate::registry::RegistryClient>,
    locks: StdMutex<HashMap<u64, Arc<Mutex<()>>>>,
    activity: StdMutex<HashMap<u64, Activity>>,
}

/// Marks a job as running on a service's sandbox; the idle policy never stops a sandbox with
/// a job in flight. Dropping it records the activity time.
pub struct JobGuard<'a> {
    manager: &'a SandboxManager,
    service_id: u64,
}

impl Drop for JobGuard<'_> {
    fn drop(&mut self) {
        let mut map = self
            .manager
            .activity
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let a = map.entry(self.service_id).or_default();
        a.in_flight = a.in_flight.saturating_sub(1);
        a.last = now_secs();
    }
}

impl SandboxManager {
    pub fn new(
        settings: Arc<Settings>,
        runtime: DockerRuntime,
        attestation: Box<dyn AttestationProvider>,
    ) -> Result<Self, ManagerError> {
        let store = StateStore::open(&settings.data_dir)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ManagerError::BadRequest(format!("http client: {e}")))?;
        Ok(Self {
            settings,
            runtime,
            store,
            http,
            attestation,
            registry: None,
            locks: StdMutex::new(HashMap::new()),
            activity: StdMutex::new(HashMap::new()),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn store(&self) -> &StateStore {
        &self.store
    }

    pub fn runtime(&self) -> &DockerRuntime {
        &self.runtime
    }

    pub fn attestation(&self) -> &dyn AttestationProvider {
        self.attestation.as_ref()
    }

    async fn lock(&self, service_id: u64) -> tokio::sync::OwnedMutexGuard<()> {
        let m = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(service_id).or_default().clone()
        };
        m.lock_owned().await
    }

    /// Starts tracking a job on `service_id` (see [`JobGuard`]).
    pub fn begin_job(&self, service_id: u64) -> JobGuard<'_> {
        let mut map = self.activity.lock().unwrap_or_else(|p| p.into_inner());
        let a = map.entry(service_id).or_default();
        a.in_flight += 1;
        a.last = now_secs();
        JobGuard {
            manager: self,
            service_id,
        }
    }

    fn activity_of(&self, service_id: u64) -> Activity {
        let map = self.activity.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&service_id).copied().unwrap_or_default()
    }

    /// The URL the operator itself uses to reach a sandbox's sidecar.
    pub fn local_url(rec: &SandboxRecord) -> String {
        let host = if rec.public_host.is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            rec.public_host.to_string()
        };
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        format!("http://{host}:{}", rec.sidecar_host_port)
    }

    pub fn client(&self, rec: &SandboxRecord) -> SidecarClient {
        SidecarClient::new(self.http.clone(), &Self::local_url(rec), &rec.token)
    }

    /// A client for the service's running sandbox, resuming it if the idle policy stopped it
    /// and recreating it if its container vanished.
    pub async fn client_for(&self, service_id: u64) -> Result<SidecarClient, ManagerError> {
        let _lock = self.lock(service_id).await;
        let rec = self
            .store
            .get(service_id)?
            .ok_or(ManagerError::NotProvisioned(service_id))?;
        let rec = self.ensure_up(rec).await?;
        Ok(self.client(&rec))
    }

    /// A client for a sandbox whose record says it runs, without asking Docker; `None` when
    /// there is no record or the sandbox is meant to be stopped (then [`Self::client_for`]).
    async fn client_if_running(
        &self,
        service_id: u64,
    ) -> Result<Option<SidecarClient>, ManagerError> {
        let _lock = self.lock(service_id).await;
        Ok(self
            .store
            .get(service_id)?
            .filter(|rec| rec.desired == Desired::Running && rec.container_id.is_some())
            .map(|rec| self.client(&rec)))
    }

    /// Runs `call` against the service's sidecar. The record is trusted first (no Docker round
    /// trip per job: a running job also keeps the idle policy from stopping the sandbox); when
    /// the sidecar cannot even be connected to (container died or was stopped behind our
    /// back), the sandbox is checked, restarted or recreated, and the call is made once more;
    /// nothing ran the first time, so retrying is safe. A port taken over by something else
    /// does not hold the sandbox's token, so a stale record cannot reach a wrong sidecar.
    pub async fn with_sidecar<T, F, Fut>(&self, service_id: u64, call: F) -> Result<T, ManagerError>
    where
        F: Fn(SidecarClient) -> Fut,
        Fut: std::future::Future<Output = Result<T, SidecarError>>,
    {
        let client = match self.client_if_running(service_id).await? {
            Some(client) => client,
            None => self.client_for(service_id).await?,
        };
        match call(client).await {
            Err(SidecarError::Unreachable { connect: true, .. }) => {
                tracing::warn!(
                    service_id,
                    "sidecar refused the connection; checking the sandbox"
                );
                let client = self.client_for(service_id).await?;
                Ok(call(client).await?)
            }
            other => Ok(other?),
        }
    }

    /// Removes the service's sandbox (container and volumes) and its record. Idempotent.
    pub async fn deprovision(&self, service_id: u64) -> Result<(), ManagerError> {
        let _lock = self.lock(service_id).await;
        let name = match self.store.get(service_id)? {
            Some(rec) => {
                self.retire(&rec).await;
                self.runtime
                    .remove(&rec.container_name, &rec.volumes())
                    .await?;
                rec.container_name
            }
            None => {
                let name = lifecycle::container_name(&self.settings, service_id);
                let volumes = [format!("{name}-workspace"), format!("{name}-state")];
                self.runtime.remove(&name, &volumes).await?;
                name
            }
        };
        self.store.remove(service_id)?;
        tracing::info!(service_id, container = %name, "sandbox deprovisioned");
        Ok(())
    }
}
