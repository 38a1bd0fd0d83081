//! Server-Sent Events: backlog from `from`, then live events, without gaps or duplicates,
//! also while batches are being ingested during the switch.

mod common;

use std::time::Duration;

use common::http::*;
use common::*;
use serde_json::Value;

async fn open(s: &Server, query: &str, last_event_id: Option<u64>) -> reqwest::Response {
    let mut req = s
        .client
        .get(s.url(&format!(
            "/api/v1/events/stream?tenant_id={TENANT}&store_id={STORE}{query}"
        )))
        .bearer_auth(AGENT_KEY);
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id.to_string());
    }
    let resp = req.send().await.expect("open stream");
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    assert!(resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream")));
    resp
}

#[tokio::test]
async fn backlog_then_live_without_gaps_or_duplicates() {
    let s = serve_with_key().await;
    s.ingest(&signed_batch(5)).await;

    let mut from_two = open(&s, "&from=2", None).await;
    let backlog = read_events(&mut from_two, 4).await;
    assert_eq!(
        backlog.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![2, 3, 4, 5]
    );
    assert_eq!(backlog[0].1["sequence_number"], 2);
    assert!(backlog[0].1["receipt"]["receiptHash"].is_string());

    // Live-only subscriber (no `from`) and one resuming with Last-Event-ID.
    let mut live_only = open(&s, "", None).await;
    let mut resumed = open(&s, "", Some(3)).await;

    // Several concurrent batches while the subscribers switch from backlog to live.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let seq = s.seq.clone();
        tasks.push(tokio::spawn(async move {
            let events = (0..5).map(|i| incoming(sign(new_event(i)))).collect();
            seq.ingest(AGENT, events).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("join").expect("ingest").accepted_count(), 5);
    }

    let ids = |events: Vec<(u64, Value)>| events.into_iter().map(|e| e.0).collect::<Vec<_>>();
    assert_eq!(
        ids(read_events(&mut from_two, 20).await),
        (6..=25).collect::<Vec<_>>()
    );
    assert_eq!(
        ids(read_events(&mut live_only, 20).await),
        (6..=25).collect::<Vec<_>>()
    );
    assert_eq!(
        ids(read_events(&mut resumed, 22).await),
        (4..=25).collect::<Vec<_>>()
    );

    // Closing streams (server shutdown) ends the response.
    s.state.close_streams();
    let end = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = from_two.chunk().await {}
    })
    .await;
    assert!(end.is_ok(), "stream did not end after close_streams");
}
