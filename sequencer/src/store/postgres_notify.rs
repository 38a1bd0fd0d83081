//! Live events across processes: every ingest transaction that appends events sends
//! `NOTIFY` with the stream's new head (delivered only if it commits, in commit order), and
//! each process listens on the same channel and turns notices into [`HeadNotice`]s. The SSE
//! stream reads the events themselves from the database, so a notice only says "look".
//!
//! The channel is per schema (`ves_heads` or `ves_heads_<schema>`). When the listening
//! connection drops, notices sent meanwhile are lost, so the listener then announces
//! [`HeadNotice::everything`] and every subscriber re-reads from its position.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{HeadNotice, StoreError, StreamKey};

/// Notices buffered for slow subscribers (they catch up from storage when they lag).
const CAPACITY: usize = 1024;

/// The notification channel of `schema`.
pub(crate) fn channel(schema: Option<&str>) -> String {
    match schema {
        Some(schema) => format!("ves_heads_{schema}"),
        None => "ves_heads".to_owned(),
    }
}

/// `tenant:store:head`.
fn payload(stream: &StreamKey, head: u64) -> String {
    format!("{}:{}:{head}", stream.tenant_id, stream.store_id)
}

fn parse(payload: &str) -> Option<HeadNotice> {
    let mut parts = payload.split(':');
    let tenant = Uuid::from_str(parts.next()?).ok()?;
    let store = Uuid::from_str(parts.next()?).ok()?;
    let head = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(HeadNotice {
        stream: Some(StreamKey::new(tenant, store)),
        head,
    })
}

/// Queues the notice inside the ingest transaction (sent at commit).
pub(crate) async fn notify(
    tx: &mut PgConnection,
    channel: &str,
    stream: &StreamKey,
    head: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload(stream, head))
        .execute(tx)
        .await
        .map(|_| ())
}

/// The listening task of one store; stopped when the last clone of the store is dropped.
pub(crate) struct Listener {
    sender: broadcast::Sender<HeadNotice>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listener {
    /// Starts listening on `channel` (returns once `LISTEN` is in place).
    pub(crate) async fn start(pool: &PgPool, channel: String) -> Result<Arc<Self>, StoreError> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(&channel).await?;
        let (sender, _) = broadcast::channel(CAPACITY);
        let task = tokio::spawn(listen(listener, sender.clone()));
        Ok(Arc::new(Self { sender, task }))
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<HeadNotice> {
        self.sender.subscribe()
    }
}

async fn listen(mut listener: PgListener, sender: broadcast::Sender<HeadNotice>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match parse(notification.payload()) {
                // No subscriber is not an error.
                Some(notice) => drop(sender.send(notice)),
                None => tracing::warn!(
                    payload = notification.payload(),
                    "ignoring a malformed stream head notice"
                ),
            },
            // The connection was lost (the next call reconnects and listens again): notices
            // may have been missed.
            Ok(None) => {
                tracing::warn!("PostgreSQL notification connection lost; reconnecting");
                drop(sender.send(HeadNotice::everything()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "PostgreSQL notification listener failed; retrying");
                drop(sender.send(HeadNotice::everything()));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_garbage_is_refused() {
        let stream = StreamKey::new(Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(
            parse(&payload(&stream, 42)),
            Some(HeadNotice {
                stream: Some(stream),
                head: 42
            })
        );
        for bad in [
            "",
            "a:b:c",
            "1:2",
            &format!("{}:42", Uuid::nil()),
            &format!("{}::7:9", Uuid::nil()),
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(channel(Some("ves_t_1")), "ves_heads_ves_t_1");
    }
}
