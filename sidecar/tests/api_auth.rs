//! The sidecar served for real on a loopback port: health is open, everything else needs the
//! bearer token, errors are structured JSON, responses carry a request id.

mod common;

use common::TOKEN;

#[tokio::test]
async fn health_is_open_and_everything_else_needs_the_token() {
    let h = common::start(&[]).await;
    let base = h.base.clone();
    let http = reqwest::Client::new();

    let health = http
        .get(format!("{base}/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    let body: serde_json::Value = health.json().await.expect("json");
    assert_eq!(body["status"], "ok");

    let anon = http
        .get(format!("{base}/v1/info"))
        .send()
        .await
        .expect("anon");
    assert_eq!(anon.status(), 401);
    let err: serde_json::Value = anon.json().await.expect("json");
    assert_eq!(err["error"]["code"], "unauthorized");

    let wrong = http
        .get(format!("{base}/v1/info"))
        .bearer_auth("test-token-0123456789abcdeX")
        .send()
        .await
        .expect("wrong");
    assert_eq!(wrong.status(), 401);

    let ok = http
        .get(format!("{base}/v1/info"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("ok");
    assert_eq!(ok.status(), 200);

    // Unknown routes are not a way to probe without the token.
    let unknown = http
        .get(format!("{base}/v1/nope"))
        .send()
        .await
        .expect("unknown");
    assert_eq!(unknown.status(), 401);
    let unknown_authed = http
        .get(format!("{base}/v1/nope"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("unknown");
    assert_eq!(unknown_authed.status(), 404);
}
