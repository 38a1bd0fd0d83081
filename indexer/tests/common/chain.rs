//! A real anvil (empty chain, the workspace launcher) with the real `AgentRegistry` deployed
//! from forge's artifact, no service manager bound (any address may register).

use agent_types::IAgentRegistry::{self, IAgentRegistryInstance};
use anvil_harness::{Anvil, AnvilOptions};
use blueprint_sdk::alloy::network::{Ethereum, EthereumWallet, TransactionBuilder};
use blueprint_sdk::alloy::primitives::{Address, Bytes, U256};
use blueprint_sdk::alloy::providers::{
    DynProvider, PendingTransactionBuilder, Provider, ProviderBuilder,
};
use blueprint_sdk::alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use blueprint_sdk::alloy::signers::local::PrivateKeySigner;
use blueprint_sdk::alloy::sol_types::SolValue;

/// Anvil account #0: deploys the registry and is its admin (may jail).
pub const ADMIN_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// Anvil account #1: owns the test agents.
pub const OWNER_KEY: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// The address of [`OWNER_KEY`].
pub const OWNER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/// The registry's creation code from `out/` (`forge build -q contracts script`, which
/// script/test.sh runs before the cargo tests). Missing → the test fails.
pub fn registry_creation_code() -> Bytes {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../out/AgentRegistry.sol/AgentRegistry.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "no forge artifact at {path} ({e}): run `.tools/bin/forge build -q contracts script`"
        )
    });
    let doc: serde_json::Value = serde_json::from_str(&text).expect("the artifact is JSON");
    let hex = doc["bytecode"]["object"]
        .as_str()
        .expect("the artifact has bytecode.object");
    hex.parse().expect("bytecode is hex")
}

/// A signing provider. Nonces are asked from the node for every transaction: alloy's default
/// nonce cache would keep counting past an `evm_revert` (the transaction then waits forever
/// in anvil's pool for the missing nonces).
fn provider(url: &str, key: &str) -> DynProvider {
    let signer: PrivateKeySigner = key.parse().expect("test key");
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url.parse().expect("anvil URL"))
        .erased()
}

/// The chain under test.
pub struct TestChain {
    pub anvil: Anvil,
    pub registry: Address,
    /// As the admin (account #0).
    pub admin: IAgentRegistryInstance<DynProvider>,
    /// As the agents' owner (account #1).
    pub owner: IAgentRegistryInstance<DynProvider>,
}

impl TestChain {
    /// Starts anvil and deploys the registry: `new AgentRegistry(admin, address(0))`.
    pub async fn start() -> Self {
        let code = registry_creation_code();
        let anvil = tokio::task::spawn_blocking(|| AnvilOptions::empty().spawn())
            .await
            .expect("the launcher does not panic")
            .unwrap_or_else(|e| panic!("anvil: {e} (run script/setup.sh)"));
        let admin_provider = provider(&anvil.http, ADMIN_KEY);
        let admin_address = admin_provider
            .get_accounts()
            .await
            .expect("accounts")
            .first()
            .copied()
            .expect("anvil has dev accounts");
        let mut deploy = code.to_vec();
        deploy.extend((admin_address, Address::ZERO).abi_encode_params());
        let receipt = admin_provider
            .send_transaction(TransactionRequest::default().with_deploy_code(deploy))
            .await
            .expect("deploy sent")
            .get_receipt()
            .await
            .expect("deploy receipt");
        assert!(receipt.status(), "registry deployment reverted");
        let registry = receipt.contract_address.expect("a contract address");
        let chain = Self {
            admin: IAgentRegistry::new(registry, admin_provider),
            owner: IAgentRegistry::new(registry, provider(&anvil.http, OWNER_KEY)),
            anvil,
            registry,
        };
        let admin = chain.admin.admin().call().await.expect("admin()");
        assert_eq!(admin, admin_address);
        let bsm = chain
            .admin
            .serviceManager()
            .call()
            .await
            .expect("serviceManager()");
        assert_eq!(bsm, Address::ZERO, "no service manager bound");
        chain
    }

    fn rpc(&self) -> &DynProvider {
        self.admin.provider()
    }

    async fn raw(&self, method: &'static str, params: serde_json::Value) -> serde_json::Value {
        self.rpc()
            .raw_request(method.into(), params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Mines `n` empty blocks.
    pub async fn mine(&self, n: u64) {
        for _ in 0..n {
            self.raw("evm_mine", serde_json::json!([])).await;
        }
    }

    /// Moves chain time forward by `seconds` (effective from the next block).
    pub async fn increase_time(&self, seconds: u64) {
        self.raw("evm_increaseTime", serde_json::json!([seconds]))
            .await;
    }

    /// `evm_snapshot`: an id to revert to.
    pub async fn snapshot(&self) -> U256 {
        let id = self.raw("evm_snapshot", serde_json::json!([])).await;
        serde_json::from_value(id).expect("a snapshot id")
    }

    /// `evm_revert` to `id`: every block after the snapshot is dropped.
    pub async fn revert(&self, id: U256) {
        let ok = self.raw("evm_revert", serde_json::json!([id])).await;
        assert_eq!(ok, serde_json::Value::Bool(true), "evm_revert({id})");
    }

    pub async fn head(&self) -> u64 {
        self.rpc().get_block_number().await.expect("block number")
    }

    /// `block.timestamp` of the latest block.
    pub async fn time(&self) -> u64 {
        self.rpc()
            .get_block_by_number(Default::default())
            .await
            .expect("latest block")
            .expect("a latest block")
            .header
            .timestamp
    }
}

/// Waits for a sent contract call and checks that it succeeded.
pub async fn confirm(
    sent: Result<PendingTransactionBuilder<Ethereum>, blueprint_sdk::alloy::contract::Error>,
    what: &str,
) -> TransactionReceipt {
    let receipt = sent
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .get_receipt()
        .await
        .unwrap_or_else(|e| panic!("{what} receipt: {e}"));
    assert!(receipt.status(), "{what} reverted");
    receipt
}
