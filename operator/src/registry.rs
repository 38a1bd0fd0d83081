//! Announcing each sandbox's agent in the on-chain `AgentRegistry` (issue 9): register after
//! PROVISION (or update + heartbeat when the record exists), heartbeat from the maintenance
//! timer, exit on DEPROVISION. The agent id is `keccak256(sidecar Ed25519 public key)`; the
//! operator's address owns the record, so nobody else can update or take it over.

use std::time::Duration;

use agent_types::IAgentRegistry::{self, AgentParams, AgentStatus, IAgentRegistryInstance};
use blueprint_sdk::alloy::contract::{CallBuilder, CallDecoder};
use blueprint_sdk::alloy::network::EthereumWallet;
use blueprint_sdk::alloy::primitives::{keccak256, Address, B256};
use blueprint_sdk::alloy::providers::{DynProvider, Provider, ProviderBuilder};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry RPC URL {0:?} is invalid")]
    Url(String),
    #[error("agent registry call {call} failed: {message}")]
    Call { call: &'static str, message: String },
    #[error("agent registry transaction {call} reverted (tx {tx})")]
    Reverted { call: &'static str, tx: B256 },
    #[error("agent {0} is jailed: the operator cannot update or heartbeat it")]
    Jailed(B256),
}

/// What the operator announces for one sandbox.
#[derive(Clone, Debug)]
pub struct Announcement {
    pub service_id: u64,
    pub public_key: [u8; 32],
    pub endpoint: String,
    pub manifest_hash: [u8; 32],
    pub capability_digest: [u8; 32],
}

/// What a keep-alive found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepAlive {
    /// Far from expiry: nothing sent.
    Fresh,
    /// A heartbeat renewed it.
    Renewed,
    /// Not registered, expired or exited: announce it again.
    Missing,
}

#[derive(Clone)]
pub struct RegistryClient {
    /// For reads.
    registry: IAgentRegistryInstance<DynProvider>,
    url: reqwest::Url,
    wallet: EthereumWallet,
    operator: Address,
    ttl: u64,
    region: String,
}

fn call_err(
    call: &'static str,
) -> impl FnOnce(blueprint_sdk::alloy::contract::Error) -> RegistryError {
    move |e| RegistryError::Call {
        call,
        message: e.to_string(),
    }
}

impl RegistryClient {
    pub fn new(
        rpc_url: &str,
        wallet: EthereumWallet,
        operator: Address,
        registry: Address,
        ttl: Duration,
        region: String,
    ) -> Result<Self, RegistryError> {
        let url: reqwest::Url = rpc_url
            .parse()
            .map_err(|_| RegistryError::Url(rpc_url.to_string()))?;
        let reader = ProviderBuilder::new().connect_http(url.clone()).erased();
        Ok(Self {
            registry: IAgentRegistry::new(registry, reader),
            url,
            wallet,
            operator,
            ttl: ttl.as_secs().max(60),
            region,
        })
    }

    /// A registry handle that signs with the operator's key. A fresh provider per transaction
    /// reads the nonce from the chain: the result consumer sends from the same key, so a
    /// cached nonce would go stale.
    fn signer(&self) -> IAgentRegistryInstance<DynProvider> {
        let provider = ProviderBuilder::new()
            .wallet(self.wallet.clone())
            .connect_http(self.url.clone())
            .erased();
        IAgentRegistry::new(*self.registry.address(), provider)
    }

    pub fn agent_id(public_key: &[u8; 32]) -> B256 {
        keccak256(public_key)
    }

