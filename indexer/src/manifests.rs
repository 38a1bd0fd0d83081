//! An agent's signed manifest: from the cache if one verifies, else fetched from
//! `{endpoint}/v1/manifest`; attached to the index only after it verifies against the
//! on-chain record (`Index::attach_manifest`), whichever way it came.

use std::time::Duration;

use discovery::ids::{AgentId, Bytes32};
use discovery::index::Index;
use discovery::manifest::SignedManifest;
use tokio::sync::RwLock;

use crate::cache::ManifestCache;
use crate::follow::FollowError;

/// What became of an agent's manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attached {
    /// A cached manifest verified and was attached.
    FromCache,
    /// A fetched manifest verified and was attached (and cached, with a cache).
    Fetched,
    /// Nothing verified: the record stays without a manifest.
    Refused,
}

pub struct Manifests {
    http: reqwest::Client,
    cache: Option<ManifestCache>,
}

impl Manifests {
    pub fn new(cache: Option<ManifestCache>) -> Result<Self, FollowError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FollowError::Chain(e.to_string()))?;
        Ok(Self { http, cache })
    }

    /// Finds, verifies and attaches the manifest of `agent_id` (registered or updated just
    /// now, with `endpoint`). Failures are logged; the record then has no manifest.
    pub async fn attach(
        &self,
        index: &RwLock<Index>,
        agent_id: &AgentId,
        endpoint: &str,
    ) -> Attached {
        let Some(hash) = index.read().await.record(agent_id).map(|r| r.manifest_hash) else {
            return Attached::Refused;
        };
        if self.attach_cached(index, agent_id, &hash).await {
            return Attached::FromCache;
        }
        let url = format!("{}/v1/manifest", endpoint.trim_end_matches('/'));
        let manifest = match self.fetch(&url).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%agent_id, %url, error = %e, "manifest not fetched");
                return Attached::Refused;
            }
        };
        let copy = self.cache.as_ref().map(|_| manifest.clone());
        // The write lock is released before the cache is written.
        let attached = index.write().await.attach_manifest(agent_id, manifest);
        match attached {
            Ok(verified) => {
                tracing::info!(%agent_id, "manifest verified and attached");
                if let (Some(cache), Some(copy)) = (&self.cache, copy) {
                    if let Err(e) = cache.put(&verified, &copy).await {
                        tracing::warn!(%agent_id, error = %e, "manifest not cached");
                    }
                }
                Attached::Fetched
            }
            Err(e) => {
                tracing::warn!(%agent_id, %url, error = %e, "manifest refused");
                Attached::Refused
            }
        }
    }

    /// True when the cache holds a manifest under `hash` that verifies against the record.
    async fn attach_cached(
        &self,
        index: &RwLock<Index>,
        agent_id: &AgentId,
        hash: &Bytes32,
    ) -> bool {
        let Some(cache) = &self.cache else {
            return false;
        };
        let cached = match cache.get(hash).await {
            Ok(Some(m)) => m,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(%agent_id, error = %e, "cached manifest unreadable; fetching");
                return false;
            }
        };
        let attached = index.write().await.attach_manifest(agent_id, cached);
        match attached {
            Ok(_) => {
                tracing::info!(%agent_id, "cached manifest verified and attached");
                true
            }
            Err(e) => {
                tracing::warn!(%agent_id, error = %e, "cached manifest refused; fetching");
                false
            }
        }
    }

    async fn fetch(&self, url: &str) -> Result<SignedManifest, String> {
        let value: serde_json::Value = self
            .http
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        SignedManifest::from_value(value).map_err(|e| e.to_string())
    }
}
