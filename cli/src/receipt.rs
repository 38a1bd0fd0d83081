//! `verify receipt`: checks an orchestrator execution receipt offline with
//! `agent_orchestrator::verify` at the `basic` and `full` levels. The input is either a bare
//! receipt or the evidence document of `GET /v1/runs/{run_id}/evidence` (receipt, workflow,
//! inputs, output, step results, commitment and the run's events with inclusion proofs).
//!
//! The key the receipt must be signed with comes from `--trusted-key`, or from the chain (the
//! sidecar key the BSM recorded at PROVISION); only as a last resort from the receipt itself,
//! which the report then labels as not anchored.

use agent_orchestrator::{
    verify, Evidence, FullEvidence, Receipt, SequencedEvent, VerifyLevel, WorkflowDef,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ves::{Commitment, Ed25519PublicKey, Hash32};

use crate::output::Render;
use crate::{Error, Result};

/// A receipt with whatever evidence came with it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EvidenceDoc {
    /// The receipt.
    pub receipt: Receipt,
    /// The workflow definition.
    #[serde(default)]
    pub workflow: Option<WorkflowDef>,
    /// The run's inputs.
    #[serde(default)]
    pub inputs: Option<Value>,
    /// The run's output.
    #[serde(default)]
    pub output: Option<Value>,
    /// `(step_id, result_hash)` of the succeeded steps.
    #[serde(default)]
    pub step_results: Option<Vec<(String, Hash32)>>,
    /// The commitment ending at the receipt's journal head.
    #[serde(default)]
    pub commitment: Option<Commitment>,
    /// The run's events with inclusion proofs.
    #[serde(default)]
    pub events: Option<Vec<SequencedEvent>>,
}

impl EvidenceDoc {
    /// Parses an evidence document, or a bare receipt.
    pub fn parse(value: Value) -> Result<Self> {
        if value.get("receipt").is_some() {
            serde_json::from_value(value)
                .map_err(|e| Error::input(format!("not a receipt evidence document: {e}")))
        } else {
            let receipt: Receipt = serde_json::from_value(value)
                .map_err(|e| Error::input(format!("not a receipt: {e}")))?;
            Ok(Self {
                receipt,
                workflow: None,
                inputs: None,
                output: None,
                step_results: None,
                commitment: None,
                events: None,
            })
        }
    }

    /// Whether the `full` level can run.
    pub fn has_full_evidence(&self) -> bool {
        self.workflow.is_some() && self.commitment.is_some() && self.events.is_some()
    }

    fn evidence(&self, trusted_key: Ed25519PublicKey) -> Evidence {
        Evidence {
            trusted_key,
            workflow: self.workflow.clone(),
            inputs: self.inputs.clone(),
            output: self.output.clone(),
            step_results: self.step_results.clone(),
            full: match (&self.commitment, &self.events) {
                (Some(c), Some(ev)) => Some(FullEvidence {
                    commitment: c.clone(),
                    events: ev.clone(),
                }),
                _ => None,
            },
        }
    }
}

/// Where the trusted key came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TrustSource {
    /// Given on the command line.
    Given,
    /// The sidecar key the BSM recorded for the operator.
    Chain {
        /// The service.
        service_id: u64,
        /// The operator.
        operator: String,
    },
    /// The receipt's own signer: the signature is checked but not anchored.
    ReceiptSigner,
}

/// One level's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelResult {
    /// `basic` or `full`.
    pub level: String,
    /// Passed.
    pub ok: bool,
    /// Why not.
    pub error: Option<String>,
    /// Hashes recomputed from the evidence.
    pub hashes_checked: Vec<String>,
    /// Events whose signature and inclusion were checked.
    pub events_checked: usize,
}

/// `verify receipt`: the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ReceiptReport {
    /// The run.
    pub run_id: uuid::Uuid,
    /// How the run ended.
    pub status: String,
    /// The receipt's signer.
    pub signer: Ed25519PublicKey,
    /// The key the receipt was checked against.
    pub trusted_key: Ed25519PublicKey,
    /// Where that key came from.
    pub trust: TrustSource,
    /// The receipt's journal head.
    pub journal_head_sequence: u64,
    /// Per level.
    pub levels: Vec<LevelResult>,
    /// Every level passed.
    pub ok: bool,
}

impl Render for ReceiptReport {
    fn human(&self) -> String {
        let trust = match &self.trust {
            TrustSource::Given => "given on the command line".to_owned(),
            TrustSource::Chain { service_id, operator } => {
                format!("recorded on chain for operator {operator} of service {service_id}")
            }
            TrustSource::ReceiptSigner => "the receipt's own signer (NOT anchored: pass --trusted-key or --service-id/--operator)".to_owned(),
        };
        let mut out = format!(
            "receipt of run {} ({}), journal head {}\nsigner {}\ntrusted key {} ({trust})",
            self.run_id, self.status, self.journal_head_sequence, self.signer, self.trusted_key
        );
        for l in &self.levels {
            match &l.error {
                None => out.push_str(&format!(
                    "\nOK: {} (hashes: {}; events: {})",
                    l.level,
                    if l.hashes_checked.is_empty() {
                        "none".to_owned()
                    } else {
                        l.hashes_checked.join(", ")
                    },
                    l.events_checked
                )),
                Some(e) => out.push_str(&format!("\nFAILED: {}: {e}", l.level)),
            }
        }
        out
    }
}

fn level_name(level: VerifyLevel) -> &'static str {
    match level {
        VerifyLevel::Basic => "basic",
        VerifyLevel::Full => "full",
    }
}

/// The levels to run: the one asked for, else `basic` and, when the evidence allows, `full`.
pub fn default_levels(doc: &EvidenceDoc, asked: Option<VerifyLevel>) -> Vec<VerifyLevel> {
    match asked {
        Some(l) => vec![l],
        None if doc.has_full_evidence() => vec![VerifyLevel::Basic, VerifyLevel::Full],
        None => vec![VerifyLevel::Basic],
    }
}

/// Verifies `doc` at `levels` against `trusted_key` (pure).
pub fn check_receipt(
    doc: &EvidenceDoc,
    trusted_key: Ed25519PublicKey,
    trust: TrustSource,
    levels: &[VerifyLevel],
) -> ReceiptReport {
    let evidence = doc.evidence(trusted_key);
    let levels: Vec<LevelResult> = levels
        .iter()
        .map(|level| match verify(&doc.receipt, *level, &evidence) {
            Ok(r) => LevelResult {
                level: level_name(*level).into(),
                ok: true,
                error: None,
                hashes_checked: r.hashes_checked.iter().map(|h| (*h).to_owned()).collect(),
                events_checked: r.events_checked,
            },
            Err(e) => LevelResult {
                level: level_name(*level).into(),
                ok: false,
                error: Some(e.to_string()),
                hashes_checked: Vec::new(),
                events_checked: 0,
            },
        })
        .collect();
    let status = serde_json::to_value(doc.receipt.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", doc.receipt.status));
    ReceiptReport {
        run_id: doc.receipt.run_id,
        status,
        signer: doc.receipt.signer,
        trusted_key,
        trust,
        journal_head_sequence: doc.receipt.journal_head.sequence,
        ok: !levels.is_empty() && levels.iter().all(|l| l.ok),
        levels,
    }
}
