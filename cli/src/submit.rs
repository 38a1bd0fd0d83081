//! Submitting a job: `ITangle.submitJob(serviceId, jobIndex, abi.encode(request))` with the
//! job's price as value, and the call id from the receipt.
//!
//! ABI note: the deployed `JobSubmitted` has `jobIndex` NOT indexed (topics = signature,
//! serviceId, callId), unlike the bindings, so the call id is read from `topics[2]` by hand.

use agent_types::Job;
use blueprint_sdk::alloy::primitives::{B256, U256};
use blueprint_sdk::alloy::sol_types::SolEvent;
use blueprint_sdk::clients::tangle::contracts::ITangle;
use serde::Serialize;
use serde_json::Value;

use crate::chain::{describe, find_log, send_and_confirm, word_to_u64, Chain};
use crate::jobs::JobInput;
use crate::output::Render;
use crate::{Error, Result};

/// `PricingModel.EventDriven` in tnt-core's `Types.sol` (`PayOnce, Subscription, EventDriven`).
pub const PRICING_EVENT_DRIVEN: u8 = 2;

/// The price of one call of `job` on `service_id`: the blueprint's job event rate for
/// event-driven services, zero otherwise.
pub async fn job_price(chain: &Chain, service_id: u64, job: Job) -> Result<U256> {
    let tangle = chain.tangle();
    let service = tangle
        .getService(service_id)
        .call()
        .await
        .map_err(|e| Error::chain(&format!("getService({service_id})"), describe(&e)))?;
    if service.pricing != PRICING_EVENT_DRIVEN {
        return Ok(U256::ZERO);
    }
    tangle
        .getJobEventRate(service.blueprintId, job.id())
        .call()
        .await
        .map_err(|e| {
            Error::chain(
                &format!("getJobEventRate({}, {})", service.blueprintId, job.id()),
                describe(&e),
            )
        })
}

/// A submitted job call.
#[derive(Debug, Clone, Serialize)]
pub struct Submitted {
    /// The service.
    pub service_id: u64,
    /// The call id (use it with `wait` and `results`).
    pub call_id: u64,
    /// The job name.
    pub job: String,
    /// The job index.
    pub job_index: u8,
    /// The inputs as JSON.
    pub input: Value,
    /// Native value paid, in wei (a decimal string).
    #[serde(serialize_with = "crate::output::decimal")]
    pub value_wei: U256,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Block of the transaction (results are searched from here).
    pub block: u64,
}

impl Render for Submitted {
    fn human(&self) -> String {
        let mut out = format!(
            "{} submitted to service {}: call id {} (block {}, tx {}, paid {} wei)",
            self.job, self.service_id, self.call_id, self.block, self.tx_hash, self.value_wei
        );
        // The nonce must be found again in the operators' attestation quotes.
        if let Some(nonce) = self.input.get("attestation_nonce").and_then(Value::as_str) {
            out.push_str(&format!("\nattestation nonce {nonce}"));
        }
        out
    }
}

/// Submits `input` to `service_id`, paying `value` (default: [`job_price`]).
pub async fn submit_job(
    chain: &Chain,
    service_id: u64,
    input: &JobInput,
    value: Option<U256>,
) -> Result<Submitted> {
    chain.sender()?;
    let job = input.job();
    let value = match value {
        Some(v) => v,
        None => job_price(chain, service_id, job).await?,
    };
    let tangle = chain.tangle();
    let mut call = tangle.submitJob(service_id, job.id(), input.encode().into());
    if value > U256::ZERO {
        call = call.value(value);
    }
    let receipt = send_and_confirm(call, &format!("submitJob({service_id}, {job})")).await?;
    let tx = receipt.transaction_hash;
    let log = find_log(
        &receipt,
        chain.tangle_address(),
        ITangle::JobSubmitted::SIGNATURE_HASH,
    )
    .ok_or_else(|| Error::Transaction {
        tx: tx.to_string(),
        reason: "no JobSubmitted event in the receipt".into(),
    })?;
    let call_id =
        call_id_from_topics(log.topics(), service_id).map_err(|reason| Error::Transaction {
            tx: tx.to_string(),
            reason,
        })?;
    Ok(Submitted {
        service_id,
        call_id,
        job: job.name().to_owned(),
        job_index: job.id(),
        input: input.to_json(),
        value_wei: value,
        tx_hash: tx,
        block: receipt.block_number.unwrap_or_default(),
    })
}

/// The call id of a `JobSubmitted` log: topics are `[signature, serviceId, callId, ...]`.
pub fn call_id_from_topics(topics: &[B256], service_id: u64) -> Result<u64, String> {
    let (Some(sid), Some(cid)) = (topics.get(1), topics.get(2)) else {
        return Err(format!(
            "JobSubmitted has {} topics, expected at least 3",
            topics.len()
        ));
    };
    let sid = word_to_u64(sid).map_err(|e| e.to_string())?;
    if sid != service_id {
        return Err(format!(
            "JobSubmitted names service {sid}, expected {service_id}"
        ));
    }
    word_to_u64(cid).map_err(|e| e.to_string())
}
