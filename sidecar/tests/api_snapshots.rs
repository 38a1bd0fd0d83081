//! `/v1/snapshots`: create → digest matches the file → modify → restore; SSRF rejections.

mod common;

use serde_json::json;
use sha2::{Digest, Sha256};

use common::start;

#[tokio::test]
async fn create_verify_modify_restore() {
    let h = start(&[]).await;
    std::fs::create_dir_all(h.ws().join("src")).expect("mkdir");
    std::fs::write(h.ws().join("src/main.txt"), "original").expect("write");
    std::fs::write(h.data.path().join("journal"), "state").expect("write");

    let (s, info) = h
        .post("/v1/snapshots", json!({"include_state": true}))
        .await;
    assert_eq!(s, 200, "{info}");
    let id = info["snapshot_id"].as_str().expect("id").to_string();
    assert_eq!(info["location"], format!("local:{id}"));
    let archive = h.data.path().join(format!("snapshots/{id}.tar"));
    let bytes = std::fs::read(&archive).expect("archive");
    assert_eq!(info["size_bytes"], bytes.len() as u64);
    assert_eq!(
        info["sha256"],
        format!("0x{}", hex::encode(Sha256::digest(&bytes)))
    );

    let (s, list) = h.get("/v1/snapshots").await;
    assert_eq!(s, 200);
    assert_eq!(list["snapshots"][0]["snapshot_id"], id);

    std::fs::write(h.ws().join("src/main.txt"), "changed").expect("write");
    std::fs::write(h.ws().join("new.txt"), "new").expect("write");
    let (s, b) = h
        .post("/v1/snapshots/restore", json!({"snapshot_id": id}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        std::fs::read_to_string(h.ws().join("src/main.txt")).expect("read"),
        "original"
    );
    assert!(!h.ws().join("new.txt").exists());

    let (s, _) = h
        .post("/v1/snapshots/restore", json!({"snapshot_id": "../../etc"}))
        .await;
    assert_eq!(s, 400);
    let (s, _) = h
        .post(
            "/v1/snapshots/restore",
            json!({"snapshot_id": "snap-00000000000000000000000000000000"}),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn internal_destinations_are_rejected_before_connecting() {
    let h = start(&[]).await;
    for url in [
        "http://127.0.0.1:1/upload",
        "http://10.0.0.8/upload",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/upload",
        "ftp://example.com/x",
    ] {
        let (s, b) = h
            .post("/v1/snapshots", json!({"destination_url": url}))
            .await;
        assert_eq!(s, 400, "{url}: {b}");
        assert_eq!(b["error"]["code"], "forbidden_destination");
    }
    // Nothing was archived for a rejected destination.
    let (_, list) = h.get("/v1/snapshots").await;
    assert_eq!(list["snapshots"], json!([]));
}

#[tokio::test]
async fn unsafe_archives_are_refused() {
    let h = start(&[]).await;
    std::fs::write(h.ws().join("keep"), "k").expect("write");
    let dir = h.data.path().join("snapshots");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let id = "snap-0123456789abcdef0123456789abcdef";
    let mut b = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    header.set_mode(0o777);
    b.append_link(&mut header, "workspace/evil", "/etc")
        .expect("link");
    let bytes = b.into_inner().expect("tar");
    std::fs::write(dir.join(format!("{id}.tar")), bytes).expect("write");
    let (s, body) = h
        .post("/v1/snapshots/restore", json!({"snapshot_id": id}))
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["error"]["code"], "unsafe_archive");
    // Validation happens before the workspace is touched.
    assert!(h.ws().join("keep").exists());
    assert!(!h.ws().join("evil").exists());
}

#[tokio::test]
async fn upload_with_put_when_private_destinations_are_allowed() {
    use axum::body::Bytes;
    use std::sync::{Arc, Mutex};
    let received: Arc<Mutex<Vec<u8>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/bucket/snap.tar",
        axum::routing::put(move |body: Bytes| async move {
            if let Ok(mut r) = sink.lock() {
                r.extend_from_slice(&body);
            }
            axum::http::StatusCode::CREATED
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });

    let h = start(&[("SIDECAR_SNAPSHOT_ALLOW_PRIVATE", "true")]).await;
    std::fs::write(h.ws().join("a.txt"), "upload me").expect("write");
    let url = format!("http://{addr}/bucket/snap.tar?X-Signature=secret");
    let (s, info) = h
        .post("/v1/snapshots", json!({"destination_url": url}))
        .await;
    assert_eq!(s, 200, "{info}");
    assert_eq!(info["location"], format!("http://{addr}/bucket/snap.tar"));
    let body = received.lock().expect("lock").clone();
    assert_eq!(info["size_bytes"], body.len() as u64);
    assert_eq!(
        info["sha256"],
        format!("0x{}", hex::encode(Sha256::digest(&body)))
    );
}
