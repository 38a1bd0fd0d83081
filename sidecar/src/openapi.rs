//! The OpenAPI 3.1 description of the sidecar's own API, served unauthenticated at
//! `GET /openapi.json` (like `/health`: it describes the API, it reveals nothing about the
//! sandbox).
//!
//! Request and response bodies with fixed types derive their schemas with utoipa; routes whose
//! bodies are dynamic JSON (agent results, workflows, VES heads) are described by hand. Paths
//! are generated from [`crate::server::route_list`], the list the router is built from, and
//! every route must have an entry in [`DOCS`] (a test enforces it). The embedded sequencer's
//! `/api/v1/...` API is the `ves-sequencer` crate's and is not repeated here.

use std::sync::OnceLock;

use axum::Json;
use serde_json::{json, Map, Value};
use utoipa::OpenApi;

use crate::exec::{ExecRequest, ExecResult};
use crate::files::{Entry, FileContent, Kind, Listing, Written};
use crate::routes::agent::{PromptRequest, TaskRequest};
use crate::routes::health::Health;
use crate::routes::snapshots::SnapshotList;
use crate::snapshot::{CreateRequest, RestoreRequest, Restored, SnapshotInfo};
use crate::ssh::{KeyChange, KeyRequest};

#[derive(OpenApi)]
#[openapi(components(schemas(
    Health,
    PromptRequest,
    TaskRequest,
    ExecRequest,
    ExecResult,
    KeyRequest,
    KeyChange,
    CreateRequest,
    RestoreRequest,
    SnapshotInfo,
    SnapshotList,
    Restored,
    FileContent,
    Written,
    Kind,
    Entry,
    Listing,
)))]
struct Schemas;

