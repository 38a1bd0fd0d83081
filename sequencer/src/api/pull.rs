//! Reads: `GET /api/v1/events` (pull), `GET /api/v1/events/{event_id}`, `GET /api/v1/head`.
//!
//! Event items are `{sequence_number, event, receipt}` where `event` is the envelope JSON
//! exactly as the agent sent it.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::auth::Principal;
use super::error::{ApiError, ApiPath, ApiQuery};
use super::ApiState;
use crate::encoding::{serde_uuid, Hash32};
use crate::receipt::SignedReceipt;
use crate::store::{StoredEvent, StreamKey};

/// Default `limit` of a pull.
pub const DEFAULT_PULL_LIMIT: u32 = 100;

/// One event as served by pulls and the live stream.
#[derive(Debug, Serialize)]
pub(crate) struct EventItem {
    sequence_number: u64,
    event: Box<RawValue>,
    receipt: SignedReceipt,
}

impl EventItem {
    pub(crate) fn new(event: &StoredEvent) -> Result<Self, ApiError> {
        Ok(Self {
            sequence_number: event.sequence_number,
            event: RawValue::from_string(event.envelope_json.clone())
                .map_err(ApiError::internal)?,
            receipt: event.receipt.clone(),
        })
    }
}

/// `tenant_id` and `store_id` query parameters.
#[derive(Debug, Deserialize)]
pub(crate) struct StreamQuery {
    #[serde(with = "serde_uuid")]
    pub tenant_id: Uuid,
    #[serde(with = "serde_uuid")]
    pub store_id: Uuid,
}

impl StreamQuery {
    pub(crate) fn stream(&self) -> StreamKey {
        StreamKey::new(self.tenant_id, self.store_id)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct PullQuery {
    #[serde(with = "serde_uuid")]
    tenant_id: Uuid,
    #[serde(with = "serde_uuid")]
    store_id: Uuid,
    #[serde(default)]
    from: Option<u64>,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
pub(crate) struct PullResponse {
    events: Vec<EventItem>,
    count: usize,
    head_sequence: u64,
    next_sequence: u64,
    has_more: bool,
}

/// `GET /api/v1/events?tenant_id&store_id&from&limit`.
pub(crate) async fn pull(
    State(state): State<ApiState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<Json<PullResponse>, ApiError> {
    let stream = StreamKey::new(q.tenant_id, q.store_id);
    principal.require_stream(&stream)?;
    let page = state
        .sequencer
        .pull(
            stream,
            q.from.unwrap_or(1),
            q.limit.unwrap_or(DEFAULT_PULL_LIMIT),
        )
        .await?;
    let events = page
        .events
        .iter()
        .map(EventItem::new)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(PullResponse {
        count: events.len(),
        events,
        head_sequence: page.head_sequence,
        next_sequence: page.next_sequence,
        has_more: page.has_more,
    }))
}

#[derive(Debug, Serialize)]
pub(crate) struct EventResponse {
    #[serde(with = "serde_uuid")]
    tenant_id: Uuid,
    #[serde(with = "serde_uuid")]
    store_id: Uuid,
    event_signing_hash: Hash32,
    #[serde(flatten)]
    item: EventItem,
}

/// `GET /api/v1/events/{event_id}`: 404 when unknown or outside the caller's scope.
pub(crate) async fn event(
    State(state): State<ApiState>,
    principal: Principal,
    ApiPath(event_id): ApiPath<Uuid>,
) -> Result<Json<EventResponse>, ApiError> {
    let event = state
        .sequencer
        .event(event_id)
        .await?
        .filter(|e| principal.allows(&e.stream))
        .ok_or_else(|| ApiError::not_found(format!("event {event_id} not found")))?;
    Ok(Json(EventResponse {
        tenant_id: event.stream.tenant_id,
        store_id: event.stream.store_id,
        event_signing_hash: event.event_signing_hash,
        item: EventItem::new(&event)?,
    }))
}

#[derive(Debug, Serialize)]
pub(crate) struct HeadResponse {
    #[serde(with = "serde_uuid")]
    tenant_id: Uuid,
    #[serde(with = "serde_uuid")]
    store_id: Uuid,
    head_sequence: u64,
    /// Sequence number covered by the latest commitment (0 when none).
    committed_sequence: u64,
    /// State root of the latest commitment (`null` when none).
    state_root: Option<Hash32>,
}

/// `GET /api/v1/head?tenant_id&store_id`.
pub(crate) async fn head(
    State(state): State<ApiState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<Json<HeadResponse>, ApiError> {
    let stream = q.stream();
    principal.require_stream(&stream)?;
    let head = state.sequencer.head(stream).await?;
    Ok(Json(HeadResponse {
        tenant_id: stream.tenant_id,
        store_id: stream.store_id,
        head_sequence: head.head_sequence,
        committed_sequence: head.latest_commitment.as_ref().map_or(0, |c| c.seq_end),
        state_root: head.latest_commitment.map(|c| c.state_root),
    }))
}
