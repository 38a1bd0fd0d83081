//! Golden bytes shared with the forge tests (`contracts/test/fixtures/golden-outputs.json`):
//! the Rust side must produce byte-identical encodings for the same sample values — results
//! through the SDK's own `TangleResult` (what the operator really submits), requests through
//! `abi_encode` (what the customer CLI submits).

use agent_types::AgentJobs::*;
use blueprint_sdk::alloy::primitives::{Bytes, FixedBytes};
use blueprint_sdk::alloy::sol_types::SolValue;
use blueprint_sdk::tangle::extract::TangleResult;
use blueprint_sdk::{IntoJobResult, JobResult};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contracts/test/fixtures/golden-outputs.json"
    );
    let text = std::fs::read_to_string(path).expect("golden fixture is committed");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} is a string"))
        .to_string()
}
fn u(v: &Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("{k} is an unsigned integer"))
}
fn b(v: &Value, k: &str) -> bool {
    v[k].as_bool().unwrap_or_else(|| panic!("{k} is a bool"))
}
fn hexb(v: &Value, k: &str) -> Vec<u8> {
    hex::decode(s(v, k).trim_start_matches("0x")).expect("hex")
}
fn b32(v: &Value, k: &str) -> FixedBytes<32> {
    FixedBytes::from_slice(&hexb(v, k))
}
fn encoded(entry: &Value) -> Vec<u8> {
    hex::decode(
        entry["encoded"]
            .as_str()
            .expect("encoded")
            .trim_start_matches("0x"),
    )
    .expect("hex")
}

/// What the operator puts on chain for a result: the SDK's `TangleResult<T>` job body.
fn sdk_bytes<T: SolValue + Send + 'static>(value: T) -> Vec<u8> {
    match TangleResult(value).into_job_result() {
        Some(JobResult::Ok { body, .. }) => body.to_vec(),
        Some(JobResult::Err(e)) => panic!("encoding failed: {e:?}"),
        None => panic!("TangleResult produced no job result"),
    }
}

#[test]
fn result_encodings_match_the_forge_fixture() {
    let fx = fixture();
    let r = &fx["results"];

    let f = &r["ProvisionResult"]["fields"];
    let v = ProvisionResult {
        sandboxId: s(f, "sandboxId"),
        sidecarUrl: s(f, "sidecarUrl"),
        sshPort: u(f, "sshPort") as u16,
        attestation: Bytes::from(hexb(f, "attestation")),
        sealedAccess: Bytes::from(hexb(f, "sealedAccess")),
        sidecarPublicKey: b32(f, "sidecarPublicKey"),
    };
    assert_eq!(
        sdk_bytes(v),
        encoded(&r["ProvisionResult"]),
        "ProvisionResult"
    );

    let f = &r["ExecResult"]["fields"];
    let v = ExecResult {
        exitCode: f["exitCode"].as_i64().expect("exitCode") as i32,
        stdout: s(f, "stdout"),
        stderr: s(f, "stderr"),
        vesSequence: u(f, "vesSequence"),
        vesStateRoot: b32(f, "vesStateRoot"),
    };
    assert_eq!(sdk_bytes(v), encoded(&r["ExecResult"]), "ExecResult");

    let f = &r["PromptResult"]["fields"];
    let v = PromptResult {
        success: b(f, "success"),
        response: s(f, "response"),
        transcriptDigest: b32(f, "transcriptDigest"),
    };
    assert_eq!(sdk_bytes(v), encoded(&r["PromptResult"]), "PromptResult");

    let f = &r["TaskResult"]["fields"];
    let v = TaskResult {
        success: b(f, "success"),
        finalText: s(f, "finalText"),
        transcriptDigest: b32(f, "transcriptDigest"),
        outputHash: b32(f, "outputHash"),
    };
    assert_eq!(sdk_bytes(v), encoded(&r["TaskResult"]), "TaskResult");

    let f = &r["SshProvisionResult"]["fields"];
    let v = SshProvisionResult {
        success: b(f, "success"),
        fingerprint: s(f, "fingerprint"),
    };
    assert_eq!(
        sdk_bytes(v),
        encoded(&r["SshProvisionResult"]),
        "SshProvisionResult"
    );

    let f = &r["SshRevokeResult"]["fields"];
    let v = SshRevokeResult {
        success: b(f, "success"),
    };
    assert_eq!(
        sdk_bytes(v),
        encoded(&r["SshRevokeResult"]),
        "SshRevokeResult"
    );

    let f = &r["SnapshotResult"]["fields"];
    let v = SnapshotResult {
        snapshotId: s(f, "snapshotId"),
        sha256: b32(f, "sha256"),
        sizeBytes: u(f, "sizeBytes"),
        location: s(f, "location"),
        vesSequence: u(f, "vesSequence"),
        vesStateRoot: b32(f, "vesStateRoot"),
    };
    assert_eq!(
        sdk_bytes(v),
        encoded(&r["SnapshotResult"]),
        "SnapshotResult"
    );

    let f = &r["DeprovisionResult"]["fields"];
    let v = DeprovisionResult {
        success: b(f, "success"),
    };
    assert_eq!(
        sdk_bytes(v),
        encoded(&r["DeprovisionResult"]),
        "DeprovisionResult"
    );
}

