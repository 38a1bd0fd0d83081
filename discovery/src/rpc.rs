//! JSON-RPC 2.0 over HTTP `POST /`.
//!
//! Methods: `agent_getRecord`, `agent_status`, `discover_resolve` (params `[agentId]` or
//! `{"agentId": …}`) and `discover_query` (params `[query]`, `query` or none). Errors use the
//! standard codes (-32700, -32600, -32601, -32602) and [`AGENT_NOT_FOUND`]; a request never
//! produces a 5xx.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::RwLock;

use crate::ids::AgentId;
use crate::index::Index;
use crate::query::{agent_status, discover_query, discover_resolve, get_record, DiscoverQuery};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest batch accepted.
pub const MAX_BATCH: usize = 32;

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
/// Application error: no record for the agent id.
pub const AGENT_NOT_FOUND: i64 = -32001;

pub use crate::clock::{system_now, ChainClock, Clock};

/// Shared server state.
#[derive(Clone)]
pub struct RpcState {
    pub index: Arc<RwLock<Index>>,
    /// "Now" for effective status (expiry) and ranking.
    pub clock: Clock,
}

impl RpcState {
    /// State over `index` using the system clock (for an index not fed from a chain, e.g.
    /// loaded from event files).
    pub fn new(index: Arc<RwLock<Index>>) -> Self {
        Self::with_clock(index, Arc::new(system_now))
    }

    /// State over `index` with `clock` as "now"; a chain follower passes its
    /// [`ChainClock::as_clock`] so that expiry follows the chain's `block.timestamp`.
    pub fn with_clock(index: Arc<RwLock<Index>>, clock: Clock) -> Self {
        Self { index, clock }
    }
}

/// The JSON-RPC router (`POST /`).
pub fn router(state: RpcState) -> Router {
    Router::new().route("/", post(handle)).with_state(state)
}

/// Serves the router on `listener` until the future is dropped or fails.
pub async fn serve(listener: TcpListener, state: RpcState) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}

#[derive(Serialize)]
struct RpcError {
    code: i64,
    message: String,
}

fn error(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": RpcError { code, message: message.into() }})
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn handle(State(state): State<RpcState>, body: Body) -> Response {
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let msg = format!("request body unreadable or larger than {MAX_BODY_BYTES} bytes");
            return json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &error(Value::Null, INVALID_REQUEST, msg),
            );
        }
    };
    let request: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return json_response(
                StatusCode::OK,
                &error(Value::Null, PARSE_ERROR, format!("parse error: {e}")),
            )
        }
    };
    let index = state.index.read().await;
    let now = (state.clock)();
    let reply = match request {
        Value::Array(items) if items.is_empty() => {
            Some(error(Value::Null, INVALID_REQUEST, "empty batch"))
        }
        Value::Array(items) if items.len() > MAX_BATCH => Some(error(
            Value::Null,
            INVALID_REQUEST,
            format!("batch larger than {MAX_BATCH}"),
        )),
        Value::Array(items) => {
            let replies: Vec<Value> = items
                .into_iter()
                .filter_map(|item| handle_one(&index, now, item))
                .collect();
            (!replies.is_empty()).then_some(Value::Array(replies))
        }
        single => handle_one(&index, now, single),
    };
    match reply {
        Some(body) => json_response(StatusCode::OK, &body),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Handles one request object; `None` for a (valid) notification.
fn handle_one(index: &Index, now: u64, request: Value) -> Option<Value> {
    let Value::Object(mut obj) = request else {
        return Some(error(
            Value::Null,
            INVALID_REQUEST,
            "request must be an object",
        ));
    };
    let id = obj.remove("id");
    let id_ok = matches!(
        id,
        None | Some(Value::Null | Value::String(_) | Value::Number(_))
    );
    let reply_id = if id_ok {
        id.clone().unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    if !id_ok {
        return Some(error(
            reply_id,
            INVALID_REQUEST,
            "id must be a string, number or null",
        ));
    }
    if obj.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Some(error(reply_id, INVALID_REQUEST, "jsonrpc must be \"2.0\""));
    }
    let Some(Value::String(method)) = obj.remove("method") else {
        return Some(error(reply_id, INVALID_REQUEST, "method must be a string"));
    };
    let params = obj.remove("params");
    if !matches!(params, None | Some(Value::Array(_) | Value::Object(_))) {
        return Some(error(
            reply_id,
            INVALID_REQUEST,
            "params must be an array or object",
        ));
    }
    let outcome = dispatch(index, now, &method, params);
    id.as_ref()?;
    Some(match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "id": reply_id, "result": result}),
        Err((code, message)) => error(reply_id, code, message),
    })
}

type Outcome = Result<Value, (i64, String)>;

fn dispatch(index: &Index, now: u64, method: &str, params: Option<Value>) -> Outcome {
    match method {
        "agent_getRecord" => {
            let id = agent_id_param(params)?;
            to_result(get_record(index, &id, now), &id)
        }
        "agent_status" => {
            let id = agent_id_param(params)?;
            to_result(agent_status(index, &id, now), &id)
        }
        "discover_resolve" => {
            let id = agent_id_param(params)?;
            to_result(discover_resolve(index, &id, now), &id)
        }
        "discover_query" => {
            let query = query_param(params)?;
            let response =
                discover_query(index, &query, now).map_err(|e| (INVALID_PARAMS, e.to_string()))?;
            serde_json::to_value(response).map_err(internal)
        }
        other => Err((METHOD_NOT_FOUND, format!("method not found: {other}"))),
    }
}

fn internal(e: serde_json::Error) -> (i64, String) {
    (-32603, format!("internal error: {e}"))
}

fn to_result<T: Serialize>(found: Option<T>, id: &AgentId) -> Outcome {
    match found {
        Some(v) => serde_json::to_value(v).map_err(internal),
        None => Err((AGENT_NOT_FOUND, format!("agent not found: {id}"))),
    }
}

fn invalid(message: impl Into<String>) -> (i64, String) {
    (INVALID_PARAMS, message.into())
}

fn agent_id_param(params: Option<Value>) -> Result<AgentId, (i64, String)> {
    let value = match params {
        Some(Value::Array(mut items)) if items.len() == 1 => items.remove(0),
        Some(Value::Object(mut obj)) if obj.len() == 1 => {
            match obj.remove("agentId").or_else(|| obj.remove("agent_id")) {
                Some(v) => v,
                None => return Err(invalid("expected {\"agentId\": \"0x…\"}")),
            }
        }
        _ => {
            return Err(invalid(
                "expected params [agentId] or {\"agentId\": \"0x…\"}",
            ))
        }
    };
    let Value::String(text) = value else {
        return Err(invalid("agentId must be a 0x-hex string"));
    };
    text.parse().map_err(|e| invalid(format!("agentId: {e}")))
}

fn query_param(params: Option<Value>) -> Result<DiscoverQuery, (i64, String)> {
    let value = match params {
        None => Value::Object(Map::new()),
        Some(Value::Array(items)) if items.is_empty() => Value::Object(Map::new()),
        Some(Value::Array(mut items)) if items.len() == 1 => items.remove(0),
        Some(Value::Object(obj)) => Value::Object(obj),
        Some(_) => return Err(invalid("expected params [query] or a query object")),
    };
    serde_json::from_value(value).map_err(|e| invalid(format!("query: {e}")))
}
