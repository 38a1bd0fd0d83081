//! `GET /api/v1/events/stream?tenant_id&store_id&from`: Server-Sent Events.
//!
//! Each event is sent as `id: <sequence_number>`, `event: ves_event`, `data: <event item>`
//! (the pull item `{sequence_number, event, receipt}`). The stream starts at `from`
//! (inclusive; `Last-Event-ID` + 1 when the client reconnects; default: after the current
//! head, i.e. live only).
//!
//! No gaps, no duplicates: the task subscribes to the live channel **before** reading the
//! backlog, tracks the next sequence number it owes the client, drops live events below
//! it, and whenever a live event skips ahead (or the channel lagged) it reads the missing
//! range from storage first. Ordering across batches therefore never depends on the order
//! in which concurrent batches were published.
//!
//! With a store shared by several processes (PostgreSQL), events ingested elsewhere never
//! reach this process's live channel; the store's head notices (`LISTEN`/`NOTIFY`) say that
//! a stream moved, and the task then reads the new events from storage the same way.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;

use super::auth::Principal;
use super::error::{ApiError, ApiQuery};
use super::pull::EventItem;
use super::ApiState;
use crate::encoding::serde_uuid;
use crate::engine::{Sequencer, MAX_PULL_LIMIT};
use crate::store::{HeadNotice, StoredEvent, StreamKey};

/// Events buffered per client before the task waits for it.
const CLIENT_BUFFER: usize = 256;

#[derive(Debug, Deserialize)]
pub(crate) struct StreamQuery {
    #[serde(with = "serde_uuid")]
    tenant_id: Uuid,
    #[serde(with = "serde_uuid")]
    store_id: Uuid,
    #[serde(default)]
    from: Option<u64>,
}

type Tx = mpsc::Sender<Result<Event, Infallible>>;

/// Sends one event; `false` once the client is gone.
async fn send(tx: &Tx, event: &StoredEvent) -> bool {
    let data = match EventItem::new(event)
        .and_then(|item| serde_json::to_string(&item).map_err(ApiError::internal))
    {
        Ok(data) => data,
        Err(_) => return false,
    };
    let sse = Event::default()
        .id(event.sequence_number.to_string())
        .event("ves_event")
        .data(data);
    tx.send(Ok(sse)).await.is_ok()
}

/// Sends every stored event from `*next` on; `false` once the client is gone or storage
/// fails (the stream then ends and the client reconnects with `Last-Event-ID`).
async fn catch_up(seq: &Sequencer, stream: StreamKey, next: &mut u64, tx: &Tx) -> bool {
    loop {
        let page = match seq.pull(stream, *next, MAX_PULL_LIMIT).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "event stream catch-up failed");
                return false;
            }
        };
        for event in &page.events {
            if !send(tx, event).await {
                return false;
            }
            *next = event.sequence_number + 1;
        }
        if !page.has_more || page.events.is_empty() {
            return true;
        }
    }
}

/// The next head notice; never resolves without a notice channel (or once it closed).
async fn next_notice(
    heads: &mut Option<broadcast::Receiver<HeadNotice>>,
) -> Result<HeadNotice, broadcast::error::RecvError> {
    match heads {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// What the forwarding task was woken by.
enum Wake {
    Live(Result<Arc<StoredEvent>, broadcast::error::RecvError>),
    Notice(Result<HeadNotice, broadcast::error::RecvError>),
}

async fn forward(
    seq: Arc<Sequencer>,
    stream: StreamKey,
    mut next: u64,
    mut live: broadcast::Receiver<Arc<StoredEvent>>,
    mut heads: Option<broadcast::Receiver<HeadNotice>>,
    mut closing: watch::Receiver<bool>,
    tx: Tx,
) {
    if !catch_up(&seq, stream, &mut next, &tx).await {
        return;
    }
    loop {
        let woken = tokio::select! {
            r = live.recv() => Wake::Live(r),
            n = next_notice(&mut heads) => Wake::Notice(n),
            () = tx.closed() => return,
            _ = closing.wait_for(|closed| *closed) => return,
        };
        let received = match woken {
            Wake::Live(r) => r,
            Wake::Notice(Ok(notice)) => {
                if notice.concerns(&stream, next) && !catch_up(&seq, stream, &mut next, &tx).await {
                    return;
                }
                continue;
            }
            Wake::Notice(Err(broadcast::error::RecvError::Lagged(_))) => {
                if !catch_up(&seq, stream, &mut next, &tx).await {
                    return;
                }
                continue;
            }
            Wake::Notice(Err(broadcast::error::RecvError::Closed)) => {
                heads = None;
                continue;
            }
        };
        match received {
            Ok(event) if event.stream != stream || event.sequence_number < next => {}
            Ok(event) if event.sequence_number == next => {
                if !send(&tx, &event).await {
                    return;
                }
                next += 1;
            }
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                if !catch_up(&seq, stream, &mut next, &tx).await {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

fn last_event_id(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("last-event-id")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The SSE handler.
pub(crate) async fn stream(
    State(state): State<ApiState>,
    principal: Principal,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let stream = StreamKey::new(q.tenant_id, q.store_id);
    principal.require_stream(&stream)?;
    // Subscribe before reading anything, so nothing committed from now on can be missed.
    let live = state.sequencer.subscribe();
    let heads = state.sequencer.subscribe_heads();
    let from = match (last_event_id(&headers), q.from) {
        (Some(last), _) => last.saturating_add(1),
        (None, Some(from)) => from.max(1),
        (None, None) => state.sequencer.head(stream).await?.head_sequence + 1,
    };
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    tokio::spawn(forward(
        Arc::clone(&state.sequencer),
        stream,
        from,
        live,
        heads,
        state.closing(),
        tx,
    ));
    Ok(Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::default()))
}
