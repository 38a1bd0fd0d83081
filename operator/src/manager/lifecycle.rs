//! PROVISION and the sandbox's way back to "running and healthy": create, start, resume after
//! the idle policy stopped it, recreate after its container vanished.

use std::time::Duration;

use agent_types::sealing::seal_access;
use agent_types::AgentJobs::{ProvisionRequest, ProvisionResult};
use rand::RngCore;

use super::{ManagerError, SandboxManager};
use crate::attestation::report_data;
use crate::sandbox::runtime::{free_port, wait_healthy};
use crate::sandbox::spec;
use crate::sandbox::{SandboxResources, SandboxSpec, SandboxState};
use crate::settings::Settings;
use crate::sidecar_client::parse_hash32;
use crate::state::{now_secs, Desired, SandboxRecord};

/// Disk size recorded when a request gives none (GB).
const DEFAULT_DISK_GB: u32 = 10;
const MAX_DISK_GB: u32 = 1024;

pub(super) fn container_name(settings: &Settings, service_id: u64) -> String {
    spec::container_name(service_id, &settings.operator_hex())
}

impl SandboxManager {
    /// PROVISION: creates the service's sandbox, or returns the existing one (idempotent),
    /// with fresh attestation for this request's nonce and the token sealed to this
    /// request's customer key.
    pub async fn provision(
        &self,
        service_id: u64,
        req: &ProvisionRequest,
    ) -> Result<ProvisionResult, ManagerError> {
        if req.customerX25519PublicKey.0 == [0u8; 32] {
            return Err(ManagerError::BadRequest(
                "customerX25519PublicKey is zero: the access token can only be sealed to a real key"
                    .into(),
            ));
        }
        let _lock = self.lock(service_id).await;
        let rec = match self.store.get(service_id)? {
            Some(rec) => {
                tracing::info!(
                    service_id,
                    "already provisioned: returning the existing sandbox"
                );
                self.ensure_up(rec).await?
            }
            None => self.create_new(service_id, req).await?,
        };
        if !req.sshPublicKey.is_empty() {
            self.client(&rec)
                .ssh_key(true, None, &req.sshPublicKey, Duration::from_secs(30))
                .await
                .map_err(|e| match e {
                    e if e.is_rejection() => ManagerError::BadRequest(format!("sshPublicKey: {e}")),
                    e => ManagerError::Sidecar(e),
                })?;
        }
        let public_key = rec
            .sidecar_public_key
            .as_deref()
            .and_then(parse_hash32)
            .ok_or_else(|| ManagerError::BadRequest("sidecar public key unknown".into()))?;
        let evidence = self
            .attestation
            .attest(&report_data(&req.attestationNonce.0, &public_key))?;
        let sealed = seal_access(
            &req.customerX25519PublicKey.0,
            service_id,
            &self.settings.operator.into_array(),
            rec.token.as_bytes(),
        )
        .map_err(|e| ManagerError::BadRequest(e.to_string()))?;
        self.announce(&rec).await;
        Ok(ProvisionResult {
            sandboxId: rec.container_name.clone(),
            sidecarUrl: rec.sidecar_url.clone(),
            sshPort: rec.ssh_host_port,
            attestation: evidence.bytes.into(),
            sealedAccess: sealed.into(),
            sidecarPublicKey: public_key.into(),
        })
    }

