//! `emit`, `push`, `sync`, `pull` and `head`.

use std::io::Read;

use anyhow::{Context, Result};
use chrono::{SecondsFormat, Utc};
use clap::Args;
use serde_json::json;
use uuid::Uuid;

use super::{print_json, Global};
use crate::canonical::parse_strict;
use crate::client::SyncOptions;
use crate::envelope::NewEvent;

/// `emit` options.
#[derive(Debug, Clone, Args)]
pub struct EmitArgs {
    /// Entity type.
    #[arg(long)]
    pub entity_type: String,
    /// Entity id.
    #[arg(long)]
    pub entity_id: String,
    /// Event type.
    #[arg(long)]
    pub event_type: String,
    /// Payload JSON (default: read from stdin).
    #[arg(long)]
    pub payload: Option<String>,
    /// Command id (deduplication).
    #[arg(long)]
    pub command_id: Option<Uuid>,
    /// Expected entity version (optimistic concurrency).
    #[arg(long)]
    pub base_version: Option<u64>,
    /// Event id (default: random).
    #[arg(long)]
    pub event_id: Option<Uuid>,
    /// Sign with VES v1 (does not cover command_id / base_version).
    #[arg(long)]
    pub v1: bool,
}

/// `push` / `sync` options.
#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// Events per batch (≤ 1000).
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Retries per batch on transport errors.
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
}

/// `pull` options.
#[derive(Debug, Clone, Args)]
pub struct PullArgs {
    /// At most this many events.
    #[arg(long)]
    pub limit: Option<usize>,
}

pub(super) fn emit(g: &Global, a: &EmitArgs) -> Result<i32> {
    let text = match &a.payload {
        Some(p) => p.clone(),
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading payload from stdin")?;
            s
        }
    };
    let payload = parse_strict(&text).context("payload is not valid JSON")?;
    let stream = g.stream()?;
    let event = NewEvent {
        ves_version: if a.v1 { 1 } else { 2 },
        event_id: a.event_id.unwrap_or_else(Uuid::new_v4),
        tenant_id: stream.tenant_id,
        store_id: stream.store_id,
        source_agent_id: g.agent()?,
        agent_key_id: g.key_id,
        entity_type: a.entity_type.clone(),
        entity_id: a.entity_id.clone(),
        event_type: a.event_type.clone(),
        created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        command_id: a.command_id,
        base_version: a.base_version,
    };
    let key = g.signing_key()?;
    let envelope = g.open_outbox()?.emit(event, payload, &key)?;
    if g.json {
        print_json(&envelope)?;
    } else {
        println!("queued event {}", envelope.event_id);
    }
    Ok(0)
}

pub(super) async fn push(g: &Global, a: &PushArgs, show_state: bool) -> Result<i32> {
    let outbox = g.open_outbox()?;
    let client = g.client()?;
    let options = SyncOptions {
        batch_size: a.batch_size,
        max_retries: a.retries,
        ..SyncOptions::default()
    };
    let report = outbox.sync(&client, &options).await?;
    let state = if show_state {
        Some(client.sync_state(g.stream()?, None).await?)
    } else {
        None
    };
    if g.json {
        print_json(&json!({ "report": report, "server_state": state }))?;
    } else {
        println!(
            "pushed {} batch(es): {} accepted, {} replayed, {} rejected, {} pending",
            report.batches, report.accepted, report.replayed, report.rejected, report.pending
        );
        for e in outbox.entries()? {
            if let (Some((reason, message)), true) = (&e.rejection, e.attempts > 0) {
                println!("rejected {}: {reason}: {message}", e.event_id);
            }
        }
        if let Some(s) = state {
            println!(
                "sync state: last pushed {}, last pulled {}, head {}, lag {}",
                s.last_pushed_sequence, s.last_pulled_sequence, s.head_sequence, s.lag
            );
        }
    }
    Ok(0)
}

pub(super) async fn pull(g: &Global, a: &PullArgs) -> Result<i32> {
    let outbox = g.open_outbox()?;
    let client = g.client()?;
    let stream = g.stream()?;
    let agent = g.agent()?;
    let events = outbox.pull_new(&client, stream, agent, a.limit).await?;
    for item in &events {
        print_json(item)?;
    }
    if let Some(last) = events.last() {
        let state = outbox
            .ack_pulled(&client, stream, agent, last.sequence_number)
            .await?;
        if !g.json {
            eprintln!(
                "pulled {} event(s); cursor {} of head {}",
                events.len(),
                state.last_pulled,
                state.head
            );
        }
    } else if !g.json {
        eprintln!("no new events");
    }
    Ok(0)
}

pub(super) async fn head(g: &Global) -> Result<i32> {
    let head = g.client()?.head(g.stream()?).await?;
    if g.json {
        print_json(&head)?;
    } else {
        println!("head sequence: {}", head.head_sequence);
        println!("committed up to: {}", head.committed_sequence);
        match head.state_root {
            Some(root) => println!("state root: {root}"),
            None => println!("state root: (no commitment yet)"),
        }
    }
    Ok(0)
}
