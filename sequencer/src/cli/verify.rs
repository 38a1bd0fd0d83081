//! `verify-receipt`, `verify-proof` and `verify-stream`: exit code 1 on any mismatch.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use serde_json::json;
use uuid::Uuid;

use super::{print_json, Global};
use crate::client::verify::{verify_inclusion_proof, verify_receipt, verify_stream, KeyRing};
use crate::client::{PulledEvent, VesClient};
use crate::keys::Ed25519PublicKey;

/// `verify-receipt` options.
#[derive(Debug, Clone, Args)]
pub struct ReceiptArgs {
    /// Fetch this event (with its receipt) from the server.
    #[arg(long, conflicts_with = "file", required_unless_present = "file")]
    pub event_id: Option<Uuid>,
    /// A pulled event `{sequence_number, event, receipt}` as JSON (`-` = stdin).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// The sequencer's public key (default: fetched from the server).
    #[arg(long)]
    pub sequencer_key: Option<String>,
}

/// `verify-proof` options.
#[derive(Debug, Clone, Args)]
pub struct ProofArgs {
    /// The event.
    pub event_id: Uuid,
}

/// `verify-stream` options.
#[derive(Debug, Clone, Args)]
pub struct StreamArgs {
    /// Verify these pulled events (JSON lines, `-` = stdin) instead of pulling them.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Skip fetching an inclusion proof per committed event.
    #[arg(long)]
    pub no_proofs: bool,
    /// The sequencer's public key (default: fetched from the server).
    #[arg(long)]
    pub sequencer_key: Option<String>,
}

fn read_input(path: &PathBuf) -> Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    }
}

async fn sequencer_key(
    given: Option<&str>,
    client: Option<&VesClient>,
) -> Result<Ed25519PublicKey> {
    match (given, client) {
        (Some(hex), _) => Ok(Ed25519PublicKey::from_hex(hex)?),
        (None, Some(c)) => Ok(c.sequencer_key().await?.public_key),
        (None, None) => Err(anyhow!("--sequencer-key or --url is required")),
    }
}

fn verdict(
    g: &Global,
    what: &str,
    result: Result<(), String>,
    extra: serde_json::Value,
) -> Result<i32> {
    if g.json {
        print_json(
            &json!({ "ok": result.is_ok(), "error": result.as_ref().err(), "check": what, "details": extra }),
        )?;
    } else {
        match &result {
            Ok(()) => println!("OK: {what}"),
            Err(e) => println!("FAILED: {what}: {e}"),
        }
    }
    Ok(i32::from(result.is_err()))
}

pub(super) async fn receipt(g: &Global, a: &ReceiptArgs) -> Result<i32> {
    let client = g.client().ok();
    let item: PulledEvent = match (&a.file, a.event_id) {
        (Some(path), _) => {
            serde_json::from_str(&read_input(path)?).context("not a pulled event")?
        }
        (None, Some(id)) => {
            let c = client
                .as_ref()
                .ok_or_else(|| anyhow!("--url and --api-key are required"))?;
            c.event(id).await?.item
        }
        (None, None) => return Err(anyhow!("--event-id or --file is required")),
    };
    let key = sequencer_key(a.sequencer_key.as_deref(), client.as_ref()).await?;
    let env = item.envelope()?;
    let result = verify_receipt(&item.receipt, &env, Some(item.sequence_number), &key)
        .map_err(|e| e.to_string());
    let what = format!(
        "receipt of event {} at sequence {}",
        env.event_id, item.sequence_number
    );
    verdict(g, &what, result, json!({ "receipt": item.receipt }))
}

pub(super) async fn proof(g: &Global, a: &ProofArgs) -> Result<i32> {
    let client = g.client()?;
    let proof = client.inclusion_proof(a.event_id).await?;
    let stream = crate::store::StreamKey::new(proof.tenant_id, proof.store_id);
    let commitment = client.commitment(stream, proof.commitment.seq_end).await?;
    let event = client.event(a.event_id).await?.item.envelope()?;
    let result =
        verify_inclusion_proof(&proof, Some(&commitment), Some(&event)).map_err(|e| e.to_string());
    let what = format!(
        "event {} (sequence {}) is in commitment {}..={} with state root {}",
        a.event_id,
        proof.sequence_number,
        commitment.seq_start,
        commitment.seq_end,
        commitment.state_root
    );
    verdict(g, &what, result, json!({ "commitment": commitment }))
}

pub(super) async fn stream(g: &Global, a: &StreamArgs) -> Result<i32> {
    let client = g.client()?;
    let stream = g.stream()?;
    let events: Vec<PulledEvent> = match &a.file {
        Some(path) => read_input(path)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).context("not a pulled event"))
            .collect::<Result<_>>()?,
        None => client.pull_all(stream, 1).await?,
    };
    let seq_key = sequencer_key(a.sequencer_key.as_deref(), Some(&client)).await?;
    let keys = KeyRing::from_records(&client.list_keys(stream.tenant_id, None).await?);
    let commitments = client.all_commitments(stream).await?;
    let committed = commitments.last().map_or(0, |c| c.seq_end);
    let mut proofs = Vec::new();
    if !a.no_proofs {
        for item in events.iter().filter(|e| e.sequence_number <= committed) {
            if let Ok(env) = item.envelope() {
                proofs.push(client.inclusion_proof(env.event_id).await?);
            }
        }
    }
    let report = verify_stream(stream, &events, &commitments, &proofs, &keys, &seq_key);
    if g.json {
        print_json(&json!({ "ok": report.ok(), "report": report }))?;
    } else {
        println!(
            "checked {} event(s), {} receipt(s), {} inclusion proof(s), {} commitment(s)",
            report.events, report.events, report.proofs, report.commitments
        );
        if let Some(root) = report.state_root {
            println!("recomputed state root: {root}");
        }
        for f in &report.failures {
            match f.sequence_number {
                Some(n) => println!("FAILED at sequence {n}: {}", f.error),
                None => println!("FAILED: {}", f.error),
            }
        }
        println!(
            "{}",
            if report.ok() {
                "OK: stream verified"
            } else {
                "FAILED: stream does not verify"
            }
        );
    }
    Ok(i32::from(!report.ok()))
}
