//! Pushing the outbox to the sequencer and pulling with a durable cursor.
//!
//! `sync` sends pending events in batches of at most 1000 (one stream and agent per batch),
//! as the exact JSON text that was signed and stored. A transport failure or 5xx retries the
//! same batch: ingest is idempotent (an exact replay returns the stored receipt), so a batch
//! whose response was lost yields the same receipts again and no duplicates. Receipts are
//! verified against the sequencer's published key before they are stored.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use uuid::Uuid;

use super::outbox::{LocalSyncState, Outbox, OutboxEntry, OutboxError};
use super::types::{IngestResponse, PulledEvent, SyncUpdate};
use super::verify::verify_receipt;
use super::{ClientError, VesClient, MAX_PAGE};
use crate::envelope::EventEnvelope;
use crate::keys::Ed25519PublicKey;
use crate::store::StreamKey;
use crate::validate::MAX_EVENTS_PER_BATCH;

/// How [`Outbox::sync`] pushes.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Events per batch (clamped to 1..=1000).
    pub batch_size: usize,
    /// Retries of one batch after a retryable error.
    pub max_retries: u32,
    /// Delay before the first retry (doubles each time).
    pub retry_delay: Duration,
    /// Verify each receipt against the sequencer's key before storing it.
    pub verify_receipts: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            batch_size: MAX_EVENTS_PER_BATCH,
            max_retries: 3,
            retry_delay: Duration::from_millis(200),
            verify_receipts: true,
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Batches sent (successfully answered).
    pub batches: usize,
    /// Newly accepted events.
    pub accepted: usize,
    /// Events the server already had (stored receipt returned).
    pub replayed: usize,
    /// Rejected events.
    pub rejected: usize,
    /// Events still pending.
    pub pending: u64,
    /// Local cursors after the sync, per stream and agent.
    pub streams: Vec<(StreamKey, Uuid, LocalSyncState)>,
}

impl Outbox {
    async fn send_with_retries(
        client: &VesClient,
        agent: Uuid,
        events: &[String],
        options: &SyncOptions,
    ) -> Result<IngestResponse, ClientError> {
        let mut delay = options.retry_delay;
        let mut attempt = 0;
        loop {
            match client.ingest_raw(agent, events).await {
                Err(e) if e.is_retryable() && attempt < options.max_retries => {
                    tracing::warn!(error = %e, attempt, "ingest failed, retrying");
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                }
                other => return other,
            }
        }
    }

    fn check_receipts(
        batch: &[OutboxEntry],
        response: &IngestResponse,
        key: &Ed25519PublicKey,
    ) -> Result<(), OutboxError> {
        let by_id: BTreeMap<Uuid, &OutboxEntry> = batch.iter().map(|e| (e.event_id, e)).collect();
        for receipt in &response.receipts {
            let entry = by_id.get(&receipt.event_id).ok_or_else(|| {
                OutboxError::Invalid(format!("receipt for unknown event {}", receipt.event_id))
            })?;
            let env = EventEnvelope::from_json_str(&entry.envelope_json)?;
            verify_receipt(receipt, &env, None, key)
                .map_err(|e| OutboxError::Invalid(format!("event {}: {e}", receipt.event_id)))?;
        }
        Ok(())
    }

