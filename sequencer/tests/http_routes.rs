//! REST API over a loopback port: key routes, sync state, commitments and proofs, health
//! and metrics.

mod common;

use common::http::*;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use ves::engine::InclusionProof;
use ves::*;

#[tokio::test]
async fn key_routes() {
    let s = serve().await;
    let post = |key: &'static str, body: Value| {
        s.call(Method::POST, "/api/v1/agents/keys", Some(key), Some(body))
    };
    let (status, body) = post(AGENT_KEY, registration(AGENT, 1, false)).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "proof_of_possession_required")
    );
    let (status, record) = post(AGENT_KEY, registration(AGENT, 1, true)).await;
    assert_eq!(status, StatusCode::CREATED, "{record}");
    assert_eq!(record["key_id"], 1);
    let (status, _) = post(AGENT_KEY, registration(AGENT, 1, true)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "identical registration is idempotent"
    );
    let mut different = registration(AGENT, 1, true);
    different["public_key"] = json!(Ed25519PublicKey::from_signing_key(&agent_key(3)));
    different["proof_of_possession"] = json!(sign_pop(&agent_key(3)));
    let (status, body) = post(AGENT_KEY, different).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "key_exists")
    );
    // Admins register for any agent of their tenant, proof of possession optional.
    let (status, _) = post(ADMIN_KEY, registration(AGENT, 2, false)).await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, list) = s.get("/api/v1/agents/keys", AGENT_KEY).await;
    assert_eq!(list["keys"].as_array().expect("keys").len(), 2);
    let (_, list) = s
        .get(
            &format!("/api/v1/agents/keys?agent_id={OTHER_AGENT}"),
            ADMIN_KEY,
        )
        .await;
    assert_eq!(list["keys"].as_array().expect("keys").len(), 0);

    let (status, revoked) = s
        .call(
            Method::DELETE,
            "/api/v1/agents/keys/1",
            Some(AGENT_KEY),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(revoked["revoked_at"].is_string());
    let (status, _) = s
        .call(
            Method::DELETE,
            "/api/v1/agents/keys/9",
            Some(AGENT_KEY),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = s
        .call(
            Method::DELETE,
            "/api/v1/agents/keys/2",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "missing_agent_id")
    );

    let (_, resp) = s.ingest(&signed_batch(1)).await;
    assert_eq!(resp["rejections"][0]["reason"], "agent_key_invalid");
    let mut rotated = new_event(1);
    rotated.agent_key_id = 2;
    let (_, resp) = s.ingest(&[sign(rotated)]).await;
    assert_eq!(resp["eventsAccepted"], 1, "{resp}");
}

