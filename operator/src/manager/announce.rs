//! The sandbox's agent in the on-chain registry: announced after PROVISION, kept alive by the
//! sweep, retired on DEPROVISION. Registry trouble never fails a job: it is logged and the
//! next sweep tries again.

use std::time::Duration;

use discovery::ids::Bytes32;
use discovery::manifest::{SignedManifest, ToolManifest};
use sha2::{Digest, Sha256};

use super::SandboxManager;
use crate::registry::{Announcement, KeepAlive, RegistryClient};
use crate::sidecar_client::parse_hash32;
use crate::state::SandboxRecord;

/// `sha256` of the manifest's tool ids, sorted and newline-joined: a short digest of what the
/// agent can do (the registry's `capabilityDigest`).
pub fn capability_digest(manifest: &ToolManifest) -> [u8; 32] {
    let mut ids: Vec<&str> = manifest.tools.iter().map(|t| t.id.as_str()).collect();
    ids.sort_unstable();
    Sha256::digest(ids.join("\n").as_bytes()).into()
}

fn public_key(rec: &SandboxRecord) -> Option<[u8; 32]> {
    rec.sidecar_public_key.as_deref().and_then(parse_hash32)
}

impl SandboxManager {
    pub fn with_registry(mut self, registry: RegistryClient) -> Self {
        self.registry = Some(registry);
        self
    }

    async fn try_announce(
        &self,
        registry: &RegistryClient,
        rec: &SandboxRecord,
    ) -> Result<(), String> {
        let key = public_key(rec).ok_or("the sidecar public key is unknown")?;
        let value = self
            .client(rec)
            .manifest(Duration::from_secs(10))
            .await
            .map_err(|e| e.to_string())?;
        // Check what the sidecar signed before vouching for it on chain.
        let signed = SignedManifest::from_value(value).map_err(|e| e.to_string())?;
        let hash = signed.hash().map_err(|e| e.to_string())?;
        discovery::manifest::verify(&signed, &hash, &Bytes32(key)).map_err(|e| e.to_string())?;
        let announcement = Announcement {
            service_id: rec.service_id,
            public_key: key,
            endpoint: rec.sidecar_url.clone(),
            manifest_hash: hash.0,
            capability_digest: capability_digest(&signed.manifest),
        };
        registry
            .announce(&announcement)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Announces the record's agent (register, or update + heartbeat).
    pub(super) async fn announce(&self, rec: &SandboxRecord) {
        if let Some(registry) = &self.registry {
            if let Err(e) = self.try_announce(registry, rec).await {
                tracing::warn!(service_id = rec.service_id, error = %e, "agent not announced; the next sweep retries");
            }
        }
    }

    /// Heartbeats the record's agent when its expiry is near; announces it when missing.
    pub(super) async fn keep_alive(&self, rec: &SandboxRecord) {
        let (Some(registry), Some(key)) = (&self.registry, public_key(rec)) else {
            return;
        };
        match registry.keep_alive(&key).await {
            Ok(KeepAlive::Missing) => self.announce(rec).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(service_id = rec.service_id, error = %e, "agent heartbeat failed")
            }
        }
    }

    /// Marks the record's agent exited.
    pub(super) async fn retire(&self, rec: &SandboxRecord) {
        let (Some(registry), Some(key)) = (&self.registry, public_key(rec)) else {
            return;
        };
        if let Err(e) = registry.exit(&key).await {
            tracing::warn!(service_id = rec.service_id, error = %e, "agent exit not recorded");
        }
    }
}
