//! `GET /v1/manifest`: public, signed by the sidecar's identity key in the discovery index's
//! format, stable while the sidecar runs, and it verifies against the key `/v1/info` reports.

mod common;

use common::start;
use discovery::ids::Bytes32;
use discovery::manifest::{verify, SignedManifest};

#[tokio::test]
async fn manifest_is_public_signed_and_verifies_against_the_sidecar_key() {
    let h = start(&[]).await;
    // No token needed: the discovery index fetches it from the registered endpoint.
    let resp = reqwest::get(h.url("/v1/manifest")).await.expect("request");
    assert_eq!(resp.status(), 200);
    let first: serde_json::Value = resp.json().await.expect("json");
    let signed = SignedManifest::from_value(first.clone()).expect("a signed manifest");
    let (_, info) = h.get("/v1/info").await;
    let key: Bytes32 = info["ves"]["public_key"]
        .as_str()
        .expect("key")
        .parse()
        .expect("hex key");
    let hash = signed.hash().expect("hash");
    verify(&signed, &hash, &key).expect("signature and key");
    assert!(signed
        .manifest
        .tools
        .iter()
        .any(|t| t.id == "agent.prompt" && t.category == "llm"));
    // Stable while the sidecar runs (the on-chain hash stays valid).
    let again: serde_json::Value = reqwest::get(h.url("/v1/manifest"))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(first, again);
    // A tampered copy does not verify.
    let mut forged = signed.clone();
    forged.manifest.tools[0].description.push_str(" (free!)");
    assert!(verify(&forged, &hash, &key).is_err());
}