#[tokio::test]
async fn sync_state_routes() {
    let s = serve_with_key().await;
    s.ingest(&signed_batch(4)).await;
    let get = format!("/api/v1/sync/state?tenant_id={TENANT}&store_id={STORE}");
    let (status, state) = s.get(&get, AGENT_KEY).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (state["last_pushed_sequence"].clone(), state["lag"].clone()),
        (json!(4), json!(4))
    );
    let put = |key: &'static str, body: Value| {
        s.call(Method::PUT, "/api/v1/sync/state", Some(key), Some(body))
    };
    let (status, state) = put(
        AGENT_KEY,
        json!({"tenant_id": TENANT, "store_id": STORE, "last_pulled_sequence": 3}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(
        (
            state["last_pulled_sequence"].clone(),
            state["lag"].clone(),
            state["head_sequence"].clone()
        ),
        (json!(3), json!(1), json!(4))
    );
    assert!(state["last_sync_at"].is_string());
    let (status, body) = put(
        AGENT_KEY,
        json!({"tenant_id": TENANT, "store_id": STORE, "last_pulled_sequence": 5}),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "cursor_beyond_head")
    );
    let (status, _) = put(
        AGENT_KEY,
        json!({"tenant_id": TENANT, "store_id": STORE, "agent_id": OTHER_AGENT, "last_pulled_sequence": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, state) = s.get(&format!("{get}&agent_id={AGENT}"), ADMIN_KEY).await;
    assert_eq!(
        (status, state["last_pulled_sequence"].clone()),
        (StatusCode::OK, json!(3))
    );
}

#[tokio::test]
async fn commitments_proofs_and_sequencer_key() {
    let s = serve_with_key().await;
    let events = signed_batch(6);
    let (_, resp) = s.ingest(&events).await;
    let create = json!({"tenant_id": TENANT, "store_id": STORE});
    let (status, c1) = s
        .call(
            Method::POST,
            "/api/v1/commitments",
            Some(AGENT_KEY),
            Some(create.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{c1}");
    let c1: Commitment = serde_json::from_value(c1).expect("commitment");
    assert_eq!((c1.seq_start, c1.seq_end), (1, 6));
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/commitments",
            Some(AGENT_KEY),
            Some(create.clone()),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "nothing_to_commit")
    );

    let (_, list) = s
        .get(
            &format!("/api/v1/commitments?tenant_id={TENANT}&store_id={STORE}"),
            AGENT_KEY,
        )
        .await;
    assert_eq!(
        list["commitments"][0],
        serde_json::to_value(&c1).expect("v")
    );
    let by_end = format!("/api/v1/commitments/6?tenant_id={TENANT}&store_id={STORE}");
    let (status, got) = s.get(&by_end, AGENT_KEY).await;
    assert_eq!(
        (status, got),
        (StatusCode::OK, serde_json::to_value(&c1).expect("v"))
    );
    let (status, _) = s
        .get(
            &format!("/api/v1/commitments/5?tenant_id={TENANT}&store_id={STORE}"),
            AGENT_KEY,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, key) = s
        .call(Method::GET, "/api/v1/sequencer/key", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(key["sequencer_id"], "http-sequencer");
    assert_eq!(key["signature_alg"], "ed25519");
    let sequencer_pk =
        Ed25519PublicKey::from_hex(key["public_key"].as_str().expect("pk")).expect("pk");

    for (i, env) in events.iter().enumerate() {
        let (status, proof) = s
            .get(&format!("/api/v1/proofs/{}", env.event_id), AGENT_KEY)
            .await;
        assert_eq!(status, StatusCode::OK, "{proof}");
        let proof: InclusionProof = serde_json::from_value(proof).expect("proof");
        proof.verify().expect("proof verifies");
        // Recompute the leaf from what the client sent plus the receipt.
        let receipt: SignedReceipt =
            serde_json::from_value(resp["receipts"][i].clone()).expect("receipt");
        let signing_hash = env.event_signing_hash().expect("hash");
        receipt
            .verify(&sequencer_pk, &TENANT, &STORE, &signing_hash)
            .expect("receipt");
        let leaf = leaf_hash(
            &TENANT,
            &STORE,
            receipt.sequence_number,
            &signing_hash,
            &env.agent_signature,
        );
        verify_inclusion(&leaf, &proof.proof, &c1.merkle_root).expect("inclusion");
    }

    let more = signed_batch(1);
    s.ingest(&more).await;
    let (status, body) = s
        .get(&format!("/api/v1/proofs/{}", more[0].event_id), AGENT_KEY)
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "not_committed")
    );
    let (_, head) = s
        .get(
            &format!("/api/v1/head?tenant_id={TENANT}&store_id={STORE}"),
            AGENT_KEY,
        )
        .await;
    assert_eq!(head["head_sequence"], 7);
    assert_eq!(head["committed_sequence"], 6);
    assert_eq!(head["state_root"], json!(c1.state_root));
}

#[tokio::test]
async fn health_and_metrics() {
    let s = serve_with_key().await;
    let mut events = signed_batch(3);
    events[2].agent_signature.0[1] ^= 1;
    s.ingest(&events).await;
    s.ingest(&events[..1]).await;
    let (status, health) = s.call(Method::GET, "/health", None, None).await;
    assert_eq!(
        (status, health["status"].clone()),
        (StatusCode::OK, json!("ok"))
    );
    let resp = s.send(Method::GET, "/metrics", None, None).await;
    assert!(resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain")));
    let text = resp.text().await.expect("text");
    for line in [
        "ves_events_accepted_total 2",
        "ves_events_replayed_total 1",
        "ves_events_rejected_total{reason=\"invalid_signature\"} 1",
        "ves_ingest_duration_seconds_count 2",
        "ves_ingest_duration_seconds_bucket{le=\"+Inf\"} 2",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}
