//! Following the registry: confirmed blocks only, in chunks, in log order; manifests fetched
//! and verified for every registration or update.

use std::sync::Arc;
use std::time::Duration;

use blueprint_sdk::alloy::primitives::Address;
use blueprint_sdk::alloy::providers::{DynProvider, Provider, ProviderBuilder};
use blueprint_sdk::alloy::rpc::types::Filter;
use discovery::index::{Index, RegistryEvent};
use discovery::manifest::SignedManifest;
use tokio::sync::RwLock;

use crate::decode::decode;

/// Most blocks asked for in one `eth_getLogs`.
const CHUNK: u64 = 2_000;

#[derive(Clone, Debug)]
pub struct FollowerConfig {
    pub rpc_url: String,
    pub registry: Address,
    /// Blocks on top of a block before its events are applied.
    pub confirmations: u64,
    /// Where the history starts (the registry's deployment block, or 0).
    pub from_block: u64,
    pub poll: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("RPC URL {0:?} is invalid")]
    Url(String),
    #[error("chain: {0}")]
    Chain(String),
    #[error("index: {0}")]
    Index(String),
}

pub struct Follower {
    config: FollowerConfig,
    provider: DynProvider,
    http: reqwest::Client,
    index: Arc<RwLock<Index>>,
    next_block: u64,
}

impl Follower {
    pub fn new(config: FollowerConfig, index: Arc<RwLock<Index>>) -> Result<Self, FollowError> {
        let url = config
            .rpc_url
            .parse()
            .map_err(|_| FollowError::Url(config.rpc_url.clone()))?;
        let provider = ProviderBuilder::new().connect_http(url).erased();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FollowError::Chain(e.to_string()))?;
        Ok(Self {
            next_block: config.from_block,
            config,
            provider,
            http,
            index,
        })
    }

    /// Applies every confirmed block not applied yet; returns how many events were applied.
    pub async fn step(&mut self) -> Result<usize, FollowError> {
        let head = self
            .provider
            .get_block_number()
            .await
            .map_err(|e| FollowError::Chain(e.to_string()))?;
        let Some(safe) = head.checked_sub(self.config.confirmations) else {
            return Ok(0);
        };
        let mut applied = 0;
        while self.next_block <= safe {
            let to = safe.min(self.next_block + CHUNK - 1);
            let filter = Filter::new()
                .address(self.config.registry)
                .from_block(self.next_block)
                .to_block(to);
            let logs = self
                .provider
                .get_logs(&filter)
                .await
                .map_err(|e| FollowError::Chain(e.to_string()))?;
            for log in &logs {
                let event = match decode(log) {
                    Ok(Some(e)) => e,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "skipping a registry log");
                        continue;
                    }
                };
                // The index refuses events that break the registry's rules (it mirrors them);
                // such an event is logged and skipped, never retried forever.
                if let Err(e) = self.index.write().await.apply(&event) {
                    tracing::warn!(error = %e, ?event, "registry event refused by the index");
                    continue;
                }
                applied += 1;
                if let RegistryEvent::Registered {
                    agent_id, endpoint, ..
                }
                | RegistryEvent::Updated {
                    agent_id, endpoint, ..
                } = &event
                {
                    self.attach(agent_id, endpoint).await;
                }
            }
            self.next_block = to + 1;
        }
        Ok(applied)
    }

    /// Fetches `{endpoint}/v1/manifest` and attaches it if it matches the record.
    async fn attach(&self, agent_id: &discovery::ids::AgentId, endpoint: &str) {
        let url = format!("{}/v1/manifest", endpoint.trim_end_matches('/'));
        let fetched = async {
            let value: serde_json::Value = self
                .http
                .get(&url)
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            SignedManifest::from_value(value).map_err(|e| e.to_string())
        }
        .await;
        let outcome = match fetched {
            Ok(m) => self
                .index
                .write()
                .await
                .attach_manifest(agent_id, m)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => tracing::info!(%agent_id, "manifest verified and attached"),
            Err(e) => tracing::warn!(%agent_id, %url, error = %e, "manifest refused"),
        }
    }

    /// Follows forever.
    pub async fn run(mut self) {
        loop {
            match self.step().await {
                Ok(n) if n > 0 => {
                    tracing::info!(events = n, next_block = self.next_block, "index advanced")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "index step failed; retrying"),
            }
            tokio::time::sleep(self.config.poll).await;
        }
    }
}