    async fn create_new(
        &self,
        service_id: u64,
        req: &ProvisionRequest,
    ) -> Result<SandboxRecord, ManagerError> {
        let s = &self.settings;
        let image = s.resolve_image(&req.image).ok_or_else(|| {
            ManagerError::BadRequest(format!(
                "image {:?} is not offered by this operator",
                req.image
            ))
        })?;
        SandboxResources::validate(req.cpuMillis, req.memoryMb)?;
        let disk_gb = match req.diskGb {
            0 => DEFAULT_DISK_GB,
            d if d > MAX_DISK_GB => {
                return Err(ManagerError::BadRequest(format!(
                    "diskGb {d} out of range (1..={MAX_DISK_GB})"
                )))
            }
            d => d,
        };
        let max_life = s.max_lifetime.as_secs();
        let lifetime = match req.lifetimeSecs {
            0 => max_life,
            l if l > max_life => {
                return Err(ManagerError::BadRequest(format!(
                    "lifetimeSecs {l} exceeds this operator's maximum of {max_life}"
                )))
            }
            l => l,
        };
        let (sidecar_port, ssh_port) = two_ports(s)?;
        let mut token = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut token);
        let now = now_secs();
        let rec = SandboxRecord {
            service_id,
            container_name: container_name(s, service_id),
            container_id: None,
            image,
            public_host: s.public_host,
            sidecar_host_port: sidecar_port,
            ssh_host_port: ssh_port,
            sidecar_url: format!("http://{}:{sidecar_port}", s.advertise_host),
            token: hex::encode(token),
            sidecar_public_key: None,
            cpu_millis: req.cpuMillis,
            memory_mb: req.memoryMb,
            disk_gb,
            created_at: now,
            last_activity: now,
            expires_at: Some(now.saturating_add(lifetime)),
            idle_timeout_secs: req.idleTimeoutSecs,
            desired: Desired::Running,
        };
        // The record is written before Docker is touched: a crash in between leaves a record
        // that reconciliation completes, never an untracked container.
        self.store.put(&rec)?;
        match self.start_container(rec.clone()).await {
            Ok(rec) => {
                tracing::info!(service_id, url = %rec.sidecar_url, "sandbox provisioned");
                Ok(rec)
            }
            Err(e) => {
                tracing::warn!(service_id, error = %e, "provisioning failed; cleaning up");
                if let Err(c) = self
                    .runtime
                    .remove(&rec.container_name, &rec.volumes())
                    .await
                {
                    tracing::warn!(service_id, error = %c, "cleanup of the failed sandbox failed");
                }
                self.store.remove(service_id)?;
                Err(e)
            }
        }
    }

    pub(super) fn spec_of(&self, rec: &SandboxRecord) -> Result<SandboxSpec, ManagerError> {
        let s = &self.settings;
        let mut env = vec![("SIDECAR_TOKEN".to_string(), rec.token.clone())];
        let llm = [
            ("SIDECAR_LLM_BASE_URL", &s.llm.base_url),
            ("SIDECAR_LLM_MODEL", &s.llm.model),
            ("SIDECAR_LLM_API_KEY", &s.llm.api_key),
        ];
        env.extend(
            llm.into_iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone()))),
        );
        if s.snapshot_allow_private {
            env.push(("SIDECAR_SNAPSHOT_ALLOW_PRIVATE".into(), "true".into()));
        }
        Ok(SandboxSpec {
            service_id: rec.service_id,
            operator: s.operator_hex(),
            image: rec.image.clone(),
            resources: SandboxResources::validate(rec.cpu_millis, rec.memory_mb)?,
            public_host: rec.public_host,
            sidecar_host_port: rec.sidecar_host_port,
            ssh_host_port: rec.ssh_host_port,
            env,
        })
    }

    /// Creates and starts the record's container (its volumes are reused when they exist),
    /// then waits for the sidecar.
    pub(super) async fn start_container(
        &self,
        mut rec: SandboxRecord,
    ) -> Result<SandboxRecord, ManagerError> {
        let spec = self.spec_of(&rec)?;
        let id = self.runtime.create(&spec).await?;
        rec.container_id = Some(id.clone());
        self.store.put(&rec)?;
        self.runtime.start(&id).await?;
        self.await_sidecar(rec).await
    }

    /// Waits for `/health`, learns the sidecar's public key and marks the record running.
    async fn await_sidecar(&self, mut rec: SandboxRecord) -> Result<SandboxRecord, ManagerError> {
        let url = Self::local_url(&rec);
        wait_healthy(&url, self.settings.health_timeout).await?;
        let info = self.client(&rec).info(Duration::from_secs(10)).await?;
        let key = info.ves.public_key.trim_start_matches("0x").to_lowercase();
        if let Some(old) = &rec.sidecar_public_key {
            if *old != key {
                tracing::warn!(
                    service_id = rec.service_id,
                    "the sidecar's public key changed (its state volume was lost); retiring the old agent"
                );
                self.retire(&rec).await;
            }
        }
        rec.sidecar_public_key = Some(key);
        rec.desired = Desired::Running;
        rec.last_activity = now_secs();
        self.store.put(&rec)?;
        Ok(rec)
    }

    /// Brings the record's sandbox to running: resumes a stopped container, recreates a
    /// vanished or broken one (its volumes, and so its workspace and identity, survive).
    pub(super) async fn ensure_up(
        &self,
        mut rec: SandboxRecord,
    ) -> Result<SandboxRecord, ManagerError> {
        match self.runtime.status(&rec.container_name).await? {
            None => {
                tracing::warn!(
                    service_id = rec.service_id,
                    "sandbox container vanished; recreating it"
                );
                self.start_container(rec).await
            }
            Some(st) if st.state == SandboxState::Running => {
                if rec.desired != Desired::Running || rec.container_id.as_deref() != Some(&st.id) {
                    rec.desired = Desired::Running;
                    rec.container_id = Some(st.id);
                    self.store.put(&rec)?;
                }
                Ok(rec)
            }
            Some(st) => {
                tracing::info!(service_id = rec.service_id, "resuming the stopped sandbox");
                match self.runtime.start(&st.id).await {
                    Ok(()) => self.await_sidecar(rec).await,
                    Err(e) => {
                        tracing::warn!(
                            service_id = rec.service_id,
                            error = %e,
                            "the stopped container does not start; recreating it"
                        );
                        self.runtime.remove(&st.id, &[]).await?;
                        self.start_container(rec).await
                    }
                }
            }
        }
    }
}

/// Two distinct free ports on the public host (sidecar, ssh).
fn two_ports(s: &Settings) -> Result<(u16, u16), ManagerError> {
    let a = free_port(s.public_host)?;
    for _ in 0..8 {
        let b = free_port(s.public_host)?;
        if b != a {
            return Ok((a, b));
        }
    }
    Err(ManagerError::BadRequest("no second free port".into()))
}
