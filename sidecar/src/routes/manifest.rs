//! `GET /v1/manifest` (public, like `/health`): the agent's tool manifest, signed by the
//! sidecar's Ed25519 identity key in the format of the discovery index
//! (`discovery::manifest`). The operator puts its hash into the on-chain agent registry; the
//! index fetches it from the registered endpoint and checks hash and signature.
//!
//! `issued_at` is the sidecar's start time, so the document (and its hash) is stable while
//! the sidecar runs; the operator re-announces when a restart changed it.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use discovery::manifest::{Pricing, SignedManifest, Tool, ToolManifest};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::server::AppState;

fn started_at() -> u64 {
    static START: OnceLock<u64> = OnceLock::new();
    *START.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    })
}

fn tool(
    id: &str,
    name: &str,
    description: &str,
    category: &str,
    input: Value,
    output: Value,
    multiple: u32,
) -> Tool {
    Tool {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        category: category.into(),
        input_schema: input,
        output_schema: output,
        // Priced in multiples of the blueprint's base job rate (DESIGN "The eight jobs").
        pricing: Pricing {
            unit: "base_job_rate".into(),
            amount: multiple.to_string(),
        },
    }
}

fn object(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "required": required, "properties": props})
}

/// What this sidecar offers, as manifest tools.
pub fn tools() -> Vec<Tool> {
    let text = json!({"type": "string"});
    vec![
        tool(
            "sandbox.exec",
            "Run a command",
            "Run a shell command in the sandbox as the unprivileged workspace user",
            "compute",
            object(
                &["command"],
                json!({"command": text, "cwd": text, "timeout_ms": {"type": "integer"}}),
            ),
            object(
                &["exit_code"],
                json!({"exit_code": {"type": "integer"}, "stdout": text, "stderr": text}),
            ),
            1,
        ),
        tool(
            "agent.prompt",
            "Prompt the agent",
            "One model turn; deterministic result fields with a transcript digest",
            "llm",
            object(
                &["prompt"],
                json!({"prompt": text, "system_prompt": text, "seed": {"type": "integer"}}),
            ),
            object(
                &["success"],
                json!({"success": {"type": "boolean"}, "response": text, "transcript_digest": text}),
            ),
            20,
        ),
        tool(
            "agent.task",
            "Agent task with tools",
            "Multi-turn tool loop acting in the sandbox (run commands, read and write files)",
            "llm",
            object(
                &["prompt", "max_turns"],
                json!({"prompt": text, "max_turns": {"type": "integer"}}),
            ),
            object(
                &["success"],
                json!({"success": {"type": "boolean"}, "final_text": text, "transcript_digest": text}),
            ),
            250,
        ),
        tool(
            "workflow.run",
            "Run a workflow",
            "Durable DAG of steps with a signed, verifiable execution receipt",
            "orchestration",
            object(
                &["workflow"],
                json!({"workflow": {"type": "object"}, "inputs": {"type": "object"}}),
            ),
            object(
                &["status"],
                json!({"status": text, "output": {}, "receipt": {"type": "object"}}),
            ),
            250,
        ),
        tool(
            "sandbox.snapshot",
            "Snapshot the workspace",
            "Tar archive of the workspace with its sha256, kept locally or uploaded",
            "storage",
            object(
                &[],
                json!({"destination_url": text, "include_state": {"type": "boolean"}}),
            ),
            object(
                &["snapshot_id", "sha256"],
                json!({"snapshot_id": text, "sha256": text, "size_bytes": {"type": "integer"}}),
            ),
            5,
        ),
    ]
}

pub async fn manifest(State(state): State<AppState>) -> Result<Json<SignedManifest>, ApiError> {
    let key = state.ves.identity.signing_key();
    let public = key.verifying_key().to_bytes();
    let doc = ToolManifest::new(&public, tools(), started_at());
    let signed = SignedManifest::sign(doc, key)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "manifest", e.to_string()))?;
    Ok(Json(signed))
}
