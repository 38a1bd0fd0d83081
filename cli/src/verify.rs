//! `verify log`: pulls a sandbox's VES event log from its sidecar and checks it with the VES
//! library (`ves::client::verify::verify_stream`: agent signatures, sequencer receipts,
//! Merkle inclusion proofs, recomputed commitment chain and state root). With a service and
//! operator it also checks the log against the chain: the sequencer key must be the sidecar
//! key the BSM recorded at PROVISION, and the anchored `(sequence, state root)` must be one of
//! the recomputed commitments.

use blueprint_sdk::alloy::primitives::{Address, B256};
use serde::Serialize;
use ves::client::verify::{verify_stream, Failure, KeyRing};
use ves::client::PulledEvent;
use ves::engine::InclusionProof;
use ves::{AgentKeyRecord, Commitment, Ed25519PublicKey, Hash32};

use crate::chain::{describe, Chain};
use crate::output::{Render, Spinner};
use crate::service::endpoint;
use crate::sidecar::{Sidecar, SidecarInfo};
use crate::{Error, Result};

/// Everything pulled from a sidecar for verification.
#[derive(Debug, Clone)]
pub struct LogEvidence {
    /// `GET /v1/info`.
    pub info: SidecarInfo,
    /// The sequencer key the sidecar publishes.
    pub sequencer_key: Ed25519PublicKey,
    /// Agent keys of the tenant.
    pub keys: Vec<AgentKeyRecord>,
    /// Every event from sequence 1.
    pub events: Vec<PulledEvent>,
    /// Every commitment.
    pub commitments: Vec<Commitment>,
    /// An inclusion proof per committed event.
    pub proofs: Vec<InclusionProof>,
}

/// What the chain says about the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChainView {
    /// The service.
    pub service_id: u64,
    /// The operator.
    pub operator: Address,
    /// The sidecar key recorded at PROVISION.
    pub sidecar_public_key: B256,
    /// The anchored stream head (`0` = nothing anchored yet).
    pub anchor_sequence: u64,
    /// The anchored state root.
    pub anchor_state_root: B256,
}

/// How the log relates to the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorCheck {
    /// The chain's view.
    pub chain: ChainView,
    /// The sidecar's keys equal the key on chain.
    pub key_matches: bool,
    /// The anchor is a recomputed commitment (`None` when nothing is anchored yet).
    pub anchor_matches: Option<bool>,
}

/// `verify log`: the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct LogReport {
    /// Sidecar URL.
    pub sidecar_url: String,
    /// Stream tenant.
    pub tenant_id: uuid::Uuid,
    /// Stream store.
    pub store_id: uuid::Uuid,
    /// The sequencer key the receipts were checked against.
    pub sequencer_key: Ed25519PublicKey,
    /// Events checked (signature, payload hash, receipt).
    pub events: usize,
    /// Inclusion proofs checked.
    pub proofs: usize,
    /// Commitments recomputed.
    pub commitments: usize,
    /// Last event sequence.
    pub head_sequence: u64,
    /// Last committed sequence.
    pub committed_sequence: u64,
    /// The recomputed state root of the last commitment.
    pub state_root: Option<Hash32>,
    /// The chain comparison, when asked for.
    pub anchor: Option<AnchorCheck>,
    /// Every failed check.
    pub failures: Vec<Failure>,
    /// Everything verified.
    pub ok: bool,
}

impl Render for LogReport {
    fn human(&self) -> String {
        let mut out = format!(
            "sandbox log at {} (stream {}/{})\nchecked {} event(s) with receipts, {} inclusion proof(s), {} commitment(s); head {}, committed {}",
            self.sidecar_url,
            self.tenant_id,
            self.store_id,
            self.events,
            self.proofs,
            self.commitments,
            self.head_sequence,
            self.committed_sequence
        );
        if let Some(root) = &self.state_root {
            out.push_str(&format!("\nrecomputed state root {root}"));
        }
        if let Some(a) = &self.anchor {
            out.push_str(&format!(
                "\nsidecar key {} the key on chain for operator {}",
                if a.key_matches {
                    "matches"
                } else {
                    "DOES NOT match"
                },
                a.chain.operator
            ));
            match a.anchor_matches {
                None => out.push_str("\nno stream head anchored on chain yet"),
                Some(m) => out.push_str(&format!(
                    "\non-chain anchor (sequence {}, root {}) {}",
                    a.chain.anchor_sequence,
                    a.chain.anchor_state_root,
                    if m {
                        "matches a recomputed commitment"
                    } else {
                        "DOES NOT match any commitment"
                    }
                )),
            }
        }
        for f in &self.failures {
            match f.sequence_number {
                Some(n) => out.push_str(&format!("\nFAILED at sequence {n}: {}", f.error)),
                None => out.push_str(&format!("\nFAILED: {}", f.error)),
            }
        }
        out.push_str(if self.ok {
            "\nOK: log verified"
        } else {
            "\nFAILED: log does not verify"
        });
        out
    }
}

