//! An async HTTP client for the VES REST API ([`VesClient`]), an offline-first
//! [`outbox::Outbox`], an SSE subscription ([`sse`]) and client-side verification
//! ([`verify`]).
//!
//! Every non-2xx answer becomes [`ClientError::Api`] with the server's
//! `{"error":{"code","message"}}`; transport failures are [`ClientError::Http`] and may be
//! retried (ingest is idempotent: an exact replay returns the stored receipt).

mod error;
pub mod outbox;
mod outbox_state;
mod outbox_sync;
pub mod sse;
pub mod types;
pub mod verify;

use std::time::Duration;

use error::api_error;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::engine::InclusionProof;
use crate::envelope::EventEnvelope;
use crate::keys::{sign_pop, AgentKeyRecord, Ed25519PublicKey};
use crate::store::StreamKey;
use crate::stream::Commitment;
use ed25519_dalek::SigningKey;

pub use error::ClientError;
pub use outbox_sync::{SyncOptions, SyncReport};
pub use sse::{EventSubscription, SseFrame, SseParser};
pub use types::*;

/// Largest page the server serves.
pub const MAX_PAGE: u32 = 1000;

/// Client of one sequencer with one API key.
#[derive(Debug, Clone)]
pub struct VesClient {
    base: String,
    api_key: String,
    http: reqwest::Client,
}