/// How a route's response body is described.
#[derive(Clone, Copy, Debug)]
pub enum Body {
    /// A derived schema by name.
    Schema(&'static str),
    /// A derived schema plus the VES head the action was recorded at.
    Recorded(&'static str),
    /// A Server-Sent Events stream; the text lists its event names.
    Events(&'static str),
    /// A JSON object whose shape is described in the text.
    Object(&'static str),
    /// Raw bytes.
    Raw(&'static str),
}

/// The documentation of one route.
#[derive(Clone, Copy, Debug)]
pub struct Doc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub request: Option<Body>,
    pub response: Body,
}

const fn doc(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    request: Option<Body>,
    response: Body,
) -> Doc {
    Doc {
        method,
        path,
        summary,
        request,
        response,
    }
}

use Body::{Events, Object, Raw, Recorded, Schema};

const EXEC_EVENTS: &str = "`stdout` and `stderr` events ({\"data\": string}) as output is read, \
then one `exit` event ({exit_code, timed_out, truncated, duration_ms, ves_sequence, \
ves_state_root}) or an `error` event ({\"error\": {code, message}}).";
const AGENT_EVENTS: &str = "agent turn, tool-call and text events as they happen, then one \
`result` or `error` event.";
const WORKFLOW: &str = "a workflow definition ({name, steps, ...}) or run; see docs/workflows.md.";

/// Every route of the sidecar's router with its documentation.
pub const DOCS: &[Doc] = &[
    doc("GET", "/health", "Liveness (no token)", None, Schema("Health")),
    doc("GET", "/openapi.json", "This document (no token)", None, Object("OpenAPI 3.1 document")),
    doc("GET", "/v1/manifest", "The agent's signed tool manifest (no token)", None,
        Object("{manifest: {manifest_version, agent_id, public_key, tools, issued_at}, signature}")),
    doc("GET", "/v1/info", "Version, workspace and VES identity", None,
        Object("{version, workspace, llm_configured, ves: {public_key, sequencer_id, tenant_id, store_id, agent_id, agent_key_id, api}}")),
    doc("GET", "/v1/attestation", "The sidecar key and, if configured, its attestation", None,
        Object("{public_key, provider, attestation?}")),
    doc("GET", "/v1/ves/head", "Head of the sandbox's VES stream", None,
        Object("{sequence, state_root, ...}")),
    doc("POST", "/v1/ves/commit", "Commit pending VES events", None,
        Object("{commitment: {start, end, state_root, ...}}")),
    doc("POST", "/v1/exec", "Run a command to completion", Some(Schema("ExecRequest")), Recorded("ExecResult")),
    doc("POST", "/v1/exec/stream", "Run a command, streaming its output (SSE)", Some(Schema("ExecRequest")), Events(EXEC_EVENTS)),
    doc("POST", "/v1/agent/prompt", "One agent turn", Some(Schema("PromptRequest")),
        Object("{success, response, transcript_digest, session_id, metadata, ves_sequence, ves_state_root}")),
    doc("POST", "/v1/agent/task", "A multi-turn agent task with tools", Some(Schema("TaskRequest")),
        Object("{success, final_text, reason, transcript_digest, session_id, metadata, ves_sequence, ves_state_root}")),
    doc("POST", "/v1/agent/task/stream", "A multi-turn agent task, streamed (SSE)", Some(Schema("TaskRequest")), Events(AGENT_EVENTS)),
    doc("GET", "/v1/files", "Read a workspace file", None, Schema("FileContent")),
    doc("PUT", "/v1/files", "Write a workspace file (atomically)", Some(Raw("the file's new contents")), Schema("Written")),
    doc("GET", "/v1/files/list", "List a workspace directory", None, Schema("Listing")),
    doc("GET", "/v1/snapshots", "List local snapshots", None, Schema("SnapshotList")),
    doc("POST", "/v1/snapshots", "Snapshot the workspace (local or uploaded)", Some(Schema("CreateRequest")), Recorded("SnapshotInfo")),
    doc("POST", "/v1/snapshots/restore", "Restore the workspace from a local snapshot", Some(Schema("RestoreRequest")), Recorded("Restored")),
    doc("GET", "/v1/workflows", "List workflows", None, Object(WORKFLOW)),
    doc("POST", "/v1/workflows", "Create a workflow", Some(Object(WORKFLOW)), Object(WORKFLOW)),
    doc("POST", "/v1/workflows/run", "Run an inline workflow", Some(Object(WORKFLOW)), Object(WORKFLOW)),
    doc("GET", "/v1/workflows/{id}", "One workflow", None, Object(WORKFLOW)),
    doc("POST", "/v1/workflows/{id}/runs", "Start a run of a workflow", Some(Object("run inputs")), Object(WORKFLOW)),
    doc("GET", "/v1/runs", "Recent workflow runs", None, Object(WORKFLOW)),
    doc("GET", "/v1/runs/{run_id}", "Run status", None, Object(WORKFLOW)),
    doc("POST", "/v1/runs/{run_id}/cancel", "Cancel a run", None, Object(WORKFLOW)),
    doc("GET", "/v1/runs/{run_id}/receipt", "The deterministic receipt of a finished run", None, Object(WORKFLOW)),
    doc("GET", "/v1/runs/{run_id}/evidence", "VES evidence of a run", None, Object(WORKFLOW)),
    doc("GET", "/v1/runs/{run_id}/events", "Run events (SSE)", None, Events("run step events")),
    doc("POST", "/v1/ssh/keys", "Authorize an SSH public key", Some(Schema("KeyRequest")), Recorded("KeyChange")),
    doc("DELETE", "/v1/ssh/keys", "Revoke an SSH public key", Some(Schema("KeyRequest")), Recorded("KeyChange")),
];

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn body_content(body: Body) -> Value {
    match body {
        Schema(name) => json!({ "application/json": { "schema": schema_ref(name) } }),
        Recorded(name) => json!({ "application/json": { "schema": {
            "allOf": [schema_ref(name), schema_ref("VesRecorded")]
        } } }),
        Events(text) => json!({ "text/event-stream": { "schema": {
            "type": "string", "description": text
        } } }),
        Object(text) => json!({ "application/json": { "schema": {
            "type": "object", "description": text
        } } }),
        Raw(text) => json!({ "application/octet-stream": { "schema": {
            "type": "string", "format": "binary", "description": text
        } } }),
    }
}

fn operation(d: &Doc) -> Value {
    let open = crate::server::open_routes()
        .routes
        .contains(&(d.method, d.path));
    let mut op = json!({
        "summary": d.summary,
        "operationId": format!("{} {}", d.method, d.path),
        "responses": {
            "200": { "description": "success", "content": body_content(d.response) },
            "default": { "description": "error", "content": {
                "application/json": { "schema": schema_ref("Error") }
            } },
        },
    });
    let mut params: Vec<Value> = d
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    // The files routes name their target in the query (`?path=`, relative to the workspace).
    if d.path.starts_with("/v1/files") {
        params.push(json!({ "name": "path", "in": "query", "required": true,
            "schema": { "type": "string" }, "description": "path relative to the workspace" }));
    }
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    if let Some(req) = d.request {
        op["requestBody"] = json!({ "required": true, "content": body_content(req) });
    }
    op["security"] = if open {
        json!([])
    } else {
        json!([{ "bearer": [] }])
    };
    op
}

/// The document (built once).
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

fn build() -> Value {
    let derived = serde_json::to_value(Schemas::openapi()).unwrap_or(Value::Null);
    let mut schemas = derived["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": { "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": { "code": { "type": "string" }, "message": { "type": "string" } },
            } },
        }),
    );
    schemas.insert(
        "VesRecorded".into(),
        json!({
            "type": "object",
            "description": "The VES stream head right after the action was recorded",
            "required": ["ves_sequence", "ves_state_root"],
            "properties": {
                "ves_sequence": { "type": "integer", "minimum": 0 },
                "ves_state_root": { "type": ["string", "null"], "description": "0x-prefixed hex" },
            },
        }),
    );
    let mut paths = Map::new();
    for d in DOCS {
        let item = paths
            .entry(d.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        item[d.method.to_ascii_lowercase()] = operation(d);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "agent-instance sidecar",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The in-sandbox server. Everything but /health and /openapi.json \
                needs `Authorization: Bearer <sandbox token>`. The embedded VES sequencer \
                API under /api/v1/ is described by the ves-sequencer crate.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
        },
    })
}

/// `GET /openapi.json`.
pub async fn serve() -> Json<Value> {
    Json(document().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let served: BTreeSet<_> = crate::server::route_list().into_iter().collect();
        assert_eq!(
            served.len(),
            crate::server::route_list().len(),
            "duplicate route"
        );
        let documented: BTreeSet<_> = DOCS.iter().map(|d| (d.method, d.path)).collect();
        assert_eq!(documented.len(), DOCS.len(), "duplicate doc entry");
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let stale: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty(),
            "routes without docs: {undocumented:?}"
        );
        assert!(stale.is_empty(), "docs for routes not served: {stale:?}");
        let doc = document();
        for (method, path) in &served {
            assert!(
                doc["paths"][path][method.to_ascii_lowercase()].is_object(),
                "{method} {path} missing from the document"
            );
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for piece in text.split("\"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap_or_default();
            assert!(schemas.contains_key(name), "dangling $ref {name}");
        }
        let exec = &schemas["ExecRequest"];
        assert!(exec["required"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("command"))));
    }
}
