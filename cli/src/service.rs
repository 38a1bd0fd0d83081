//! Service-level chain calls: requesting a service, the service's operators and their
//! sandbox endpoints as recorded by the BSM.

use blueprint_sdk::alloy::primitives::{Address, B256, U256};
use blueprint_sdk::alloy::sol_types::SolEvent;
use blueprint_sdk::clients::tangle::contracts::ITangle;
use serde::Serialize;

use crate::chain::{describe, find_log, send_and_confirm, word_to_u64, Chain};
use crate::output::{fields, short_hex, Render};
use crate::{Error, Result};

/// What to request.
#[derive(Debug, Clone)]
pub struct ServiceRequest {
    /// The blueprint.
    pub blueprint_id: u64,
    /// The operators (each approves the request on its own).
    pub operators: Vec<Address>,
    /// Service lifetime in seconds (0 = unlimited).
    pub ttl: u64,
    /// Extra callers allowed to submit jobs (the requester always may).
    pub permitted_callers: Vec<Address>,
    /// Native payment sent with the request, in wei.
    pub payment_wei: U256,
}

/// A submitted service request.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRequested {
    /// The request id the operators approve.
    pub request_id: u64,
    /// The blueprint.
    pub blueprint_id: u64,
    /// The requested operators.
    pub operators: Vec<Address>,
    /// The requester (a permitted caller of the future service).
    pub requester: Address,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Block of the transaction.
    pub block: Option<u64>,
}

impl Render for ServiceRequested {
    fn human(&self) -> String {
        let ops: Vec<String> = self.operators.iter().map(|a| a.to_string()).collect();
        format!(
            "service request {} for blueprint {} submitted (tx {})\noperators: {}\nEach operator must now approve request {}.",
            self.request_id,
            self.blueprint_id,
            self.tx_hash,
            ops.join(", "),
            self.request_id
        )
    }
}

/// Sends `requestService` and reads the request id from the `ServiceRequested` log.
pub async fn request_service(chain: &Chain, req: &ServiceRequest) -> Result<ServiceRequested> {
    if req.operators.is_empty() {
        return Err(Error::input("--operators must name at least one operator"));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = req.operators.iter().find(|a| !seen.insert(**a)) {
        return Err(Error::input(format!("operator {dup} is listed twice")));
    }
    let requester = chain.sender()?;
    let tangle = chain.tangle();
    let mut call = tangle.requestService(
        req.blueprint_id,
        req.operators.clone(),
        Default::default(),
        req.permitted_callers.clone(),
        req.ttl,
        Address::ZERO,
        req.payment_wei,
        0,
    );
    if req.payment_wei > U256::ZERO {
        call = call.value(req.payment_wei);
    }
    let receipt = send_and_confirm(call, "requestService").await?;
    let log = find_log(
        &receipt,
        chain.tangle_address(),
        ITangle::ServiceRequested::SIGNATURE_HASH,
    )
    .ok_or_else(|| Error::Transaction {
        tx: receipt.transaction_hash.to_string(),
        reason: "no ServiceRequested event in the receipt".into(),
    })?;
    let request_id = match log.topics().get(1) {
        Some(topic) => word_to_u64(topic)?,
        None => {
            return Err(Error::Transaction {
                tx: receipt.transaction_hash.to_string(),
                reason: "ServiceRequested has no request id topic".into(),
            })
        }
    };
    Ok(ServiceRequested {
        request_id,
        blueprint_id: req.blueprint_id,
        operators: req.operators.clone(),
        requester,
        tx_hash: receipt.transaction_hash,
        block: receipt.block_number,
    })
}

/// Where a list of service operators came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorSource {
    /// The BSM's `serviceOperators`.
    Bsm,
    /// Tangle core's `getServiceOperators` (the blueprint has no manager).
    Tangle,
}

/// The operators of `service_id`: the BSM's view when there is a BSM, else Tangle core's.
pub async fn service_operators(
    chain: &Chain,
    service_id: u64,
) -> Result<(Vec<Address>, OperatorSource)> {
    match chain.bsm(service_id).await {
        Ok(bsm) => {
            let ops = bsm.serviceOperators(service_id).call().await.map_err(|e| {
                Error::chain(&format!("serviceOperators({service_id})"), describe(&e))
            })?;
            Ok((ops, OperatorSource::Bsm))
        }
        Err(Error::Input(_)) => {
            let ops = chain
                .tangle()
                .getServiceOperators(service_id)
                .call()
                .await
                .map_err(|e| {
                    Error::chain(&format!("getServiceOperators({service_id})"), describe(&e))
                })?;
            Ok((ops, OperatorSource::Tangle))
        }
        Err(e) => Err(e),
    }
}

