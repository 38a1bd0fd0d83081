//! Waiting for a job call's results: polls Tangle core's `getJobCall` until the call is
//! completed (the required number of results arrived) and reads every operator's
//! `JobResultSubmitted` event. On timeout it names the operators that did not answer.

use std::time::{Duration, Instant};

use agent_types::Job;
use blueprint_sdk::alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use blueprint_sdk::alloy::providers::Provider;
use blueprint_sdk::alloy::rpc::types::Filter;
use blueprint_sdk::alloy::sol_types::SolEvent;
use blueprint_sdk::clients::tangle::contracts::{IBlueprintServiceManager, ITangle};
use serde::Serialize;
use serde_json::Value;

use crate::chain::{describe, Chain};
use crate::jobs::JobOutput;
use crate::output::{Render, Spinner};
use crate::service::{service_operators, OperatorSource};
use crate::{Error, Result};

/// One operator's on-chain result.
#[derive(Debug, Clone, Serialize)]
pub struct OperatorResult {
    /// The operator.
    pub operator: Address,
    /// Block of the `JobResultSubmitted` event.
    pub block: Option<u64>,
    /// Transaction of the event.
    pub tx_hash: Option<B256>,
    /// keccak256 of the result bytes (what the BSM stores).
    pub result_hash: B256,
    /// The raw result bytes.
    pub raw: Bytes,
    /// The decoded result, when it decodes.
    pub decoded: Option<Value>,
    /// Why it does not decode.
    pub decode_error: Option<String>,
    /// Human summary of the decoded result.
    #[serde(skip)]
    pub summary: Option<String>,
}

impl OperatorResult {
    /// Builds the entry for `operator`'s result bytes of `job`.
    pub fn new(
        job: Job,
        operator: Address,
        raw: Bytes,
        block: Option<u64>,
        tx_hash: Option<B256>,
    ) -> Self {
        let (decoded, summary, decode_error) = match JobOutput::decode(job, &raw) {
            Ok(out) => (Some(out.to_json()), Some(out.summary()), None),
            Err(e) => (None, None, Some(e.to_string())),
        };
        Self {
            operator,
            block,
            tx_hash,
            result_hash: keccak256(&raw),
            raw,
            decoded,
            decode_error,
            summary,
        }
    }
}

/// One `JobResultSubmitted` event.
#[derive(Debug, Clone)]
pub struct ResultEvent {
    /// The call.
    pub call_id: u64,
    /// The submitting operator.
    pub operator: Address,
    /// The result bytes.
    pub result: Bytes,
    /// Block of the event.
    pub block: Option<u64>,
    /// Transaction of the event.
    pub tx_hash: Option<B256>,
}

/// Every `JobResultSubmitted` of `service_id` (and `call_id`, if given) from `from_block` on,
/// in chain order.
pub async fn result_events(
    chain: &Chain,
    service_id: u64,
    call_id: Option<u64>,
    from_block: u64,
) -> Result<Vec<ResultEvent>> {
    let mut filter = Filter::new()
        .address(chain.tangle_address())
        .event_signature(ITangle::JobResultSubmitted::SIGNATURE_HASH)
        .topic1(B256::from(U256::from(service_id)))
        .from_block(from_block);
    if let Some(call) = call_id {
        filter = filter.topic2(B256::from(U256::from(call)));
    }
    let logs = chain
        .provider()
        .get_logs(&filter)
        .await
        .map_err(|e| Error::chain("eth_getLogs(JobResultSubmitted)", e))?;
    let mut out = Vec::with_capacity(logs.len());
    for log in logs {
        let decoded = log
            .log_decode::<ITangle::JobResultSubmitted>()
            .map_err(|e| Error::Decode {
                what: "JobResultSubmitted log".into(),
                reason: e.to_string(),
            })?;
        let ev = decoded.inner.data;
        out.push(ResultEvent {
            call_id: ev.callId,
            operator: ev.operator,
            result: ev.result,
            block: log.block_number,
            tx_hash: log.transaction_hash,
        });
    }
    Ok(out)
}

/// The state of one job call.
#[derive(Debug, Clone, Serialize)]
pub struct WaitReport {
    /// The service.
    pub service_id: u64,
    /// The call.
    pub call_id: u64,
    /// Job name.
    pub job: String,
    /// Job index.
    pub job_index: u8,
    /// Tangle core considers the call complete.
    pub completed: bool,
    /// The wait ended because of the timeout.
    pub timed_out: bool,
    /// Results Tangle counted.
    pub result_count: u32,
    /// Results the service manager requires (when it can be asked).
    pub required: Option<u32>,
    /// The service's operators.
    pub operators: Vec<Address>,
    /// Where the operator list came from.
    pub operator_source: OperatorSource,
    /// The results on chain, in event order.
    pub results: Vec<OperatorResult>,
    /// Operators of the service without a result.
    pub missing: Vec<Address>,
    /// Time waited, in milliseconds.
    pub waited_ms: u64,
}

