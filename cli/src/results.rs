//! Per-operator result hashes of a call and their consensus, from the BSM
//! (`getJobResultHashes`, `getConsensus`), with the operators outside the majority marked.

use std::collections::BTreeMap;

use blueprint_sdk::alloy::primitives::{Address, B256};
use serde::Serialize;

use crate::chain::{describe, Chain};
use crate::output::Render;
use crate::service::service_operators;
use crate::{Error, Result};

/// One operator's recorded hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HashEntry {
    /// The operator.
    pub operator: Address,
    /// keccak256 of its result bytes.
    pub hash: B256,
    /// Whether its hash is the consensus hash.
    pub agrees: bool,
}

/// The BSM's consensus view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consensus {
    /// The hash most operators returned (zero when nobody answered).
    pub top_hash: B256,
    /// Operators behind `top_hash`.
    pub agreeing: u32,
    /// Operators that answered.
    pub answered: u32,
}

/// `results`: hashes, consensus, minority and missing operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultsReport {
    /// The service.
    pub service_id: u64,
    /// The call.
    pub call_id: u64,
    /// Per operator, in the BSM's order.
    pub hashes: Vec<HashEntry>,
    /// The BSM's consensus view.
    pub consensus: Consensus,
    /// Every answering operator agrees.
    pub unanimous: bool,
    /// More than half of the answering operators agree on `top_hash`.
    pub majority: bool,
    /// Another hash has as many operators as `top_hash` (no consensus).
    pub tie: bool,
    /// Operators whose hash differs from `top_hash`.
    pub minority: Vec<Address>,
    /// Operators of the service with no recorded hash.
    pub missing: Vec<Address>,
}

impl ResultsReport {
    /// Builds the report from the BSM's answers (pure; checked by tests).
    pub fn build(
        service_id: u64,
        call_id: u64,
        service_operators: &[Address],
        operators: &[Address],
        hashes: &[B256],
        consensus: Consensus,
    ) -> Result<Self> {
        if operators.len() != hashes.len() {
            return Err(Error::Inconsistent(format!(
                "getJobResultHashes returned {} operators but {} hashes",
                operators.len(),
                hashes.len()
            )));
        }
        let mut votes: BTreeMap<B256, u32> = BTreeMap::new();
        for h in hashes {
            *votes.entry(*h).or_default() += 1;
        }
        let top_votes = votes.get(&consensus.top_hash).copied().unwrap_or(0);
        let tie = votes
            .iter()
            .any(|(h, v)| *h != consensus.top_hash && *v == top_votes && top_votes > 0);
        let entries: Vec<HashEntry> = operators
            .iter()
            .zip(hashes)
            .map(|(op, h)| HashEntry {
                operator: *op,
                hash: *h,
                agrees: *h == consensus.top_hash,
            })
            .collect();
        let minority = entries
            .iter()
            .filter(|e| !e.agrees)
            .map(|e| e.operator)
            .collect();
        let missing = service_operators
            .iter()
            .filter(|op| !operators.contains(op))
            .copied()
            .collect();
        Ok(Self {
            service_id,
            call_id,
            unanimous: !entries.is_empty() && votes.len() == 1,
            majority: u64::from(consensus.agreeing) * 2 > u64::from(consensus.answered),
            tie,
            minority,
            missing,
            hashes: entries,
            consensus,
        })
    }
}

impl Render for ResultsReport {
    fn human(&self) -> String {
        let mut out = format!(
            "call {} on service {}: {} of {} answering operator(s) agree on {}",
            self.call_id,
            self.service_id,
            self.consensus.agreeing,
            self.consensus.answered,
            self.consensus.top_hash
        );
        for e in &self.hashes {
            let mark = if e.agrees { "agrees" } else { "MINORITY" };
            out.push_str(&format!("\n  {}  {}  {mark}", e.operator, e.hash));
        }
        for op in &self.missing {
            out.push_str(&format!("\n  {op}  (no result)"));
        }
        let verdict = if self.consensus.answered == 0 {
            "no results yet"
        } else if self.tie {
            "NO CONSENSUS: tie between hashes"
        } else if self.unanimous {
            "unanimous"
        } else if self.majority {
            "majority agrees; minority marked"
        } else {
            "NO MAJORITY"
        };
        out.push_str(&format!("\n{verdict}"));
        out
    }
}

/// Reads hashes and consensus of `(service_id, call_id)` from the BSM.
pub async fn fetch(chain: &Chain, service_id: u64, call_id: u64) -> Result<ResultsReport> {
    let bsm = chain.bsm(service_id).await?;
    let listed = bsm
        .getJobResultHashes(service_id, call_id)
        .call()
        .await
        .map_err(|e| {
            Error::chain(
                &format!("getJobResultHashes({service_id}, {call_id})"),
                describe(&e),
            )
        })?;
    let c = bsm
        .getConsensus(service_id, call_id)
        .call()
        .await
        .map_err(|e| {
            Error::chain(
                &format!("getConsensus({service_id}, {call_id})"),
                describe(&e),
            )
        })?;
    let (service_ops, _) = service_operators(chain, service_id).await?;
    ResultsReport::build(
        service_id,
        call_id,
        &service_ops,
        &listed.operators,
        &listed.hashes,
        Consensus {
            top_hash: c.topHash,
            agreeing: c.agreeing,
            answered: c.answered,
        },
    )
}
