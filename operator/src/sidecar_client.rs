//! The operator's HTTP client for one sandbox's sidecar.
//!
//! There is no client-wide timeout: every call takes its own deadline, derived from the job
//! request (a long TASK must not die at a global 30 s limit). Sidecar errors keep their status,
//! code and message so a job can report them clearly.

use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    #[error("sidecar at {url} is unreachable: {message}")]
    Unreachable {
        url: String,
        message: String,
        /// The connection itself failed: the request never reached the sidecar.
        connect: bool,
    },
    #[error("sidecar call {path} timed out after {timeout:?}")]
    Timeout { path: String, timeout: Duration },
    #[error("sidecar refused {path}: {status} {code}: {message}")]
    Api {
        path: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("sidecar answered {path} with an unexpected body: {0}", message)]
    Malformed { path: String, message: String },
}

impl SidecarError {
    /// A refusal of the request itself (4xx): the input was bad, retrying will not help.
    pub fn is_rejection(&self) -> bool {
        matches!(self, SidecarError::Api { status, .. } if (400..500).contains(status) && *status != 408)
    }
}

/// `POST /v1/exec` body.
#[derive(Clone, Debug, Serialize)]
pub struct ExecCall {
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    pub env: Vec<String>,
    pub timeout_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ExecOutput {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
    #[serde(default)]
    pub timed_out: bool,
    #[serde(default)]
    pub truncated: bool,
}

/// `POST /v1/agent/prompt` and `/v1/agent/task` body.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AgentCall {
    pub prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub timeout_ms: u64,
}

/// The comparable part of an agent answer.
#[derive(Clone, Debug, Deserialize)]
pub struct AgentOutput {
    pub success: bool,
    /// PROMPT answers carry `response`, TASK answers `final_text`.
    #[serde(default, alias = "final_text")]
    pub response: Option<String>,
    pub transcript_digest: String,
}

