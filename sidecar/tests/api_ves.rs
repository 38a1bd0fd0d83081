//! The embedded VES sequencer, served for real: the sidecar identity persists, every action
//! is a signed event that the client-side verification accepts, the sequencer API is behind
//! the sidecar token, commitments and proofs verify, and attestation binds the nonce.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sidecar::ves::attestation::{verify_dev, DevEvidence};
use sidecar::Config;
use uuid::Uuid;
use ves::client::types::PulledEvent;
use ves::client::verify::{verify_inclusion_proof, verify_pulled_event, verify_stream, KeyRing};
use ves::client::VesClient;
use ves::{Ed25519PublicKey, StreamKey};

use common::{start, Harness, TOKEN};

const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF8TM/gS/VamNjFneKKItNYHw8028ziB/7x1lcyFd5RU test@example";
const ED25519_FP: &str = "SHA256:bFj0KDRa54MKlctRZkt5WyK8ySWhpig6gpoxQ0Z5MHk";

/// A sidecar over an existing data directory (for restarts); returns its base URL.
async fn start_on(data: &Path, workspace: &Path) -> String {
    common::serve_on(data, workspace).await.0
}

struct Ves {
    client: VesClient,
    stream: StreamKey,
    public_key: Ed25519PublicKey,
    keys: KeyRing,
}

async fn ves(h: &Harness) -> Ves {
    let (s, info) = h.get("/v1/info").await;
    assert_eq!(s, 200, "{info}");
    let v = &info["ves"];
    let uuid = |k: &str| Uuid::parse_str(v[k].as_str().expect(k)).expect("uuid");
    let stream = StreamKey::new(uuid("tenant_id"), uuid("store_id"));
    let public_key =
        Ed25519PublicKey::from_hex(v["public_key"].as_str().expect("public_key")).expect("key");
    let client = VesClient::new(&h.base, TOKEN).expect("client");
    // Receipts are signed by the published sequencer key, which is the sidecar key.
    let seq_key = client.sequencer_key().await.expect("sequencer key");
    assert_eq!(seq_key.public_key, public_key);
    let records = client
        .list_keys(stream.tenant_id, None)
        .await
        .expect("agent keys");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].agent_id, uuid("agent_id"));
    assert_eq!(records[0].public_key, public_key);
    Ves {
        client,
        stream,
        public_key,
        keys: KeyRing::from_records(&records),
    }
}

impl Ves {
    async fn events(&self) -> Vec<PulledEvent> {
        let page = self.client.pull(self.stream, 1, 1000).await.expect("pull");
        for e in &page.events {
            verify_pulled_event(e, self.stream, &self.keys, &self.public_key)
                .expect("event verifies");
        }
        page.events
    }
}

fn envelope_of(e: &PulledEvent) -> ves::EventEnvelope {
    e.envelope().expect("envelope")
}

fn sha256_hex(data: &[u8]) -> String {
    format!("0x{}", hex::encode(Sha256::digest(data)))
}

