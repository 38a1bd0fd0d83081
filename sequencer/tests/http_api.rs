//! REST API over a loopback port: authentication and scopes, JSON 4xx errors, ingest
//! responses, receipts and pull paging.

mod common;

use common::http::*;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;
use ves::*;

const INGEST: &str = "/api/v1/ves/events/ingest";

fn pull_path(from: u64, limit: u32) -> String {
    format!("/api/v1/events?tenant_id={TENANT}&store_id={STORE}&from={from}&limit={limit}")
}

#[tokio::test]
async fn authentication_and_scopes() {
    let s = serve_with_key().await;
    let events = signed_batch(1);
    let body = ingest_body(&events);

    let (status, err) = s.call(Method::POST, INGEST, None, Some(body.clone())).await;
    assert_eq!(
        (status, error_code(&err).as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let (status, _) = s
        .call(
            Method::POST,
            INGEST,
            Some("not-a-configured-key-at-all"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // X-API-Key works as well as Bearer.
    let resp = s
        .client
        .get(s.url(&pull_path(1, 10)))
        .header("x-api-key", AGENT_KEY)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);

    let forbidden = |(status, body): (StatusCode, Value)| {
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        error_code(&body)
    };
    // Admins cannot push; agents push only as themselves, only into their scope.
    let r = s
        .call(Method::POST, INGEST, Some(ADMIN_KEY), Some(body.clone()))
        .await;
    assert_eq!(forbidden(r), "agent_required");
    let r = s
        .call(
            Method::POST,
            INGEST,
            Some(OTHER_AGENT_KEY),
            Some(body.clone()),
        )
        .await;
    assert_eq!(forbidden(r), "wrong_agent");
    let mut as_other = body.clone();
    as_other["agentId"] = json!(OTHER_AGENT);
    let r = s
        .call(Method::POST, INGEST, Some(OTHER_AGENT_KEY), Some(as_other))
        .await;
    assert_eq!(forbidden(r), "wrong_agent");
    let r = s
        .call(
            Method::POST,
            INGEST,
            Some(OTHER_STORE_KEY),
            Some(body.clone()),
        )
        .await;
    assert_eq!(forbidden(r), "forbidden");
    let other_tenant = format!(
        "/api/v1/events?tenant_id={}&store_id={STORE}",
        Uuid::from_u128(0xdead)
    );
    assert_eq!(
        forbidden(s.get(&other_tenant, AGENT_KEY).await),
        "forbidden"
    );
    // Agents manage only their own keys.
    let r = s
        .call(
            Method::POST,
            "/api/v1/agents/keys",
            Some(AGENT_KEY),
            Some(registration(OTHER_AGENT, 1, true)),
        )
        .await;
    assert_eq!(forbidden(r), "forbidden");
    assert_eq!(s.ingest(&events).await.0, StatusCode::OK);
}

#[tokio::test]
async fn bad_input_gets_json_4xx() {
    let s = serve_with_key().await;
    let raw = |body: &str| {
        s.send(
            Method::POST,
            INGEST,
            Some(AGENT_KEY),
            Some(body.as_bytes().to_vec()),
        )
    };
    let expect = |resp: reqwest::Response, status: StatusCode, code: &'static str| async move {
        assert_eq!(resp.status(), status);
        let body: Value = resp.json().await.expect("json error body");
        assert_eq!(error_code(&body), code, "{body}");
    };
    expect(
        raw("{not json").await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    expect(raw("[]").await, StatusCode::BAD_REQUEST, "malformed_json").await;
    let unknown = format!(r#"{{"agentId":"{AGENT}","events":[],"extra":1}}"#);
    expect(
        raw(&unknown).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    let empty = format!(r#"{{"agentId":"{AGENT}","events":[]}}"#);
    expect(raw(&empty).await, StatusCode::BAD_REQUEST, "empty_batch").await;
    let bad_event = format!(r#"{{"agentId":"{AGENT}","events":[{{"ves_version":2}}]}}"#);
    expect(
        raw(&bad_event).await,
        StatusCode::BAD_REQUEST,
        "malformed_event",
    )
    .await;
    let many = format!(
        r#"{{"agentId":"{AGENT}","events":[{}]}}"#,
        vec!["{}"; 1001].join(",")
    );
    expect(raw(&many).await, StatusCode::BAD_REQUEST, "too_many_events").await;
    let huge = format!(
        r#"{{"agentId":"{AGENT}","events":["{}"]}}"#,
        "x".repeat(TEST_BODY_LIMIT + 1)
    );
    expect(
        raw(&huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    )
    .await;

    let mut mixed = signed_batch(2);
    let mut other = new_event(7);
    other.store_id = OTHER_STORE;
    mixed.push(sign(other));
    let (status, body) = s.ingest(&mixed).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "mixed_streams")
    );

    let (status, body) = s
        .get("/api/v1/events?tenant_id=nope&store_id=x", AGENT_KEY)
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let (status, body) = s.get(&pull_path(1, 5000), AGENT_KEY).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_limit")
    );
    let (status, body) = s.get("/api/v1/events/not-a-uuid", AGENT_KEY).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_path")
    );
    let (status, body) = s.get("/api/v1/nothing-here", AGENT_KEY).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, body) = s
        .call(Method::DELETE, "/api/v1/head", Some(AGENT_KEY), None)
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let (status, body) = s
        .call(
            Method::PUT,
            "/api/v1/sync/state",
            Some(AGENT_KEY),
            Some(json!({"x": 1})),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
}

#[tokio::test]
async fn ingest_receipts_and_pull_paging() {
    let s = serve_with_key().await;
    let mut events = signed_batch(25);
    events[4].agent_signature.0[5] ^= 1;
    let (status, resp) = s.ingest(&events).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    assert_eq!(resp["eventsAccepted"], 24);
    assert_eq!(resp["eventsRejected"], 1);
    assert_eq!(resp["eventsReplayed"], 0);
    assert_eq!(
        (resp["sequenceStart"].clone(), resp["sequenceEnd"].clone()),
        (json!(1), json!(24))
    );
    assert_eq!(resp["headSequence"], 24);
    assert!(Uuid::parse_str(resp["batchId"].as_str().expect("batchId")).is_ok());
    let rejection = &resp["rejections"][0];
    assert_eq!(rejection["index"], 4);
    assert_eq!(rejection["eventId"], json!(events[4].event_id));
    assert_eq!(rejection["reason"], "invalid_signature");
    let receipts: Vec<SignedReceipt> =
        serde_json::from_value(resp["receipts"].clone()).expect("receipts");
    assert_eq!(receipts.len(), 24);

    // Replay: same receipts, counted as replayed.
    let good: Vec<EventEnvelope> = events
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .map(|(_, e)| e.clone())
        .collect();
    let (_, replay) = s.ingest(&good).await;
    assert_eq!(
        (
            replay["eventsReplayed"].clone(),
            replay["eventsAccepted"].clone()
        ),
        (json!(24), json!(0))
    );
    assert_eq!(replay["receipts"], resp["receipts"]);
    assert_eq!(replay["sequenceStart"], Value::Null);

    let mut next = 1;
    let mut seen = Vec::new();
    loop {
        let (status, page) = s.get(&pull_path(next, 10), AGENT_KEY).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let count = page["count"].as_u64().expect("count");
        assert_eq!(
            page["events"].as_array().expect("events").len() as u64,
            count
        );
        assert_eq!(page["head_sequence"], 24);
        for item in page["events"].as_array().expect("events") {
            seen.push(item["sequence_number"].as_u64().expect("seq"));
            let env = EventEnvelope::from_value(item["event"].clone()).expect("envelope");
            let receipt: SignedReceipt =
                serde_json::from_value(item["receipt"].clone()).expect("receipt");
            receipt
                .verify(
                    &s.seq.public_key(),
                    &TENANT,
                    &STORE,
                    &env.event_signing_hash().expect("h"),
                )
                .expect("receipt verifies");
        }
        next = page["next_sequence"].as_u64().expect("next");
        if !page["has_more"].as_bool().expect("has_more") {
            break;
        }
        assert_eq!(count, 10);
    }
    assert_eq!(seen, (1..=24).collect::<Vec<_>>());
    assert_eq!(next, 25);
    let (_, empty) = s.get(&pull_path(25, 10), AGENT_KEY).await;
    assert_eq!(
        (
            empty["count"].clone(),
            empty["has_more"].clone(),
            empty["next_sequence"].clone()
        ),
        (json!(0), json!(false), json!(25))
    );
    let (_, default_limit) = s
        .get(
            &format!("/api/v1/events?tenant_id={TENANT}&store_id={STORE}"),
            AGENT_KEY,
        )
        .await;
    assert_eq!(default_limit["count"], 24);

    let (status, one) = s
        .get(&format!("/api/v1/events/{}", events[0].event_id), AGENT_KEY)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["sequence_number"], 1);
    assert_eq!(
        one["event"],
        serde_json::to_value(&events[0]).expect("value")
    );
    assert_eq!(one["receipt"], resp["receipts"][0]);
    let (status, _) = s
        .get(&format!("/api/v1/events/{}", events[4].event_id), AGENT_KEY)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .get(
            &format!("/api/v1/events/{}", events[0].event_id),
            OTHER_STORE_KEY,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "out of scope looks like absent"
    );

    let (_, head) = s
        .get(
            &format!("/api/v1/head?tenant_id={TENANT}&store_id={STORE}"),
            AGENT_KEY,
        )
        .await;
    assert_eq!(
        (head["head_sequence"].clone(), head["state_root"].clone()),
        (json!(24), Value::Null)
    );
}
