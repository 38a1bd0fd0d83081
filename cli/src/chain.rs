//! Chain access: the RPC provider, the customer's wallet, the Tangle core contract and the
//! blueprint service manager (BSM). Everything Ethereum goes through `blueprint_sdk::alloy`.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use agent_types::IAgentInstanceBlueprint::{self, IAgentInstanceBlueprintInstance};
use blueprint_sdk::alloy::contract::Error as ContractError;
use blueprint_sdk::alloy::network::EthereumWallet;
use blueprint_sdk::alloy::primitives::{Address, B256};
use blueprint_sdk::alloy::providers::{DynProvider, Provider, ProviderBuilder};
use blueprint_sdk::alloy::rpc::types::{Log, TransactionReceipt};
use blueprint_sdk::alloy::signers::local::PrivateKeySigner;
use blueprint_sdk::alloy::transports::http::reqwest::Url;
use blueprint_sdk::clients::tangle::contracts::ITangle::{self, ITangleInstance};
use clap::Args;

use crate::{Error, Result};

/// The RPC endpoint of a local anvil.
pub const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8545";
/// Tangle core in the SDK's seeded local chain.
pub const SEEDED_TANGLE: &str = "0x0165878A594ca255338adfa4d48449f69242Eb8F";

/// The customer's secp256k1 key. Its `Debug` shows only the address: the key is never printed.
#[derive(Clone)]
pub struct PrivateKey(PrivateKeySigner);

impl PrivateKey {
    /// The account's address.
    pub fn address(&self) -> Address {
        self.0.address()
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(<redacted> for {})", self.0.address())
    }
}

impl FromStr for PrivateKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        PrivateKeySigner::from_str(s.trim()).map(Self).map_err(|_| {
            Error::input("the private key must be 32 bytes of hex (with or without 0x)")
        })
    }
}

/// Chain options shared by every command that talks to the chain.
#[derive(Debug, Clone, Args)]
pub struct ChainOpts {
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "AGENT_RPC_URL", default_value = DEFAULT_RPC_URL, global = true)]
    pub rpc_url: String,
    /// Address of the Tangle core contract.
    #[arg(long, env = "AGENT_TANGLE_CONTRACT", default_value = SEEDED_TANGLE, global = true)]
    pub tangle: Address,
    /// Address of the blueprint service manager (default: the blueprint's manager on Tangle).
    #[arg(long, env = "AGENT_BSM", global = true)]
    pub bsm: Option<Address>,
    /// The customer's private key (hex); needed to send transactions. Never printed.
    #[arg(long, env = "AGENT_PRIVATE_KEY", hide_env_values = true, global = true)]
    pub private_key: Option<PrivateKey>,
}

impl ChainOpts {
    /// Options for `rpc_url` and the seeded Tangle address, without a key or BSM.
    pub fn new(rpc_url: impl Into<String>, tangle: Address) -> Self {
        Self {
            rpc_url: rpc_url.into(),
            tangle,
            bsm: None,
            private_key: None,
        }
    }
}

/// A connection to the chain: provider (with the wallet when a key was given) and addresses.
#[derive(Debug, Clone)]
pub struct Chain {
    provider: DynProvider,
    tangle: Address,
    bsm: Option<Address>,
    sender: Option<Address>,
    /// Service managers already looked up, by service id.
    managers: Arc<Mutex<HashMap<u64, Address>>>,
}

impl Chain {
    /// Connects (lazily: no request is made here).
    pub fn connect(opts: &ChainOpts) -> Result<Self> {
        let url = Url::parse(&opts.rpc_url)
            .map_err(|e| Error::input(format!("--rpc-url {:?}: {e}", opts.rpc_url)))?;
        let (provider, sender) = match &opts.private_key {
            Some(key) => {
                let wallet = EthereumWallet::from(key.0.clone());
                let p = ProviderBuilder::new().wallet(wallet).connect_http(url);
                (p.erased(), Some(key.address()))
            }
            None => (ProviderBuilder::new().connect_http(url).erased(), None),
        };
        Ok(Self {
            provider,
            tangle: opts.tangle,
            bsm: opts.bsm,
            sender,
            managers: Arc::default(),
        })
    }

    /// The provider.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The Tangle core address.
    pub fn tangle_address(&self) -> Address {
        self.tangle
    }

    /// The Tangle core contract.
    pub fn tangle(&self) -> ITangleInstance<DynProvider> {
        ITangle::new(self.tangle, self.provider.clone())
    }

    /// The customer's address, or an error naming the missing option.
    pub fn sender(&self) -> Result<Address> {
        self.sender.ok_or_else(|| {
            Error::input(
                "this command sends a transaction: give --private-key or AGENT_PRIVATE_KEY",
            )
        })
    }

    /// The BSM of `service_id`: `--bsm`, else the manager of the service's blueprint.
    pub async fn bsm_address(&self, service_id: u64) -> Result<Address> {
        if let Some(bsm) = self.bsm {
            return Ok(bsm);
        }
        if let Some(known) = self
            .managers
            .lock()
            .ok()
            .and_then(|m| m.get(&service_id).copied())
        {
            return Ok(known);
        }
        let tangle = self.tangle();
        let service = tangle
            .getService(service_id)
            .call()
            .await
            .map_err(|e| Error::chain(&format!("getService({service_id})"), describe(&e)))?;
        let blueprint = tangle
            .getBlueprint(service.blueprintId)
            .call()
            .await
            .map_err(|e| {
                Error::chain(
                    &format!("getBlueprint({})", service.blueprintId),
                    describe(&e),
                )
            })?;
        if blueprint.manager == Address::ZERO {
            return Err(Error::input(format!(
                "blueprint {} of service {service_id} has no service manager; give --bsm",
                service.blueprintId
            )));
        }
        if let Ok(mut known) = self.managers.lock() {
            known.insert(service_id, blueprint.manager);
        }
        Ok(blueprint.manager)
    }