impl WaitReport {
    /// Builds the report from the chain's answers (pure; used by tests).
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        service_id: u64,
        call_id: u64,
        job: Job,
        completed: bool,
        timed_out: bool,
        result_count: u32,
        required: Option<u32>,
        operators: Vec<Address>,
        operator_source: OperatorSource,
        results: Vec<OperatorResult>,
        waited: Duration,
    ) -> Self {
        let missing = operators
            .iter()
            .filter(|op| !results.iter().any(|r| r.operator == **op))
            .copied()
            .collect();
        Self {
            service_id,
            call_id,
            job: job.name().to_owned(),
            job_index: job.id(),
            completed,
            timed_out,
            result_count,
            required,
            operators,
            operator_source,
            results,
            missing,
            waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl Render for WaitReport {
    fn human(&self) -> String {
        let required = self
            .required
            .map_or_else(String::new, |r| format!(", {r} required"));
        let mut out = format!(
            "{} call {} on service {}: {} ({} result(s){required}, {} operator(s))",
            self.job,
            self.call_id,
            self.service_id,
            if self.completed {
                "COMPLETED"
            } else {
                "INCOMPLETE"
            },
            self.result_count,
            self.operators.len()
        );
        for r in &self.results {
            out.push_str(&format!(
                "\n\n[{}] result hash {}",
                r.operator, r.result_hash
            ));
            match (&r.summary, &r.decode_error) {
                (Some(s), _) => out.push_str(&format!("\n  {s}")),
                (None, Some(e)) => out.push_str(&format!("\n  undecodable: {e}")),
                (None, None) => {}
            }
        }
        if !self.missing.is_empty() {
            let names: Vec<String> = self.missing.iter().map(|a| a.to_string()).collect();
            out.push_str(&format!("\n\nno result from: {}", names.join(", ")));
        }
        if self.timed_out {
            out.push_str(&format!("\ntimed out after {} ms", self.waited_ms));
        }
        out
    }
}

/// How long and from where to wait.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// Poll interval.
    pub poll: Duration,
    /// First block to search for result events.
    pub from_block: u64,
}

/// Waits for `call_id` of `service_id` to complete (or the timeout) and reports every result.
pub async fn wait_for_results(
    chain: &Chain,
    service_id: u64,
    call_id: u64,
    opts: WaitOptions,
    spinner: &Spinner,
) -> Result<WaitReport> {
    let started = Instant::now();
    let tangle = chain.tangle();
    let (operators, source) = service_operators(chain, service_id).await?;
    let mut required = None;
    loop {
        let call = tangle
            .getJobCall(service_id, call_id)
            .call()
            .await
            .map_err(|e| {
                Error::chain(
                    &format!("getJobCall({service_id}, {call_id})"),
                    describe(&e),
                )
            })?;
        if call.createdAt == 0 {
            return Err(Error::input(format!(
                "service {service_id} has no job call {call_id}"
            )));
        }
        let this_job = Job::try_from(call.jobIndex)
            .map_err(|e| Error::Inconsistent(format!("call {call_id}: {e}")))?;
        if required.is_none() && source == OperatorSource::Bsm {
            required = required_results(chain, service_id, this_job).await;
        }
        let events = result_events(chain, service_id, Some(call_id), opts.from_block).await?;
        let timed_out = !call.completed && started.elapsed() >= opts.timeout;
        spinner.set_message(format!(
            "{this_job} call {call_id}: {} of {} result(s)",
            events.len(),
            required.map_or_else(|| operators.len().to_string(), |r| r.to_string())
        ));
        if call.completed || timed_out {
            let results = events
                .into_iter()
                .map(|e| OperatorResult::new(this_job, e.operator, e.result, e.block, e.tx_hash))
                .collect();
            return Ok(WaitReport::build(
                service_id,
                call_id,
                this_job,
                call.completed,
                timed_out,
                call.resultCount,
                required,
                operators,
                source,
                results,
                started.elapsed(),
            ));
        }
        tokio::time::sleep(opts.poll).await;
    }
}

/// The BSM's `getRequiredResultCount` (None when it cannot be read).
async fn required_results(chain: &Chain, service_id: u64, job: Job) -> Option<u32> {
    let bsm = chain.bsm_address(service_id).await.ok()?;
    IBlueprintServiceManager::new(bsm, chain.provider().clone())
        .getRequiredResultCount(service_id, job.id())
        .call()
        .await
        .ok()
}
