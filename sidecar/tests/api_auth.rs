//! The sidecar served for real on a loopback port: health is open, everything else needs the
//! bearer token, errors are structured JSON, responses carry a request id.

use std::collections::HashMap;

use sidecar::Config;

const TOKEN: &str = "test-token-0123456789abcdef";

async fn start() -> String {
    let dir = std::env::temp_dir();
    // Leaked on purpose: the data directory must outlive the spawned server.
    let data = tempfile::tempdir().expect("data dir").keep();
    let env: HashMap<&str, String> = HashMap::from([
        ("SIDECAR_TOKEN", TOKEN.to_string()),
        ("SIDECAR_LISTEN", "127.0.0.1:0".to_string()),
        ("SIDECAR_WORKSPACE", dir.display().to_string()),
        ("SIDECAR_DATA_DIR", data.display().to_string()),
    ]);
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = sidecar::router(config).await.expect("sidecar starts");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn health_is_open_and_everything_else_needs_the_token() {
    let base = start().await;
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