    /// The BSM contract of `service_id`.
    pub async fn bsm(
        &self,
        service_id: u64,
    ) -> Result<IAgentInstanceBlueprintInstance<DynProvider>> {
        let address = self.bsm_address(service_id).await?;
        Ok(IAgentInstanceBlueprint::new(address, self.provider.clone()))
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64> {
        self.provider
            .get_block_number()
            .await
            .map_err(|e| Error::chain("eth_blockNumber", e))
    }
}

blueprint_sdk::alloy::sol! {
    /// Tangle core errors a customer meets (selectors checked against the seeded chain; the
    /// published bindings carry no error ABI).
    interface TangleCoreErrors {
        error NotPermittedCaller(uint64 serviceId, address caller);
        error JobAlreadyCompleted(uint64 serviceId, uint64 callId);
        error OperatorNotInService(uint64 serviceId, address operator);
    }
}

/// A readable description of a contract call error, decoding Tangle core's and the BSM's
/// custom errors.
pub fn describe(e: &ContractError) -> String {
    use IAgentInstanceBlueprint::IAgentInstanceBlueprintErrors as E;
    use TangleCoreErrors::TangleCoreErrorsErrors as T;
    match e.as_decoded_interface_error::<T>() {
        Some(T::NotPermittedCaller(x)) => {
            return format!(
                "Tangle reverted: {} is not a permitted caller of service {}",
                x.caller, x.serviceId
            )
        }
        Some(T::JobAlreadyCompleted(x)) => {
            return format!(
                "Tangle reverted: call {} of service {} is already completed",
                x.callId, x.serviceId
            )
        }
        Some(T::OperatorNotInService(x)) => {
            return format!(
                "Tangle reverted: {} is not an operator of service {}",
                x.operator, x.serviceId
            )
        }
        None => {}
    }
    match e.as_decoded_interface_error::<E>() {
        Some(E::ServiceNotActive(x)) => format!("the service manager reverted: service {} is not active", x.serviceId),
        Some(E::UnknownJob(x)) => format!("the service manager reverted: unknown job {}", x.job),
        Some(E::NoProvisionedOperator(x)) => format!(
            "the service manager reverted: no operator of service {} is provisioned yet (run PROVISION first)",
            x.serviceId
        ),
        Some(E::MalformedJobInputs(x)) => {
            format!("the service manager reverted: inputs of job {} are not canonical", x.job)
        }
        Some(E::InvalidJobInput(x)) => format!(
            "the service manager reverted: job {} input field {:?} is invalid",
            x.job, x.field
        ),
        Some(E::NonCanonicalEncoding(_)) => "the service manager reverted: non-canonical encoding".into(),
        None => match e.as_revert_data() {
            Some(data) if data.len() >= 4 => format!("reverted with selector 0x{} ({e})", hex::encode(&data[..4])),
            _ => e.to_string(),
        },
    }
}

/// The first log of `receipt` emitted by `address` with `topic0`.
pub fn find_log(receipt: &TransactionReceipt, address: Address, topic0: B256) -> Option<&Log> {
    receipt
        .logs()
        .iter()
        .find(|log| log.address() == address && log.topics().first() == Some(&topic0))
}

/// A `uint64` from a 32-byte topic or ABI word (the low 8 bytes; the rest must be zero).
pub fn word_to_u64(word: &B256) -> Result<u64> {
    let bytes = word.as_slice();
    if bytes[..24].iter().any(|b| *b != 0) {
        return Err(Error::Decode {
            what: "uint64 word".into(),
            reason: format!("{word} does not fit in 64 bits"),
        });
    }
    let mut low = [0u8; 8];
    low.copy_from_slice(&bytes[24..]);
    Ok(u64::from_be_bytes(low))
}

/// Sends a prepared call and waits for its receipt; a revert becomes [`Error::Transaction`].
pub async fn send_and_confirm<D>(
    call: blueprint_sdk::alloy::contract::CallBuilder<&DynProvider, D>,
    what: &str,
) -> Result<TransactionReceipt>
where
    D: blueprint_sdk::alloy::contract::CallDecoder,
{
    let pending = call
        .send()
        .await
        .map_err(|e| Error::chain(what, describe(&e)))?;
    let tx = format!("{}", pending.tx_hash());
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|e| Error::Transaction {
            tx: tx.clone(),
            reason: format!("{what}: {e}"),
        })?;
    if !receipt.status() {
        return Err(Error::Transaction {
            tx,
            reason: format!("{what} reverted"),
        });
    }
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_key_is_never_printed() {
        let hex = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        let key: PrivateKey = hex.parse().expect("key");
        let shown = format!("{key:?}");
        assert!(!shown.contains(hex));
        assert!(shown.contains("0xf39F"));
        assert!("nothex".parse::<PrivateKey>().is_err());
    }

    #[test]
    fn words_decode_to_u64() {
        let mut w = B256::ZERO;
        w.0[31] = 7;
        assert_eq!(word_to_u64(&w).expect("fits"), 7);
        w.0[0] = 1;
        assert!(word_to_u64(&w).is_err());
    }
}