impl VesClient {
    /// A client for `base_url` (e.g. `http://127.0.0.1:8090`) with a 30 s request timeout
    /// (the event stream has none).
    pub fn new(base_url: &str, api_key: &str) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Self::with_http(base_url, api_key, http)
    }

    /// A client over a preconfigured `reqwest::Client`.
    pub fn with_http(
        base_url: &str,
        api_key: &str,
        http: reqwest::Client,
    ) -> Result<Self, ClientError> {
        let base = base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Invalid(format!(
                "base URL must start with http:// or https://: {base_url}"
            )));
        }
        Ok(Self {
            base,
            api_key: api_key.to_owned(),
            http,
        })
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.api_key)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
    ) -> Result<(StatusCode, T), ClientError> {
        let resp = req.timeout(Duration::from_secs(30)).send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if !status.is_success() {
            return Err(api_error(status, &bytes));
        }
        serde_json::from_slice(&bytes)
            .map(|v| (status, v))
            .map_err(|e| ClientError::Decode(e.to_string()))
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ClientError> {
        Ok(self
            .send(self.request(Method::GET, path).query(query))
            .await?
            .1)
    }

    async fn json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<(StatusCode, T), ClientError> {
        self.send(self.request(method, path).json(body)).await
    }

    /// `POST /api/v1/agents/keys` with a request built by the caller.
    pub async fn register_key(
        &self,
        req: &KeyRegistrationRequest,
    ) -> Result<Registered, ClientError> {
        let (status, record) = self.json(Method::POST, "/api/v1/agents/keys", req).await?;
        Ok(Registered {
            record,
            created: status == StatusCode::CREATED,
        })
    }

    /// Registers `key`'s public key as `(tenant, agent, key_id)` with a proof of possession.
    pub async fn register_signing_key(
        &self,
        tenant_id: Uuid,
        agent_id: Uuid,
        key_id: u32,
        key: &SigningKey,
    ) -> Result<Registered, ClientError> {
        self.register_key(&KeyRegistrationRequest {
            tenant_id,
            agent_id,
            key_id,
            public_key: Ed25519PublicKey::from_signing_key(key),
            valid_from: None,
            valid_to: None,
            proof_of_possession: Some(sign_pop(key)),
        })
        .await
    }

    /// `GET /api/v1/agents/keys` (agent keys list their own; admins any agent or all).
    pub async fn list_keys(
        &self,
        tenant_id: Uuid,
        agent_id: Option<Uuid>,
    ) -> Result<Vec<AgentKeyRecord>, ClientError> {
        let mut query = vec![("tenant_id", tenant_id.to_string())];
        if let Some(agent) = agent_id {
            query.push(("agent_id", agent.to_string()));
        }
        let list: KeyList = self.get("/api/v1/agents/keys", &query).await?;
        Ok(list.keys)
    }

    /// `DELETE /api/v1/agents/keys/{key_id}`.
    pub async fn revoke_key(
        &self,
        tenant_id: Uuid,
        agent_id: Uuid,
        key_id: u32,
    ) -> Result<AgentKeyRecord, ClientError> {
        let req = self
            .request(Method::DELETE, &format!("/api/v1/agents/keys/{key_id}"))
            .query(&[
                ("tenant_id", tenant_id.to_string()),
                ("agent_id", agent_id.to_string()),
            ]);
        Ok(self.send(req).await?.1)
    }

    /// `POST /api/v1/ves/events/ingest` (≤ 1000 events of one stream, signed by `agent_id`).
    pub async fn ingest(
        &self,
        agent_id: Uuid,
        events: &[EventEnvelope],
    ) -> Result<IngestResponse, ClientError> {
        let body = serde_json::json!({ "agentId": agent_id, "events": events });
        Ok(self
            .json(Method::POST, "/api/v1/ves/events/ingest", &body)
            .await?
            .1)
    }

    /// Ingests envelopes given as JSON text, sent verbatim (what the outbox stored).
    pub async fn ingest_raw(
        &self,
        agent_id: Uuid,
        events_json: &[String],
    ) -> Result<IngestResponse, ClientError> {
        let mut body = format!("{{\"agentId\":\"{agent_id}\",\"events\":[");
        for (i, event) in events_json.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(event);
        }
        body.push_str("]}");
        let req = self
            .request(Method::POST, "/api/v1/ves/events/ingest")
            .header("content-type", "application/json")
            .body(body);
        Ok(self.send(req).await?.1)
    }

    /// `GET /api/v1/events`: one page from `from` (inclusive), `limit` ≤ 1000.
    pub async fn pull(
        &self,
        stream: StreamKey,
        from: u64,
        limit: u32,
    ) -> Result<PullPage, ClientError> {
        self.get(
            "/api/v1/events",
            &[
                ("tenant_id", stream.tenant_id.to_string()),
                ("store_id", stream.store_id.to_string()),
                ("from", from.to_string()),
                ("limit", limit.clamp(1, MAX_PAGE).to_string()),
            ],
        )
        .await
    }

    /// Every event from `from` up to the head seen by the last page.
    pub async fn pull_all(
        &self,
        stream: StreamKey,
        from: u64,
    ) -> Result<Vec<PulledEvent>, ClientError> {
        self.pull_all_with(stream, from, MAX_PAGE).await
    }

    /// [`VesClient::pull_all`] with pages of `page_size` events.
    pub async fn pull_all_with(
        &self,
        stream: StreamKey,
        from: u64,
        page_size: u32,
    ) -> Result<Vec<PulledEvent>, ClientError> {
        let mut out = Vec::new();
        let mut next = from.max(1);
        loop {
            let page = self.pull(stream, next, page_size).await?;
            let progressed = page.next_sequence > next;
            out.extend(page.events);
            if !page.has_more || !progressed {
                return Ok(out);
            }
            next = page.next_sequence;
        }
    }

    /// `GET /api/v1/events/{event_id}`.
    pub async fn event(&self, event_id: Uuid) -> Result<EventWithReceipt, ClientError> {
        self.get(&format!("/api/v1/events/{event_id}"), &[]).await
    }

    /// `GET /api/v1/head`.
    pub async fn head(&self, stream: StreamKey) -> Result<Head, ClientError> {
        self.get("/api/v1/head", &stream_query(stream)).await
    }

    /// `GET /api/v1/sync/state` (`agent_id` only for admin keys).
    pub async fn sync_state(
        &self,
        stream: StreamKey,
        agent_id: Option<Uuid>,
    ) -> Result<SyncState, ClientError> {
        let mut query = stream_query(stream);
        if let Some(agent) = agent_id {
            query.push(("agent_id", agent.to_string()));
        }
        self.get("/api/v1/sync/state", &query).await
    }

    /// `PUT /api/v1/sync/state`.
    pub async fn put_sync_state(&self, update: &SyncUpdate) -> Result<SyncState, ClientError> {
        Ok(self
            .json(Method::PUT, "/api/v1/sync/state", update)
            .await?
            .1)
    }

    /// `POST /api/v1/commitments`: commits every pending event, or up to `seq_end`.
    pub async fn create_commitment(
        &self,
        stream: StreamKey,
        seq_end: Option<u64>,
    ) -> Result<Commitment, ClientError> {
        let body = serde_json::json!({
            "tenant_id": stream.tenant_id,
            "store_id": stream.store_id,
            "seq_end": seq_end,
        });
        Ok(self
            .json(Method::POST, "/api/v1/commitments", &body)
            .await?
            .1)
    }

    /// `GET /api/v1/commitments`: commitments with `seq_end > after`.
    pub async fn list_commitments(
        &self,
        stream: StreamKey,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Commitment>, ClientError> {
        let mut query = stream_query(stream);
        query.push(("after", after.to_string()));
        query.push(("limit", limit.to_string()));
        let list: CommitmentList = self.get("/api/v1/commitments", &query).await?;
        Ok(list.commitments)
    }

    /// Every commitment of the stream, in order.
    pub async fn all_commitments(&self, stream: StreamKey) -> Result<Vec<Commitment>, ClientError> {
        let mut out: Vec<Commitment> = Vec::new();
        loop {
            let after = out.last().map_or(0, |c| c.seq_end);
            let page = self.list_commitments(stream, after, 100).await?;
            let done = page.len() < 100;
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }

    /// `GET /api/v1/commitments/{seq_end}`.
    pub async fn commitment(
        &self,
        stream: StreamKey,
        seq_end: u64,
    ) -> Result<Commitment, ClientError> {
        self.get(
            &format!("/api/v1/commitments/{seq_end}"),
            &stream_query(stream),
        )
        .await
    }

    /// `GET /api/v1/proofs/{event_id}`.
    pub async fn inclusion_proof(&self, event_id: Uuid) -> Result<InclusionProof, ClientError> {
        self.get(&format!("/api/v1/proofs/{event_id}"), &[]).await
    }

    /// `GET /api/v1/sequencer/key`.
    pub async fn sequencer_key(&self) -> Result<SequencerKey, ClientError> {
        self.get("/api/v1/sequencer/key", &[]).await
    }

    /// `GET /api/v1/events/stream`: live events from `from` (inclusive; default: after the
    /// head), or after `last_event_id` when resuming.
    pub async fn subscribe(
        &self,
        stream: StreamKey,
        from: Option<u64>,
        last_event_id: Option<u64>,
    ) -> Result<EventSubscription, ClientError> {
        let mut query = stream_query(stream);
        if let Some(from) = from {
            query.push(("from", from.to_string()));
        }
        let mut req = self
            .request(Method::GET, "/api/v1/events/stream")
            .query(&query)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = req.send().await?;
        let status = resp.status();
        if !status.is_success() {
            let bytes = resp.bytes().await?;
            return Err(api_error(status, &bytes));
        }
        Ok(EventSubscription::new(resp))
    }
}

fn stream_query(stream: StreamKey) -> Vec<(&'static str, String)> {
    vec![
        ("tenant_id", stream.tenant_id.to_string()),
        ("store_id", stream.store_id.to_string()),
    ]
}
