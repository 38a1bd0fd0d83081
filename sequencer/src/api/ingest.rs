//! `POST /api/v1/ves/events/ingest`: `{agentId, events:[...]}` →
//! `{batchId, eventsAccepted, eventsRejected, eventsReplayed, sequenceStart, sequenceEnd,
//! headSequence, rejections, receipts}`.
//!
//! `receipts` holds one receipt per accepted or replayed event, in request order;
//! `rejections` holds `{index, eventId, reason, message}` per rejected event. An event that
//! does not parse as an envelope makes the whole batch a 400 (`malformed_event`), because
//! its stream and agent cannot be checked.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::auth::Principal;
use super::error::{ApiBody, ApiError};
use super::ApiState;
use crate::encoding::serde_uuid;
use crate::engine::{batch_stream, IncomingEvent, IngestOutcome};
use crate::receipt::SignedReceipt;
use crate::store::EventOutcome;
use crate::validate::{RejectionReason, MAX_EVENTS_PER_BATCH};

/// Bodies larger than this are parsed on the blocking pool.
const INLINE_PARSE_LIMIT: usize = 256 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IngestBody<'a> {
    #[serde(rename = "agentId", with = "serde_uuid")]
    agent_id: Uuid,
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RejectionItem {
    index: usize,
    #[serde(with = "serde_uuid")]
    event_id: Uuid,
    reason: RejectionReason,
    message: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IngestResponse {
    #[serde(with = "serde_uuid")]
    batch_id: Uuid,
    events_accepted: usize,
    events_rejected: usize,
    events_replayed: usize,
    sequence_start: Option<u64>,
    sequence_end: Option<u64>,
    head_sequence: u64,
    rejections: Vec<RejectionItem>,
    receipts: Vec<SignedReceipt>,
}

impl From<IngestOutcome> for IngestResponse {
    fn from(outcome: IngestOutcome) -> Self {
        let range = outcome.sequence_range();
        let (events_accepted, events_rejected, events_replayed) = (
            outcome.accepted_count(),
            outcome.rejected_count(),
            outcome.replayed_count(),
        );
        let mut rejections = Vec::new();
        let mut receipts = Vec::new();
        for (index, (result, event_id)) in outcome
            .outcomes
            .into_iter()
            .zip(outcome.event_ids)
            .enumerate()
        {
            match result {
                EventOutcome::Accepted(r) | EventOutcome::Replayed(r) => receipts.push(r),
                EventOutcome::Rejected(r) => rejections.push(RejectionItem {
                    index,
                    event_id,
                    reason: r.reason,
                    message: r.message,
                }),
            }
        }
        Self {
            batch_id: outcome.batch_id,
            events_accepted,
            events_rejected,
            events_replayed,
            sequence_start: range.map(|r| r.0),
            sequence_end: range.map(|r| r.1),
            head_sequence: outcome.head_sequence,
            rejections,
            receipts,
        }
    }
}

fn parse_body(body: &[u8]) -> Result<(Uuid, Vec<IncomingEvent>), ApiError> {
    // serde would also accept a JSON array for a struct; only an object is valid here.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request(
            "malformed_json",
            "the body must be a JSON object {agentId, events}",
        ));
    }
    let wrapper: IngestBody<'_> = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("malformed_json", e.to_string()))?;
    if wrapper.events.len() > MAX_EVENTS_PER_BATCH {
        return Err(ApiError::bad_request(
            "too_many_events",
            format!(
                "batch has {} events, limit is {MAX_EVENTS_PER_BATCH}",
                wrapper.events.len()
            ),
        ));
    }
    let events = wrapper
        .events
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            IncomingEvent::parse(raw.get())
                .map_err(|e| ApiError::bad_request("malformed_event", format!("event {i}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((wrapper.agent_id, events))
}

async fn parse(body: Bytes) -> Result<(Uuid, Vec<IncomingEvent>), ApiError> {
    if body.len() <= INLINE_PARSE_LIMIT {
        return parse_body(&body);
    }
    tokio::task::spawn_blocking(move || parse_body(&body))
        .await
        .map_err(ApiError::internal)?
}

async fn handle(
    state: &ApiState,
    principal: Principal,
    body: Bytes,
) -> Result<IngestResponse, ApiError> {
    let agent = principal.agent_id().ok_or_else(|| {
        ApiError::forbidden("agent_required", "only agent API keys may push events")
    })?;
    let (claimed_agent, events) = parse(body).await?;
    if claimed_agent != agent {
        return Err(ApiError::forbidden(
            "wrong_agent",
            "agentId is not the authenticated agent",
        ));
    }
    let stream = batch_stream(&events, &agent)?;
    principal.require_stream(&stream)?;
    let outcome = state.sequencer.ingest(agent, events).await?;
    let reasons: Vec<RejectionReason> = outcome
        .outcomes
        .iter()
        .filter_map(|o| match o {
            EventOutcome::Rejected(r) => Some(r.reason),
            _ => None,
        })
        .collect();
    state
        .metrics
        .record_batch(outcome.accepted_count(), outcome.replayed_count(), &reasons);
    Ok(outcome.into())
}

/// The ingest handler.
pub(crate) async fn ingest(
    State(state): State<ApiState>,
    principal: Principal,
    ApiBody(body): ApiBody,
) -> Result<Json<IngestResponse>, ApiError> {
    let started = Instant::now();
    let result = handle(&state, principal, body).await;
    state.metrics.observe_ingest(started.elapsed());
    if result.is_err() {
        state.metrics.record_failed_batch();
    }
    result.map(Json)
}