#[tokio::test]
async fn identity_and_stream_persist_across_restarts() {
    let data = tempfile::tempdir().expect("data");
    let ws = tempfile::tempdir().expect("ws");
    let http = reqwest::Client::new();
    let info = |base: String| {
        let http = http.clone();
        async move {
            http.get(format!("{base}/v1/info"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .expect("info")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let first = start_on(data.path(), ws.path()).await;
    let a = info(first.clone()).await;
    let r: Value = http
        .post(format!("{first}/v1/exec"))
        .bearer_auth(TOKEN)
        .json(&json!({"command": "true"}))
        .send()
        .await
        .expect("exec")
        .json()
        .await
        .expect("json");
    assert_eq!(r["ves_sequence"], 1, "{r}");

    let second = start_on(data.path(), ws.path()).await;
    let b = info(second.clone()).await;
    assert_eq!(a["ves"], b["ves"]);
    assert!(a["ves"]["public_key"]
        .as_str()
        .is_some_and(|k| k.len() == 66));
    let key_file = data.path().join("sidecar.key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file)
            .expect("key file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    // The stream continues where it was.
    let head: Value = http
        .get(format!("{second}/v1/ves/head"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("head")
        .json()
        .await
        .expect("json");
    assert_eq!(head["sequence"], 1, "{head}");

    // A corrupt key is a startup error and is left alone.
    let broken = tempfile::tempdir().expect("broken");
    let path = broken.path().join("sidecar.key");
    std::fs::write(&path, "not a key").expect("write");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let env: HashMap<&str, String> = HashMap::from([
        ("SIDECAR_TOKEN", TOKEN.to_string()),
        ("SIDECAR_DATA_DIR", broken.path().display().to_string()),
    ]);
    let err = sidecar::router(Config::from_lookup(|k| env.get(k).cloned()).expect("config"))
        .await
        .expect_err("corrupt key");
    assert!(err.to_string().contains("corrupt"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "not a key");
}

#[tokio::test]
async fn exec_is_a_signed_event_behind_the_token_with_verifiable_proofs() {
    let h = start(&[]).await;
    let v = ves(&h).await;

    let (s, r) = h.post("/v1/exec", json!({"command": "echo hi"})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["stdout"], "hi\n");
    assert_eq!(r["ves_sequence"], 1);
    assert!(r["ves_state_root"].is_null());

    let events = v.events().await;
    assert_eq!(events.len(), 1);
    let env = envelope_of(&events[0]);
    assert_eq!(env.ves_version, 2);
    assert!(env.command_id.is_some());
    assert_eq!(env.entity_type, "exec");
    assert_eq!(env.event_type, "exec.completed");
    let p = env.payload.clone().expect("payload");
    assert_eq!(p["command"], "echo hi");
    assert_eq!(p["exit_code"], 0);
    assert_eq!(p["stdout_sha256"], sha256_hex(b"hi\n"));
    assert_eq!(p["stdout_bytes"], 3);
    assert!(p.get("stdout").is_none(), "no full output in the event");

    // Without (or with a wrong) token: 401 for every sequencer route.
    let http = reqwest::Client::new();
    let q = format!(
        "tenant_id={}&store_id={}",
        v.stream.tenant_id, v.stream.store_id
    );
    for path in [
        format!("/api/v1/events?{q}"),
        format!("/api/v1/head?{q}"),
        format!("/api/v1/commitments?{q}"),
        format!("/api/v1/events/stream?{q}"),
        "/api/v1/sequencer/key".to_string(),
    ] {
        let r = http.get(h.url(&path)).send().await.expect("send");
        assert_eq!(r.status(), 401, "{path}");
        let r = http
            .get(h.url(&path))
            .bearer_auth("wrong-token-0123456789abcdef")
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 401, "{path}");
    }
    // Token holders cannot push events or manage the sidecar's agent key.
    let r = http
        .post(h.url("/api/v1/ves/events/ingest"))
        .bearer_auth(TOKEN)
        .json(&json!({"agentId": Uuid::new_v4(), "events": []}))
        .send()
        .await
        .expect("send");
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = http
        .delete(h.url(&format!("/api/v1/agents/keys/1?{q}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403);

    // Commit on demand, then the head carries the state root and the proof verifies.
    let (s, c) = h.post("/v1/ves/commit", json!({})).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["seq_start"], 1);
    assert_eq!(c["seq_end"], 1);
    assert_eq!(c["created"], true);
    let (_, head) = h.get("/v1/ves/head").await;
    assert_eq!(head["sequence"], 1);
    assert_eq!(head["state_root"], c["state_root"]);
    let (s, again) = h.post("/v1/ves/commit", json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(again["created"], false);
    assert_eq!(again["state_root"], c["state_root"]);

    let commitments = v.client.all_commitments(v.stream).await.expect("list");
    assert_eq!(commitments.len(), 1);
    assert_eq!(
        json!(commitments[0].state_root),
        c["state_root"],
        "sidecar and API agree"
    );
    let proof = v.client.inclusion_proof(env.event_id).await.expect("proof");
    verify_inclusion_proof(&proof, Some(&commitments[0]), Some(&env)).expect("proof verifies");

    // The next action reports the latest committed state root.
    let (_, r) = h.post("/v1/exec", json!({"command": "exit 3"})).await;
    assert_eq!(r["exit_code"], 3);
    assert_eq!(r["ves_sequence"], 2);
    assert_eq!(r["ves_state_root"], c["state_root"]);

    let events = v.events().await;
    let report = verify_stream(
        v.stream,
        &events,
        &commitments,
        &[proof],
        &v.keys,
        &v.public_key,
    );
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(report.events, 2);
}

#[tokio::test]
async fn ssh_and_snapshot_actions_are_in_the_stream() {
    let h = start(&[("SIDECAR_WORKSPACE_USER", "agent")]).await;
    std::fs::create_dir(h.homes.path().join("agent")).expect("home");
    std::fs::write(h.ws().join("a.txt"), "hello").expect("file");
    let v = ves(&h).await;

    let (s, added) = h
        .post(
            "/v1/ssh/keys",
            json!({"username": "agent", "public_key": ED25519}),
        )
        .await;
    assert_eq!(s, 200, "{added}");
    assert_eq!(added["ves_sequence"], 1);
    let r = h
        .http
        .delete(h.url("/v1/ssh/keys"))
        .bearer_auth(TOKEN)
        .json(&json!({"username": "agent", "public_key": ED25519}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let revoked: Value = r.json().await.expect("json");
    assert_eq!(revoked["ves_sequence"], 2);

    let (s, snap) = h.post("/v1/snapshots", json!({})).await;
    assert_eq!(s, 200, "{snap}");
    assert_eq!(snap["ves_sequence"], 3);

    let events = v.events().await;
    let summary: Vec<(String, String, Value)> = events
        .iter()
        .map(|e| {
            let env = envelope_of(e);
            (env.event_type, env.entity_id, env.payload.expect("payload"))
        })
        .collect();
    assert_eq!(summary[0].0, "ssh.key_added");
    assert_eq!(summary[0].1, ED25519_FP);
    assert_eq!(summary[0].2["fingerprint"], ED25519_FP);
    assert_eq!(summary[1].0, "ssh.key_revoked");
    assert_eq!(summary[1].2["changed"], true);
    assert_eq!(summary[2].0, "snapshot.created");
    assert_eq!(summary[2].2["snapshot_id"], snap["snapshot_id"]);
    assert_eq!(summary[2].2["sha256"], snap["sha256"]);
    assert_eq!(summary[2].2["size_bytes"], snap["size_bytes"]);
}

#[tokio::test]
async fn attestation_binds_the_nonce_to_the_sidecar_key() {
    let h = start(&[("SIDECAR_ATTESTATION", "dev")]).await;
    let v = ves(&h).await;
    let nonce = [0x5au8; 32];
    let (s, a) = h
        .get(&format!("/v1/attestation?nonce={}", hex::encode(nonce)))
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["provider"], "development");
    assert_eq!(a["tenant_id"], v.stream.tenant_id.to_string());
    assert_eq!(a["store_id"], v.stream.store_id.to_string());
    let mut pre = nonce.to_vec();
    pre.extend_from_slice(&v.public_key.to_bytes());
    assert_eq!(a["report_data"], sha256_hex(&pre));
    let evidence: DevEvidence = serde_json::from_value(a["evidence"].clone()).expect("evidence");
    assert_eq!(evidence.body.provider, "development");
    verify_dev(&evidence, &nonce, &v.public_key).expect("evidence verifies");
    assert!(verify_dev(&evidence, &[0; 32], &v.public_key).is_err());

    let (s, _) = h.get("/v1/attestation?nonce=abcd").await;
    assert_eq!(s, 400);
    let (s, _) = h.get("/v1/attestation").await;
    assert_eq!(s, 400);

    // Without a provider there is no evidence, only the binding.
    let h = start(&[]).await;
    let (s, a) = h
        .get(&format!("/v1/attestation?nonce=0x{}", hex::encode(nonce)))
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["provider"], "none");
    assert!(a["evidence"].is_null());
    assert!(a["report_data"].is_string());
}

#[tokio::test]
async fn live_stream_delivers_new_exec_events() {
    let h = start(&[]).await;
    let v = ves(&h).await;
    let mut sub = v
        .client
        .subscribe(v.stream, None, None)
        .await
        .expect("subscribe");
    let (s, r) = h.post("/v1/exec", json!({"command": "echo live"})).await;
    assert_eq!(s, 200, "{r}");
    let event = tokio::time::timeout(Duration::from_secs(10), sub.next_event())
        .await
        .expect("event in time")
        .expect("stream open")
        .expect("event parses");
    assert_eq!(event.sequence_number, 1);
    verify_pulled_event(&event, v.stream, &v.keys, &v.public_key).expect("verifies");
    let env = envelope_of(&event);
    assert_eq!(env.payload.expect("payload")["command"], "echo live");
}

#[tokio::test]
async fn streamed_exec_is_recorded_with_digests_of_the_streamed_output() {
    let h = start(&[]).await;
    let v = ves(&h).await;
    let text = h
        .http
        .post(h.url("/v1/exec/stream"))
        .bearer_auth(TOKEN)
        .json(&json!({"command": "echo one; echo err >&2; echo two"}))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("body");
    let exit = text
        .split("\n\n")
        .find(|frame| frame.contains("event: exit"))
        .and_then(|frame| frame.lines().find_map(|l| l.strip_prefix("data: ")))
        .expect("exit event");
    let exit: Value = serde_json::from_str(exit).expect("exit json");
    assert_eq!(exit["ves_sequence"], 1, "{exit}");

    let events = v.events().await;
    let env = envelope_of(&events[0]);
    let p = env.payload.clone().expect("payload");
    assert_eq!(p["stdout_sha256"], sha256_hex(b"one\ntwo\n"));
    assert_eq!(p["stderr_sha256"], sha256_hex(b"err\n"));
    // The single-event route serves the same event with its receipt.
    let one = v.client.event(env.event_id).await.expect("event by id");
    assert_eq!(one.item.sequence_number, 1);
    assert_eq!(one.item.envelope().expect("env"), env);
}
