//! `/v1/ssh/keys` add/revoke against a real sidecar with a temp home root.

mod common;

use serde_json::json;

use common::{start, TOKEN};

// Generated once with ssh-keygen; the fingerprints are what `ssh-keygen -lf` printed.
const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF8TM/gS/VamNjFneKKItNYHw8028ziB/7x1lcyFd5RU test@example";
const ED25519_FP: &str = "SHA256:bFj0KDRa54MKlctRZkt5WyK8ySWhpig6gpoxQ0Z5MHk";
const RSA1024: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDOApaWp5lMTF2hBIzcjrjuTWVOt9Ar8I4zFF9V96rPYEYN/eA6FjbwbneFMViRtJf1t0mrVX+zN6uTxFd3T/xtmaAajNtYIK8+x1JOj2aODfEeLBnX2xQLguujAeXLx6p9V0T/fWOgIjWYxRD4/iYNYy7xQRfDoDw1JIXvp44E1Q== root@vm";

async fn delete(h: &common::Harness, body: serde_json::Value) -> (u16, serde_json::Value) {
    let r = h
        .http
        .delete(h.url("/v1/ssh/keys"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("send");
    let s = r.status().as_u16();
    (s, r.json().await.expect("json"))
}

#[tokio::test]
async fn add_is_idempotent_and_revoke_removes() {
    let h = start(&[("SIDECAR_WORKSPACE_USER", "agent")]).await;
    std::fs::create_dir(h.homes.path().join("agent")).expect("home");
    let body = json!({"username": "agent", "public_key": ED25519});

    let (s, b) = h.post("/v1/ssh/keys", body.clone()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["fingerprint"], ED25519_FP);
    assert_eq!(b["changed"], true);
    let (_, b) = h.post("/v1/ssh/keys", body.clone()).await;
    assert_eq!(b["changed"], false);
    // The username defaults to the workspace user.
    let (_, b) = h.post("/v1/ssh/keys", json!({"public_key": ED25519})).await;
    assert_eq!(b["changed"], false);

    let ssh = h.homes.path().join("agent/.ssh");
    let file = ssh.join("authorized_keys");
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        format!("{ED25519}\n")
    );
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&ssh), 0o700);

    let (s, b) = delete(&h, body.clone()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["changed"], true);
    assert_eq!(b["fingerprint"], ED25519_FP);
    let (s, b) = delete(&h, body).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["changed"], false);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "");
}

#[tokio::test]
async fn bad_keys_and_usernames_are_rejected() {
    let h = start(&[("SIDECAR_WORKSPACE_USER", "agent")]).await;
    std::fs::create_dir(h.homes.path().join("agent")).expect("home");
    for (key, code) in [
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "invalid_key"),
        (RSA1024, "invalid_key"),
        ("ssh-ed25519 not-base64!", "invalid_key"),
        (
            &ED25519.replacen("ssh-ed25519", "ecdsa-sha2-nistp256", 1),
            "invalid_key",
        ),
    ] {
        let (s, b) = h
            .post(
                "/v1/ssh/keys",
                json!({"username": "agent", "public_key": key}),
            )
            .await;
        assert_eq!(s, 400, "{key}: {b}");
        assert_eq!(b["error"]["code"], code);
    }
    let (s, b) = h.post("/v1/ssh/keys", json!({"public_key": RSA1024})).await;
    assert_eq!(s, 400);
    assert!(b["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("1024"));

    for user in ["Root", "../etc", "a b", "x".repeat(40).as_str()] {
        let (s, b) = h
            .post(
                "/v1/ssh/keys",
                json!({"username": user, "public_key": ED25519}),
            )
            .await;
        assert_eq!(s, 400, "{user}: {b}");
        assert_eq!(b["error"]["code"], "invalid_username");
    }
    let (s, b) = h
        .post(
            "/v1/ssh/keys",
            json!({"username": "ghost", "public_key": ED25519}),
        )
        .await;
    assert_eq!(s, 404, "{b}");
    assert_eq!(b["error"]["code"], "no_such_user");
    assert!(!h.homes.path().join("ghost").exists());
}
