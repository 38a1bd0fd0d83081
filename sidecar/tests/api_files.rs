//! `/v1/files` read/write/list against a real sidecar, including escape attempts.

mod common;

use base64::Engine;

use common::{start, TOKEN};

#[tokio::test]
async fn round_trip_and_listing() {
    let h = start(&[]).await;
    let put = h
        .http
        .put(h.url("/v1/files?path=dir/sub/hello.txt"))
        .bearer_auth(TOKEN)
        .body(vec![0u8, 1, 2, 255, b'h', b'i'])
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 200);
    let w: serde_json::Value = put.json().await.expect("json");
    assert_eq!(w["path"], "dir/sub/hello.txt");
    assert_eq!(w["size"], 6);

    let (s, b) = h.get("/v1/files?path=dir/sub/hello.txt").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["size"], 6);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b["content_base64"].as_str().expect("b64"))
        .expect("decode");
    assert_eq!(bytes, vec![0u8, 1, 2, 255, b'h', b'i']);
    assert_eq!(
        std::fs::read(h.ws().join("dir/sub/hello.txt")).expect("on disk"),
        bytes
    );

    let (s, b) = h.get("/v1/files/list?path=dir").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["entries"][0]["name"], "sub");
    assert_eq!(b["entries"][0]["kind"], "dir");
    let (_, b) = h.get("/v1/files/list?path=dir/sub").await;
    assert_eq!(b["entries"][0]["kind"], "file");
    assert_eq!(b["entries"][0]["size"], 6);

    let (s, b) = h.get("/v1/files?path=nope.txt").await;
    assert_eq!(s, 404, "{b}");
    assert_eq!(b["error"]["code"], "not_found");
}

#[tokio::test]
async fn traversal_and_symlink_escapes_are_rejected() {
    let h = start(&[]).await;
    let outside = tempfile::tempdir().expect("outside");
    std::fs::write(outside.path().join("secret"), "s3cret").expect("write");
    std::os::unix::fs::symlink(outside.path(), h.ws().join("link")).expect("symlink");
    std::os::unix::fs::symlink(outside.path().join("new"), h.ws().join("dangling"))
        .expect("symlink");

    for path in [
        "../etc/passwd",
        "/etc/passwd",
        "a/../../x",
        "link/secret",
        "%00x",
    ] {
        let (s, b) = h.get(&format!("/v1/files?path={path}")).await;
        assert!(s == 400 || s == 403, "{path}: {s} {b}");
        assert!(b["error"]["code"].is_string());
    }
    let (s, _) = h.get("/v1/files/list?path=link").await;
    assert_eq!(s, 403);
    for path in ["link/planted", "../planted", "dangling", "link/sub/planted"] {
        let r = h
            .http
            .put(h.url(&format!("/v1/files?path={path}")))
            .bearer_auth(TOKEN)
            .body("x")
            .send()
            .await
            .expect("put");
        assert!(
            r.status() == 400 || r.status() == 403,
            "{path}: {}",
            r.status()
        );
    }
    assert!(!outside.path().join("planted").exists());
    assert!(!outside.path().join("new").exists());
    assert!(!outside.path().join("sub").exists());
}