    /// Pushes every pending event; stores receipts and rejections; updates the local and
    /// the server-side sync state of each stream pushed to.
    pub async fn sync(
        &self,
        client: &VesClient,
        options: &SyncOptions,
    ) -> Result<SyncReport, OutboxError> {
        let mut report = SyncReport::default();
        let batch_size = options.batch_size.clamp(1, MAX_EVENTS_PER_BATCH);
        let key = if options.verify_receipts {
            Some(client.sequencer_key().await?.public_key)
        } else {
            None
        };
        let mut touched: BTreeMap<(StreamKey, Uuid), u64> = BTreeMap::new();
        loop {
            let batch = self.next_batch(batch_size)?;
            let Some(first) = batch.first() else { break };
            let (stream, agent) = (first.stream, first.agent_id);
            let texts: Vec<String> = batch.iter().map(|e| e.envelope_json.clone()).collect();
            let ids: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
            let response = match Self::send_with_retries(client, agent, &texts, options).await {
                Ok(r) => r,
                Err(e) => {
                    self.record_outcome(&ids, &[], &[])?;
                    return Err(e.into());
                }
            };
            if let Some(key) = &key {
                Self::check_receipts(&batch, &response, key)?;
            }
            let rejections: Vec<(Uuid, String, String)> = response
                .rejections
                .iter()
                .map(|r| {
                    let reason = serde_json::to_value(r.reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_else(|| format!("{:?}", r.reason));
                    (r.event_id, reason, r.message.clone())
                })
                .collect();
            self.record_outcome(&ids, &response.receipts, &rejections)?;
            let answered = response.receipts.len() + response.rejections.len();
            report.batches += 1;
            report.accepted += response.events_accepted;
            report.replayed += response.events_replayed;
            report.rejected += response.events_rejected;
            let top = response
                .receipts
                .iter()
                .map(|r| r.sequence_number)
                .max()
                .unwrap_or(0);
            let seen = touched.entry((stream, agent)).or_insert(0);
            *seen = (*seen).max(top);
            self.advance(stream, agent, Some(top), None, Some(response.head_sequence))?;
            if answered == 0 {
                return Err(OutboxError::Invalid(
                    "the server answered a batch without receipts or rejections".into(),
                ));
            }
        }
        for ((stream, agent), pushed) in touched {
            let local = self.sync_state(stream, agent)?;
            let server = client
                .put_sync_state(&SyncUpdate {
                    tenant_id: stream.tenant_id,
                    store_id: stream.store_id,
                    agent_id: None,
                    last_pushed_sequence: Some(pushed.max(local.last_pushed)),
                    last_pulled_sequence: None,
                })
                .await?;
            let state = self.advance(stream, agent, None, None, Some(server.head_sequence))?;
            report.streams.push((stream, agent, state));
        }
        report.pending = self.counts()?.pending;
        Ok(report)
    }

    /// Events after the durable pull cursor of `(stream, agent)`, at most `max` (all when
    /// `None`). The cursor does not move: call [`Outbox::ack_pulled`] once they are applied.
    pub async fn pull_new(
        &self,
        client: &VesClient,
        stream: StreamKey,
        agent: Uuid,
        max: Option<usize>,
    ) -> Result<Vec<PulledEvent>, OutboxError> {
        let mut next = self.sync_state(stream, agent)?.last_pulled + 1;
        let mut out = Vec::new();
        loop {
            let remaining = max.map_or(usize::MAX, |m| m.saturating_sub(out.len()));
            if remaining == 0 {
                break;
            }
            let limit = u32::try_from(remaining).unwrap_or(MAX_PAGE).min(MAX_PAGE);
            let page = client.pull(stream, next, limit).await?;
            self.advance(stream, agent, None, None, Some(page.head_sequence))?;
            let progressed = page.next_sequence > next;
            out.extend(page.events);
            if !page.has_more || !progressed {
                break;
            }
            next = page.next_sequence;
        }
        Ok(out)
    }

    /// Durably moves the pull cursor to `sequence` and reports it with
    /// `PUT /api/v1/sync/state`.
    pub async fn ack_pulled(
        &self,
        client: &VesClient,
        stream: StreamKey,
        agent: Uuid,
        sequence: u64,
    ) -> Result<LocalSyncState, OutboxError> {
        self.advance(stream, agent, None, Some(sequence), None)?;
        let server = client
            .put_sync_state(&SyncUpdate {
                tenant_id: stream.tenant_id,
                store_id: stream.store_id,
                agent_id: None,
                last_pushed_sequence: None,
                last_pulled_sequence: Some(sequence),
            })
            .await?;
        self.advance(stream, agent, None, None, Some(server.head_sequence))
    }
}
