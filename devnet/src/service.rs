//! The Tangle side of the devnet: operators register for our blueprint, the customer requests
//! a service with all of them, and each approves it (the last approval activates it).

use std::path::{Path, PathBuf};

use blueprint_sdk::alloy::primitives::{Address, Bytes, U256};
use blueprint_sdk::clients::tangle::{
    ServiceRequestParams, TangleClient, TangleClientConfig, TangleSettings, TransactionResult,
};

use crate::accounts::{STAKING, STATUS_REGISTRY, TANGLE};
use crate::DevnetError;

/// An account with its own keystore directory (exactly one ECDSA key, as the runner needs).
#[derive(Clone, Debug)]
pub struct Account {
    pub name: String,
    pub address: Address,
    pub keystore: PathBuf,
}

impl Account {
    /// Creates `<dir>/keystore` holding `key`.
    pub fn create(name: &str, key: &str, dir: &Path) -> Result<Self, DevnetError> {
        let keystore = dir.join("keystore");
        let address = operator::keystore::import_key(&keystore, key)
            .map_err(|e| DevnetError::Setup(format!("{name}: {e}")))?;
        Ok(Self {
            name: name.to_string(),
            address,
            keystore,
        })
    }

    /// A Tangle client signing as this account.
    pub async fn client(
        &self,
        rpc: &str,
        ws: &str,
        blueprint_id: u64,
        service_id: Option<u64>,
    ) -> Result<TangleClient, DevnetError> {
        let settings = TangleSettings {
            blueprint_id,
            service_id,
            tangle_contract: TANGLE,
            staking_contract: STAKING,
            status_registry_contract: STATUS_REGISTRY,
        };
        let parse = |u: &str| -> Result<reqwest::Url, DevnetError> {
            u.parse()
                .map_err(|e| DevnetError::Setup(format!("url {u}: {e}")))
        };
        let config = TangleClientConfig::new(
            parse(rpc)?,
            parse(ws)?,
            self.keystore.display().to_string(),
            settings,
        )
        .test_mode(true);
        TangleClient::new(config)
            .await
            .map_err(|e| DevnetError::Chain(format!("{} client: {e}", self.name)))
    }
}

fn tx_ok(what: &str, r: &TransactionResult) -> Result<(), DevnetError> {
    if r.success {
        Ok(())
    } else {
        Err(DevnetError::Chain(format!(
            "{what} reverted (tx {})",
            r.tx_hash
        )))
    }
}

/// Registers every operator for the blueprint, requests a service with all of them from the
/// customer and has each approve; returns the new service id.
pub async fn create_service(
    rpc: &str,
    ws: &str,
    blueprint_id: u64,
    customer: &Account,
    operators: &[(Account, String)],
) -> Result<u64, DevnetError> {
    for (op, rpc_address) in operators {
        let client = op.client(rpc, ws, blueprint_id, None).await?;
        let r = client
            .register_operator(blueprint_id, rpc_address.clone(), None)
            .await
            .map_err(|e| DevnetError::Chain(format!("register {}: {e}", op.name)))?;
        tx_ok(&format!("registerOperator({})", op.name), &r)?;
    }
    let customer_client = customer.client(rpc, ws, blueprint_id, None).await?;
    let params = ServiceRequestParams {
        blueprint_id,
        operators: operators.iter().map(|(o, _)| o.address).collect(),
        operator_exposures: None,
        permitted_callers: Vec::new(),
        config: Bytes::new(),
        ttl: 0,
        payment_token: Address::ZERO,
        payment_amount: U256::ZERO,
        security_requirements: Vec::new(),
    };
    let (r, request_id) = customer_client
        .request_service(params)
        .await
        .map_err(|e| DevnetError::Chain(format!("requestService: {e}")))?;
    tx_ok("requestService", &r)?;
    let mut service_id = None;
    for (op, _) in operators {
        let client = op.client(rpc, ws, blueprint_id, None).await?;
        let r = client
            .approve_service(request_id)
            .await
            .map_err(|e| DevnetError::Chain(format!("approve by {}: {e}", op.name)))?;
        tx_ok(&format!("approveService({})", op.name), &r)?;
        service_id = Some(
            client
                .service_count()
                .await
                .map_err(|e| DevnetError::Chain(e.to_string()))?,
        );
    }
    let count = service_id.ok_or_else(|| DevnetError::Setup("no operators".into()))?;
    Ok(count.saturating_sub(1))
}