    /// Sends one registry transaction from a fresh signer (see [`Self::signer`]) and waits for
    /// its receipt; `make` builds the call on that signer.
    async fn send<C, F>(&self, call: &'static str, make: F) -> Result<(), RegistryError>
    where
        C: CallDecoder,
        F: for<'a> FnOnce(
            &'a IAgentRegistryInstance<DynProvider>,
        ) -> CallBuilder<&'a DynProvider, C>,
    {
        let signer = self.signer();
        let builder = make(&signer);
        // A result submission from the same key may take the nonce between our read and our
        // send; such a transaction is refused before it is mined, so sending again is safe.
        let mut attempt = 0;
        let pending = loop {
            match builder.send().await {
                Ok(p) => break p,
                Err(e) if attempt < 4 && is_nonce_race(&e.to_string()) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(300 * attempt)).await;
                }
                Err(e) => return Err(call_err(call)(e)),
            }
        };
        let receipt = pending
            .get_receipt()
            .await
            .map_err(|e| RegistryError::Call {
                call,
                message: e.to_string(),
            })?;
        if receipt.status() {
            Ok(())
        } else {
            Err(RegistryError::Reverted {
                call,
                tx: receipt.transaction_hash,
            })
        }
    }

    /// Registers the agent, or updates and heartbeats the existing record; returns its id.
    pub async fn announce(&self, a: &Announcement) -> Result<B256, RegistryError> {
        let id = Self::agent_id(&a.public_key);
        let params = AgentParams {
            endpoint: a.endpoint.clone(),
            manifestHash: a.manifest_hash.into(),
            capabilityDigest: a.capability_digest.into(),
            region: self.region.clone(),
        };
        let status = self
            .registry
            .statusOf(id)
            .call()
            .await
            .map_err(call_err("statusOf"))?;
        match status {
            AgentStatus::None | AgentStatus::Exited => {
                let key: B256 = a.public_key.into();
                self.send("register", |r| {
                    r.register(key, a.service_id, self.operator, params, self.ttl)
                })
                .await?;
            }
            AgentStatus::Jailed => return Err(RegistryError::Jailed(id)),
            AgentStatus::Expired => {
                // Revive first (an update does not), then refresh the fields.
                self.send("heartbeat", |r| r.heartbeat(id, self.ttl))
                    .await?;
                self.send("update", |r| r.update(id, params)).await?;
            }
            _ => {
                // Live: refresh the fields; the sweep's keep-alive extends the expiry.
                self.send("update", |r| r.update(id, params)).await?;
            }
        }
        tracing::info!(agent_id = %id, service_id = a.service_id, "agent announced in the registry");
        Ok(id)
    }

    /// Extends the record's expiry when less than half of the TTL is left.
    pub async fn keep_alive(&self, public_key: &[u8; 32]) -> Result<KeepAlive, RegistryError> {
        let id = Self::agent_id(public_key);
        let status = self
            .registry
            .statusOf(id)
            .call()
            .await
            .map_err(call_err("statusOf"))?;
        match status {
            AgentStatus::Jailed => return Err(RegistryError::Jailed(id)),
            AgentStatus::Active => {}
            _ => return Ok(KeepAlive::Missing),
        }
        let rec = self
            .registry
            .getAgent(id)
            .call()
            .await
            .map_err(call_err("getAgent"))?;
        let now = crate::state::now_secs();
        if rec.expiresAt.saturating_sub(now) > self.ttl / 2 {
            return Ok(KeepAlive::Fresh);
        }
        self.send("heartbeat", |r| r.heartbeat(id, self.ttl))
            .await?;
        Ok(KeepAlive::Renewed)
    }

    /// Marks the agent exited (DEPROVISION). Unknown or already exited agents are fine.
    pub async fn exit(&self, public_key: &[u8; 32]) -> Result<(), RegistryError> {
        let id = Self::agent_id(public_key);
        let status = self
            .registry
            .statusOf(id)
            .call()
            .await
            .map_err(call_err("statusOf"))?;
        if matches!(status, AgentStatus::Active | AgentStatus::Expired) {
            self.send("exit", |r| r.exit(id)).await?;
        }
        Ok(())
    }
}

/// Errors that mean another sender from the same key took the nonce.
fn is_nonce_race(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("nonce too low") || m.contains("replacement transaction underpriced")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_races_are_recognised() {
        assert!(is_nonce_race(
            "server returned an error response: error code -32003: nonce too low"
        ));
        assert!(is_nonce_race("Replacement transaction underpriced"));
        assert!(!is_nonce_race("execution reverted: NotAgentOwner"));
        assert_eq!(
            RegistryClient::agent_id(&[0u8; 32]),
            blueprint_sdk::alloy::primitives::keccak256([0u8; 32])
        );
    }
}