#[test]
fn request_encodings_match_the_forge_fixture() {
    let fx = fixture();
    let r = &fx["requests"];

    let f = &r["ProvisionRequest"]["fields"];
    let v = ProvisionRequest {
        cpuMillis: u(f, "cpuMillis") as u32,
        memoryMb: u(f, "memoryMb"),
        diskGb: u(f, "diskGb") as u32,
        lifetimeSecs: u(f, "lifetimeSecs"),
        idleTimeoutSecs: u(f, "idleTimeoutSecs"),
        image: s(f, "image"),
        sshPublicKey: s(f, "sshPublicKey"),
        customerX25519PublicKey: b32(f, "customerX25519PublicKey"),
        attestationNonce: b32(f, "attestationNonce"),
    };
    assert_eq!(
        v.abi_encode(),
        encoded(&r["ProvisionRequest"]),
        "ProvisionRequest"
    );

    let f = &r["ExecRequest"]["fields"];
    let v = ExecRequest {
        command: s(f, "command"),
        cwd: s(f, "cwd"),
        env: f["env"]
            .as_array()
            .expect("env")
            .iter()
            .map(|e| e.as_str().expect("env entry").to_string())
            .collect(),
        timeoutMs: u(f, "timeoutMs"),
    };
    assert_eq!(v.abi_encode(), encoded(&r["ExecRequest"]), "ExecRequest");

    let f = &r["PromptRequest"]["fields"];
    let v = PromptRequest {
        prompt: s(f, "prompt"),
        systemPrompt: s(f, "systemPrompt"),
        model: s(f, "model"),
        maxTokens: u(f, "maxTokens") as u32,
        seed: u(f, "seed"),
        timeoutMs: u(f, "timeoutMs"),
    };
    assert_eq!(
        v.abi_encode(),
        encoded(&r["PromptRequest"]),
        "PromptRequest"
    );

    let f = &r["TaskRequest"]["fields"];
    let v = TaskRequest {
        prompt: s(f, "prompt"),
        systemPrompt: s(f, "systemPrompt"),
        model: s(f, "model"),
        maxTurns: u(f, "maxTurns") as u32,
        seed: u(f, "seed"),
        timeoutMs: u(f, "timeoutMs"),
        workflowJson: s(f, "workflowJson"),
    };
    assert_eq!(v.abi_encode(), encoded(&r["TaskRequest"]), "TaskRequest");

    let f = &r["SshProvisionRequest"]["fields"];
    let v = SshProvisionRequest {
        username: s(f, "username"),
        publicKey: s(f, "publicKey"),
    };
    assert_eq!(
        v.abi_encode(),
        encoded(&r["SshProvisionRequest"]),
        "SshProvisionRequest"
    );

    let f = &r["SshRevokeRequest"]["fields"];
    let v = SshRevokeRequest {
        username: s(f, "username"),
        publicKey: s(f, "publicKey"),
    };
    assert_eq!(
        v.abi_encode(),
        encoded(&r["SshRevokeRequest"]),
        "SshRevokeRequest"
    );

    let f = &r["SnapshotRequest"]["fields"];
    let v = SnapshotRequest {
        destinationUrl: s(f, "destinationUrl"),
        includeState: b(f, "includeState"),
        dockerCommit: b(f, "dockerCommit"),
    };
    assert_eq!(
        v.abi_encode(),
        encoded(&r["SnapshotRequest"]),
        "SnapshotRequest"
    );

    let f = &r["DeprovisionRequest"]["fields"];
    let v = DeprovisionRequest {
        reason: s(f, "reason"),
    };
    assert_eq!(
        v.abi_encode(),
        encoded(&r["DeprovisionRequest"]),
        "DeprovisionRequest"
    );
}