/// One operator's sandbox endpoint as the BSM recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// The operator.
    pub operator: Address,
    /// Whether its PROVISION result was recorded.
    pub provisioned: bool,
    /// Sandbox id.
    pub sandbox_id: String,
    /// Sidecar base URL.
    pub sidecar_url: String,
    /// SSH port.
    pub ssh_port: u16,
    /// The sidecar's Ed25519 public key (signs events and receipts).
    pub sidecar_public_key: B256,
    /// keccak256 of the attestation evidence (zero: none).
    pub attestation_hash: B256,
}

/// One entry of `getOperatorEndpoints`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SidecarUrl {
    /// The operator.
    pub operator: Address,
    /// Its sidecar URL.
    pub sidecar_url: String,
}

/// `endpoints`: every operator of the service with its endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointsReport {
    /// The service.
    pub service_id: u64,
    /// The BSM asked.
    pub bsm: Address,
    /// The provisioned operators and their sidecar URLs, from `getOperatorEndpoints`.
    pub sidecar_urls: Vec<SidecarUrl>,
    /// Per operator, from `getOperatorEndpoint` (every service operator).
    pub endpoints: Vec<Endpoint>,
}

impl Render for EndpointsReport {
    fn human(&self) -> String {
        let mut out = format!(
            "service {}: {} operator(s), {} provisioned (BSM {})",
            self.service_id,
            self.endpoints.len(),
            self.endpoints.iter().filter(|e| e.provisioned).count(),
            self.bsm
        );
        for e in &self.endpoints {
            out.push_str(&format!("\n\noperator {}\n", e.operator));
            if !e.provisioned {
                out.push_str("  not provisioned");
                continue;
            }
            let rows = [
                ("  sidecar url", e.sidecar_url.clone()),
                ("  ssh port", e.ssh_port.to_string()),
                ("  sandbox id", e.sandbox_id.clone()),
                ("  sidecar key", e.sidecar_public_key.to_string()),
                (
                    "  attestation",
                    if e.attestation_hash == B256::ZERO {
                        "none".to_owned()
                    } else {
                        format!("keccak {}", short_hex(&e.attestation_hash.to_string()))
                    },
                ),
            ];
            out.push_str(&fields(&rows));
        }
        out
    }
}

/// The endpoint of one operator.
pub async fn endpoint(chain: &Chain, service_id: u64, operator: Address) -> Result<Endpoint> {
    let bsm = chain.bsm(service_id).await?;
    let e = bsm
        .getOperatorEndpoint(service_id, operator)
        .call()
        .await
        .map_err(|e| {
            Error::chain(
                &format!("getOperatorEndpoint({service_id}, {operator})"),
                describe(&e),
            )
        })?;
    Ok(Endpoint {
        operator,
        provisioned: e.provisioned,
        sandbox_id: e.sandboxId,
        sidecar_url: e.sidecarUrl,
        ssh_port: e.sshPort,
        sidecar_public_key: e.sidecarPublicKey,
        attestation_hash: e.attestationHash,
    })
}

/// `getOperatorEndpoints` plus `getOperatorEndpoint` for every operator of the service.
pub async fn endpoints(chain: &Chain, service_id: u64) -> Result<EndpointsReport> {
    let bsm_address = chain.bsm_address(service_id).await?;
    let bsm = chain.bsm(service_id).await?;
    let listed = bsm
        .getOperatorEndpoints(service_id)
        .call()
        .await
        .map_err(|e| Error::chain(&format!("getOperatorEndpoints({service_id})"), describe(&e)))?;
    if listed.operators.len() != listed.sidecarUrls.len() {
        return Err(Error::Inconsistent(format!(
            "getOperatorEndpoints returned {} operators but {} URLs",
            listed.operators.len(),
            listed.sidecarUrls.len()
        )));
    }
    let sidecar_urls: Vec<SidecarUrl> = listed
        .operators
        .iter()
        .zip(&listed.sidecarUrls)
        .map(|(operator, url)| SidecarUrl {
            operator: *operator,
            sidecar_url: url.clone(),
        })
        .collect();
    let (mut operators, _) = service_operators(chain, service_id).await?;
    for s in &sidecar_urls {
        if !operators.contains(&s.operator) {
            operators.push(s.operator);
        }
    }
    let mut out = Vec::with_capacity(operators.len());
    for op in operators {
        out.push(endpoint(chain, service_id, op).await?);
    }
    Ok(EndpointsReport {
        service_id,
        bsm: bsm_address,
        sidecar_urls,
        endpoints: out,
    })
}
