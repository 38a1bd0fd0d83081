//! Receipt verification: `basic` (signature and hashes) and `full` (also every step event's
//! signature and inclusion under the journal head, and that the recorded order respects the
//! DAG). Levels this crate cannot deliver, such as `zk`, are refused.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde_json::Value;
use ves::{Commitment, Ed25519PublicKey, Hash32};

mod fast;
mod full;
use full::verify_full;

use crate::definition::WorkflowDef;
use crate::error::VerifyError;
use crate::hashing;
use crate::receipt::{Receipt, RECEIPT_VERSION};
use crate::sink::SequencedEvent;
use crate::validate::ValidatedWorkflow;

/// How much to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyLevel {
    /// Receipt signature, plus every hash the evidence lets us recompute.
    Basic,
    /// `Basic`, plus every step event: signature, inclusion, DAG order, results.
    Full,
}

impl FromStr for VerifyLevel {
    type Err = VerifyError;
    fn from_str(s: &str) -> Result<Self, VerifyError> {
        match s {
            "basic" => Ok(Self::Basic),
            "full" => Ok(Self::Full),
            other => Err(VerifyError::UnsupportedLevel(other.to_string())),
        }
    }
}

/// The stream evidence for `full`: a commitment ending at the receipt's journal head and the
/// run's events with inclusion proofs. When other commits happened while the run went on, its
/// events span several commitments: each event's proof is then under the commitment covering
/// it, and the earlier commitments (chaining up to this one) come in
/// [`SequencedEvent::chain`].
#[derive(Debug, Clone, PartialEq)]
pub struct FullEvidence {
    /// Commitment whose state root is the receipt's journal head (the last of the chain).
    pub commitment: Commitment,
    /// Every event of the run, in sequence order.
    pub events: Vec<SequencedEvent>,
}

/// What the verifier has besides the receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// The sidecar key the verifier trusts (e.g. from attestation).
    pub trusted_key: Ed25519PublicKey,
    /// The workflow definition (required for `full`).
    pub workflow: Option<WorkflowDef>,
    /// The effective inputs.
    pub inputs: Option<Value>,
    /// The final output.
    pub output: Option<Value>,
    /// `(step_id, result_hash)` of every succeeded step.
    pub step_results: Option<Vec<(String, Hash32)>>,
    /// Stream evidence (required for `full`).
    pub full: Option<FullEvidence>,
}

impl Evidence {
    /// Evidence holding only the trusted key.
    pub fn key_only(trusted_key: Ed25519PublicKey) -> Self {
        Self {
            trusted_key,
            workflow: None,
            inputs: None,
            output: None,
            step_results: None,
            full: None,
        }
    }
}

/// What was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Level.
    pub level: VerifyLevel,
    /// Hashes recomputed from evidence.
    pub hashes_checked: Vec<&'static str>,
    /// Events whose signature and inclusion were checked.
    pub events_checked: usize,
}

fn mismatch(what: &'static str, expected: &Hash32, actual: &Hash32) -> Result<(), VerifyError> {
    if expected == actual {
        Ok(())
    } else {
        Err(VerifyError::HashMismatch {
            what,
            expected: expected.to_string(),
            actual: actual.to_string(),
        })
    }
}

fn invalid(e: impl std::fmt::Display) -> VerifyError {
    VerifyError::InvalidEvidence(e.to_string())
}

/// Verifies `receipt` at `level` against `evidence`.
pub fn verify(
    receipt: &Receipt,
    level: VerifyLevel,
    evidence: &Evidence,
) -> Result<VerifyReport, VerifyError> {
    if receipt.signer != evidence.trusted_key {
        return Err(VerifyError::WrongSigner {
            expected: evidence.trusted_key.to_string(),
            actual: receipt.signer.to_string(),
        });
    }
    if receipt.version != RECEIPT_VERSION || !receipt.check_signature() {
        return Err(VerifyError::BadSignature);
    }
    let mut report = VerifyReport {
        level,
        hashes_checked: Vec::new(),
        events_checked: 0,
    };
    let workflow = match (&evidence.workflow, level) {
        (Some(def), _) => Some(ValidatedWorkflow::new(def.clone()).map_err(invalid)?),
        (None, VerifyLevel::Full) => return Err(VerifyError::MissingEvidence("workflow")),
        (None, VerifyLevel::Basic) => None,
    };
    if let Some(wf) = &workflow {
        mismatch("workflow", &receipt.workflow_hash, &wf.hash())?;
        report.hashes_checked.push("workflow");
    }
    if let Some(inputs) = &evidence.inputs {
        let h = hashing::json_hash(hashing::INPUT, inputs).map_err(invalid)?;
        mismatch("input", &receipt.input_hash, &h)?;
        report.hashes_checked.push("input");
    }
    if let Some(output) = &evidence.output {
        let h = hashing::json_hash(hashing::RUN_OUTPUT, output).map_err(invalid)?;
        mismatch("output", &receipt.output_hash, &h)?;
        report.hashes_checked.push("output");
    }
    if let Some(results) = &evidence.step_results {
        let mut sorted: BTreeMap<&str, &Hash32> = BTreeMap::new();
        for (id, h) in results {
            if sorted.insert(id.as_str(), h).is_some() {
                return Err(invalid(format!("step {id:?} listed twice")));
            }
        }
        check_steps_root(receipt, &sorted)?;
        report.hashes_checked.push("steps");
    }
    if level == VerifyLevel::Full {
        let full = evidence
            .full
            .as_ref()
            .ok_or(VerifyError::MissingEvidence("stream events and commitment"))?;
        let wf = workflow.ok_or(VerifyError::MissingEvidence("workflow"))?;
        report.events_checked = verify_full(receipt, &evidence.trusted_key, &wf, full)?;
    }
    Ok(report)
}

fn check_steps_root(
    receipt: &Receipt,
    sorted: &BTreeMap<&str, &Hash32>,
) -> Result<(), VerifyError> {
    let root = hashing::steps_root(sorted.iter().map(|(k, v)| (*k, *v)));
    mismatch("steps", &receipt.steps_root, &root)?;
    if u32::try_from(sorted.len()).ok() != Some(receipt.steps_completed) {
        return Err(invalid(format!(
            "{} step results, receipt says {}",
            sorted.len(),
            receipt.steps_completed
        )));
    }
    Ok(())
}
