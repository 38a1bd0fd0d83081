//! A small client of one sandbox sidecar (bearer token = the opened access token): its
//! identity (`/v1/info`), streamed exec, orchestrator receipts and evidence, and the embedded
//! VES sequencer API through [`ves::client::VesClient`].

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use ves::client::VesClient;
use ves::{Ed25519PublicKey, StreamKey};

use crate::{Error, Result};

/// The VES part of `GET /v1/info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SidecarVesInfo {
    /// The sidecar key (signs receipts and the sidecar's own events).
    pub public_key: Ed25519PublicKey,
    /// Sequencer id in receipts.
    pub sequencer_id: String,
    /// Stream tenant.
    pub tenant_id: Uuid,
    /// Stream store.
    pub store_id: Uuid,
    /// The agent id the sidecar signs its events as.
    pub agent_id: Uuid,
    /// The agent key id.
    pub agent_key_id: u32,
}

/// `GET /v1/info` (the fields the CLI uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SidecarInfo {
    /// Sidecar version.
    pub version: String,
    /// The sandbox identity and its stream.
    pub ves: SidecarVesInfo,
}

impl SidecarInfo {
    /// The sandbox's stream.
    pub fn stream(&self) -> StreamKey {
        StreamKey::new(self.ves.tenant_id, self.ves.store_id)
    }
}

/// The body of `POST /v1/exec` and `/v1/exec/stream`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExecBody {
    /// Shell command.
    pub command: String,
    /// Working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// `NAME=value` entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Timeout in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

/// A client of one sidecar.
#[derive(Debug, Clone)]
pub struct Sidecar {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Sidecar {
    /// A client for `base_url` with `token`.
    pub fn new(base_url: &str, token: &str) -> Result<Self> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::input(format!(
                "sidecar URL must start with http:// or https://: {base_url:?}"
            )));
        }
        if token.trim().is_empty() {
            return Err(Error::input("the sidecar token is empty"));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Sidecar {
                url: base.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            base,
            token: token.trim().to_owned(),
            http,
        })
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// A client of the embedded VES sequencer (same base URL and token).
    pub fn ves(&self) -> Result<VesClient> {
        Ok(VesClient::with_http(
            &self.base,
            &self.token,
            self.http.clone(),
        )?)
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    fn transport(&self, e: impl std::fmt::Display) -> Error {
        Error::Sidecar {
            url: self.base.clone(),
            reason: e.to_string(),
        }
    }

    /// Sends `req`; a non-2xx answer becomes [`Error::SidecarApi`].
    pub async fn send(&self, req: RequestBuilder) -> Result<Response> {
        let resp = req.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let bytes = resp.bytes().await.map_err(|e| self.transport(e))?;
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(b) => (b.error.code, b.error.message),
            Err(_) => (
                format!("http_{}", status.as_u16()),
                String::from_utf8_lossy(&bytes).chars().take(300).collect(),
            ),
        };
        Err(Error::SidecarApi {
            url: self.base.clone(),
            status: status.as_u16(),
            code,
            message,
        })
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let resp = self
            .send(
                self.request(Method::GET, path)
                    .timeout(Duration::from_secs(30)),
            )
            .await?;
        let bytes = resp.bytes().await.map_err(|e| self.transport(e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| self.transport(format!("unexpected answer from {path}: {e}")))
    }

    /// `GET /v1/info`.
    pub async fn info(&self) -> Result<SidecarInfo> {
        self.get_json("/v1/info").await
    }

    /// `GET /v1/runs/{run_id}/receipt`.
    pub async fn receipt(&self, run_id: Uuid) -> Result<serde_json::Value> {
        self.get_json(&format!("/v1/runs/{run_id}/receipt")).await
    }

    /// `GET /v1/runs/{run_id}/evidence`.
    pub async fn evidence(&self, run_id: Uuid) -> Result<serde_json::Value> {
        self.get_json(&format!("/v1/runs/{run_id}/evidence")).await
    }

    /// `POST /v1/ves/commit`: commits pending events (nothing pending is fine).
    pub async fn commit(&self) -> Result<()> {
        match self
            .send(
                self.request(Method::POST, "/v1/ves/commit")
                    .timeout(Duration::from_secs(30)),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(Error::SidecarApi { code, .. }) if code == "nothing_to_commit" => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `POST /v1/exec/stream`: the open Server-Sent Events response.
    pub async fn exec_stream(&self, body: &ExecBody) -> Result<Response> {
        self.send(
            self.request(Method::POST, "/v1/exec/stream")
                .header("accept", "text/event-stream")
                .json(body),
        )
        .await
    }
}