/// Pulls the log: identity, keys, events, commitments and one proof per committed event.
/// With `commit`, pending events are committed first (`POST /v1/ves/commit`).
pub async fn fetch_log(sidecar: &Sidecar, commit: bool, spinner: &Spinner) -> Result<LogEvidence> {
    spinner.set_message(format!("reading {}", sidecar.url()));
    let info = sidecar.info().await?;
    if commit {
        spinner.set_message("committing pending events");
        sidecar.commit().await?;
    }
    let client = sidecar.ves()?;
    let stream = info.stream();
    let sequencer_key = client.sequencer_key().await?.public_key;
    let keys = client.list_keys(stream.tenant_id, None).await?;
    spinner.set_message("pulling events");
    let events = client.pull_all(stream, 1).await?;
    let commitments = client.all_commitments(stream).await?;
    let committed = commitments.last().map_or(0, |c| c.seq_end);
    let mut proofs = Vec::new();
    for item in events.iter().filter(|e| e.sequence_number <= committed) {
        spinner.set_message(format!(
            "inclusion proof {} of {committed}",
            item.sequence_number
        ));
        let env = item.envelope().map_err(|e| {
            Error::Inconsistent(format!(
                "event {} does not parse: {e}",
                item.sequence_number
            ))
        })?;
        proofs.push(client.inclusion_proof(env.event_id).await?);
    }
    Ok(LogEvidence {
        info,
        sequencer_key,
        keys,
        events,
        commitments,
        proofs,
    })
}

/// What the chain records for `operator` of `service_id`.
pub async fn chain_view(chain: &Chain, service_id: u64, operator: Address) -> Result<ChainView> {
    let ep = endpoint(chain, service_id, operator).await?;
    if !ep.provisioned {
        return Err(Error::input(format!(
            "operator {operator} has no provisioned sandbox in service {service_id}"
        )));
    }
    let bsm = chain.bsm(service_id).await?;
    let anchor = bsm
        .getStreamAnchor(service_id, operator)
        .call()
        .await
        .map_err(|e| {
            Error::chain(
                &format!("getStreamAnchor({service_id}, {operator})"),
                describe(&e),
            )
        })?;
    Ok(ChainView {
        service_id,
        operator,
        sidecar_public_key: ep.sidecar_public_key,
        anchor_sequence: anchor.sequence,
        anchor_state_root: anchor.stateRoot,
    })
}

/// Checks pulled evidence (pure): the VES checks, key consistency and the chain anchor.
pub fn check_log(sidecar_url: &str, ev: &LogEvidence, chain: Option<ChainView>) -> LogReport {
    let stream = ev.info.stream();
    let sidecar_key = ev.info.ves.public_key;
    let mut failures = Vec::new();
    if ev.sequencer_key != sidecar_key {
        failures.push(failure(format!(
            "the sequencer key {} is not the sidecar key {sidecar_key}",
            ev.sequencer_key
        )));
    }
    // The sidecar is the only writer of its stream: every agent key must be its own key.
    for k in &ev.keys {
        if k.public_key != sidecar_key {
            failures.push(failure(format!(
                "agent {} key {} is {}, not the sidecar key",
                k.agent_id, k.key_id, k.public_key
            )));
        }
    }
    let ring = KeyRing::from_records(&ev.keys);
    let report = verify_stream(
        stream,
        &ev.events,
        &ev.commitments,
        &ev.proofs,
        &ring,
        &ev.sequencer_key,
    );
    failures.extend(report.failures);
    let anchor = chain.map(|view| {
        let key_matches = view.sidecar_public_key.0 == sidecar_key.to_bytes();
        if !key_matches {
            failures.push(failure(format!(
                "the sidecar key {sidecar_key} is not the key on chain {}",
                view.sidecar_public_key
            )));
        }
        let anchor_matches = (view.anchor_sequence != 0).then(|| {
            ev.commitments.iter().any(|c| {
                c.seq_end == view.anchor_sequence && c.state_root.0 == view.anchor_state_root.0
            })
        });
        if anchor_matches == Some(false) {
            failures.push(failure(format!(
                "the on-chain anchor (sequence {}, root {}) is not a commitment of this log",
                view.anchor_sequence, view.anchor_state_root
            )));
        }
        AnchorCheck {
            chain: view,
            key_matches,
            anchor_matches,
        }
    });
    LogReport {
        sidecar_url: sidecar_url.to_owned(),
        tenant_id: stream.tenant_id,
        store_id: stream.store_id,
        sequencer_key: ev.sequencer_key,
        events: report.events,
        proofs: report.proofs,
        commitments: report.commitments,
        head_sequence: ev.events.last().map_or(0, |e| e.sequence_number),
        committed_sequence: ev.commitments.last().map_or(0, |c| c.seq_end),
        state_root: report.state_root,
        anchor,
        ok: failures.is_empty(),
        failures,
    }
}

fn failure(error: String) -> Failure {
    Failure {
        sequence_number: None,
        error,
    }
}

/// Fetches and checks a sandbox log, against the chain when `chain` names a service operator.
pub async fn verify_log(
    sidecar: &Sidecar,
    chain: Option<(&Chain, u64, Address)>,
    commit: bool,
    spinner: &Spinner,
) -> Result<LogReport> {
    let view = match chain {
        Some((c, service_id, operator)) => Some(chain_view(c, service_id, operator).await?),
        None => None,
    };
    let evidence = fetch_log(sidecar, commit, spinner).await?;
    Ok(check_log(sidecar.url(), &evidence, view))
}
