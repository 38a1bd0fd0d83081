//! `discover` and `resolve`: the discovery index's JSON-RPC methods (`discover_query`,
//! `discover_resolve`), printed for people or as JSON.

use serde_json::{json, Value};

use crate::output::Render;
use crate::{Error, Result};

/// Calls `method` with `params` on the index at `url`; returns the `result` member.
pub async fn call(url: &str, method: &str, params: Value) -> Result<Value> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let resp: Value = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| Error::Input(format!("discovery index {url}: {e}")))?
        .json()
        .await
        .map_err(|e| Error::Input(format!("discovery index {url}: {e}")))?;
    if let Some(err) = resp.get("error") {
        return Err(Error::Input(format!(
            "discovery index: {} ({})",
            err["message"].as_str().unwrap_or("error"),
            err["code"]
        )));
    }
    resp.get("result")
        .cloned()
        .ok_or_else(|| Error::Input(format!("discovery index {url}: no result in {resp}")))
}

/// The answer of `discover_query`.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
pub struct Discovered(pub Value);

impl Render for Discovered {
    fn human(&self) -> String {
        let results = self.0["results"].as_array().cloned().unwrap_or_default();
        let mut out = format!(
            "{} agent(s) found (showing {})",
            self.0["total"],
            results.len()
        );
        for r in results {
            out.push_str(&format!(
                "\n\n{}  score {}  {}\n  endpoint {}  operator {}  service {}",
                r["agent_id"].as_str().unwrap_or("?"),
                r["score"],
                r["status"].as_str().unwrap_or("?"),
                r["endpoint"].as_str().unwrap_or("?"),
                r["operator"].as_str().unwrap_or("?"),
                r["service_id"],
            ));
            for reason in r["reasons"].as_array().into_iter().flatten() {
                out.push_str(&format!("\n  + {}", reason.as_str().unwrap_or("")));
            }
        }
        out
    }
}

/// The answer of `discover_resolve`.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
pub struct Resolved(pub Value);

impl Render for Resolved {
    fn human(&self) -> String {
        serde_json::to_string_pretty(&self.0).unwrap_or_default()
    }
}