/// A finished (or still running) workflow run.
#[derive(Clone, Debug, Deserialize)]
pub struct WorkflowOutput {
    pub run_id: String,
    pub status: String,
    #[serde(default)]
    pub output: Value,
    #[serde(default)]
    pub receipt: Option<Value>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct KeyChange {
    pub username: String,
    pub fingerprint: String,
    pub changed: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SnapshotOutput {
    pub snapshot_id: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub location: String,
}

/// `POST /v1/ves/commit`: the stream head covered by a commitment.
#[derive(Clone, Debug, Deserialize)]
pub struct Commitment {
    pub seq_end: u64,
    pub state_root: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct InfoOutput {
    pub ves: InfoVes,
}

#[derive(Clone, Debug, Deserialize)]
pub struct InfoVes {
    pub public_key: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// A client for one sidecar (base URL + bearer token).
#[derive(Clone)]
pub struct SidecarClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for SidecarClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SidecarClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl SidecarClient {
    pub fn new(http: reqwest::Client, base: &str, token: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
        timeout: Duration,
    ) -> Result<(StatusCode, T), SidecarError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(timeout);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.transport(path, timeout, e))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| self.transport(path, timeout, e))?;
        if !status.is_success() {
            let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(b) => (b.error.code, b.error.message),
                Err(_) => (
                    "http_error".to_string(),
                    String::from_utf8_lossy(&bytes).chars().take(500).collect(),
                ),
            };
            return Err(SidecarError::Api {
                path: path.to_string(),
                status: status.as_u16(),
                code,
                message,
            });
        }
        let value = serde_json::from_slice(&bytes).map_err(|e| SidecarError::Malformed {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        Ok((status, value))
    }

    fn transport(&self, path: &str, timeout: Duration, e: reqwest::Error) -> SidecarError {
        if e.is_timeout() {
            SidecarError::Timeout {
                path: path.to_string(),
                timeout,
            }
        } else {
            SidecarError::Unreachable {
                url: self.base.clone(),
                message: e.to_string(),
                connect: e.is_connect(),
            }
        }
    }

    pub async fn info(&self, timeout: Duration) -> Result<InfoOutput, SidecarError> {
        let none: Option<&()> = None;
        Ok(self
            .call(reqwest::Method::GET, "/v1/info", none, timeout)
            .await?
            .1)
    }

    pub async fn exec(
        &self,
        call: &ExecCall,
        timeout: Duration,
    ) -> Result<ExecOutput, SidecarError> {
        Ok(self
            .call(reqwest::Method::POST, "/v1/exec", Some(call), timeout)
            .await?
            .1)
    }

    pub async fn prompt(
        &self,
        call: &AgentCall,
        timeout: Duration,
    ) -> Result<AgentOutput, SidecarError> {
        Ok(self
            .call(
                reqwest::Method::POST,
                "/v1/agent/prompt",
                Some(call),
                timeout,
            )
            .await?
            .1)
    }

    pub async fn task(
        &self,
        call: &AgentCall,
        timeout: Duration,
    ) -> Result<AgentOutput, SidecarError> {
        Ok(self
            .call(reqwest::Method::POST, "/v1/agent/task", Some(call), timeout)
            .await?
            .1)
    }

    /// Runs an inline workflow and waits for its end: the sidecar answers within its own
    /// request timeout (202 while still running), after which the run is polled until
    /// `timeout` passes.
    pub async fn run_workflow(
        &self,
        workflow: &Value,
        timeout: Duration,
    ) -> Result<WorkflowOutput, SidecarError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let body = serde_json::json!({ "workflow": workflow, "timeout_ms": timeout_ms });
        let (status, mut out): (_, WorkflowOutput) = self
            .call(
                reqwest::Method::POST,
                "/v1/workflows/run",
                Some(&body),
                timeout,
            )
            .await?;
        if status != StatusCode::ACCEPTED && out.status != "running" {
            return Ok(out);
        }
        let path = format!("/v1/runs/{}", out.run_id);
        let none: Option<&()> = None;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(SidecarError::Timeout { path, timeout });
            }
            tokio::time::sleep(Duration::from_millis(200).min(left)).await;
            let (_, run): (_, Value) = self
                .call(
                    reqwest::Method::GET,
                    &path,
                    none,
                    left.max(Duration::from_secs(1)),
                )
                .await?;
            let status = run
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("running");
            if !matches!(status, "running" | "pending") {
                out.status = status.to_string();
                out.output = run.get("output").cloned().unwrap_or(Value::Null);
                out.receipt = run.get("receipt").cloned().filter(|r| !r.is_null());
                return Ok(out);
            }
        }
    }

    pub async fn ssh_key(
        &self,
        add: bool,
        username: Option<&str>,
        public_key: &str,
        timeout: Duration,
    ) -> Result<KeyChange, SidecarError> {
        let body = serde_json::json!({ "username": username, "public_key": public_key });
        let method = if add {
            reqwest::Method::POST
        } else {
            reqwest::Method::DELETE
        };
        Ok(self
            .call(method, "/v1/ssh/keys", Some(&body), timeout)
            .await?
            .1)
    }

    pub async fn snapshot(
        &self,
        destination_url: Option<&str>,
        include_state: bool,
        timeout: Duration,
    ) -> Result<SnapshotOutput, SidecarError> {
        let body = serde_json::json!({
            "destination_url": destination_url,
            "include_state": include_state,
        });
        Ok(self
            .call(reqwest::Method::POST, "/v1/snapshots", Some(&body), timeout)
            .await?
            .1)
    }

    /// `GET /v1/manifest`: the agent's signed tool manifest (checked by the caller).
    pub async fn manifest(&self, timeout: Duration) -> Result<Value, SidecarError> {
        let none: Option<&()> = None;
        Ok(self
            .call(reqwest::Method::GET, "/v1/manifest", none, timeout)
            .await?
            .1)
    }

    /// Commits the stream's pending events; the answer's head covers everything recorded so far.
    pub async fn commit(&self, timeout: Duration) -> Result<Commitment, SidecarError> {
        let none: Option<&()> = None;
        Ok(self
            .call(reqwest::Method::POST, "/v1/ves/commit", none, timeout)
            .await?
            .1)
    }
}

/// Parses `0x`-hex, `sha256:`-hex or bare hex of exactly 32 bytes.
pub fn parse_hash32(text: &str) -> Option<[u8; 32]> {
    let hex_text = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("sha256:"))
        .unwrap_or(text);
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_parse_in_every_form_the_sidecar_uses() {
        let h = "ab".repeat(32);
        assert_eq!(parse_hash32(&h), Some([0xab; 32]));
        assert_eq!(parse_hash32(&format!("0x{h}")), Some([0xab; 32]));
        assert_eq!(parse_hash32(&format!("sha256:{h}")), Some([0xab; 32]));
        assert_eq!(parse_hash32("0x1234"), None);
        assert_eq!(parse_hash32("zz"), None);
    }

    #[test]
    fn only_4xx_other_than_408_are_rejections() {
        let api = |status| SidecarError::Api {
            path: "/v1/exec".into(),
            status,
            code: "x".into(),
            message: "m".into(),
        };
        assert!(api(400).is_rejection());
        assert!(!api(408).is_rejection());
        assert!(!api(502).is_rejection());
        assert!(!SidecarError::Timeout {
            path: "/".into(),
            timeout: Duration::from_secs(1)
        }
        .is_rejection());
    }
}
