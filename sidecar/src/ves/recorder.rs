//! The action recorder: every action the sidecar performs becomes a V2 VES event signed by the
//! sidecar agent and ingested into the embedded sequencer in process.
//!
//! Recording is part of the action: a handler that cannot record must fail its request
//! (an unrecorded action would break the verifiability promise), so [`RecordError`] maps to
//! a 500 `ves_record_failed` answer.

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{SecondsFormat, Utc};
use ed25519_dalek::SigningKey;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;
use ves::store::EventOutcome;
use ves::{Hash32, IncomingEvent, NewEvent, Sequencer, StreamKey};

use crate::error::ApiError;

/// Key id of the sidecar's agent key in the embedded store.
pub const AGENT_KEY_ID: u32 = 1;

/// The stream head right after a recorded event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RecordedHead {
    /// Sequence number assigned to the recorded event.
    pub sequence: u64,
    /// State root of the latest commitment (which may not cover `sequence` yet).
    pub state_root: Option<Hash32>,
    /// Id of the recorded event (for `GET /api/v1/events/{id}` and proofs).
    #[serde(skip)]
    pub event_id: Uuid,
}

/// Why an action could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot build the event: {0}")]
    Build(String),
    #[error("the sequencer failed: {0}")]
    Engine(String),
    #[error("the sequencer rejected the event: {0}")]
    Rejected(String),
}

impl From<RecordError> for ApiError {
    fn from(e: RecordError) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ves_record_failed",
            format!("the action could not be recorded in the VES stream: {e}"),
        )
    }
}

/// Signs and ingests action events (cheap to clone).
#[derive(Clone)]
pub struct Recorder {
    sequencer: Arc<Sequencer>,
    key: Arc<SigningKey>,
    stream: StreamKey,
    agent_id: Uuid,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("stream", &self.stream)
            .field("agent_id", &self.agent_id)
            .finish()
    }
}

impl Recorder {
    /// A recorder signing as `agent_id` (key id [`AGENT_KEY_ID`]) into `stream`.
    pub fn new(
        sequencer: Arc<Sequencer>,
        key: SigningKey,
        stream: StreamKey,
        agent_id: Uuid,
    ) -> Self {
        Self {
            sequencer,
            key: Arc::new(key),
            stream,
            agent_id,
        }
    }

    /// The stream events go to.
    pub fn stream(&self) -> StreamKey {
        self.stream
    }

    /// The signing agent.
    pub fn agent_id(&self) -> Uuid {
        self.agent_id
    }

    /// Signs `payload` as a V2 event (fresh `event_id` and `command_id`) and ingests it.
    /// Returns once the event is durable.
    pub async fn record(
        &self,
        entity_type: &str,
        entity_id: &str,
        event_type: &str,
        payload: Value,
    ) -> Result<RecordedHead, RecordError> {
        let event_id = Uuid::new_v4();
        let envelope = NewEvent {
            ves_version: 2,
            event_id,
            tenant_id: self.stream.tenant_id,
            store_id: self.stream.store_id,
            source_agent_id: self.agent_id,
            agent_key_id: AGENT_KEY_ID,
            entity_type: entity_type.to_owned(),
            entity_id: entity_id.to_owned(),
            event_type: event_type.to_owned(),
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
            command_id: Some(Uuid::new_v4()),
            base_version: None,
        }
        .sign_plain(payload, &self.key)
        .map_err(|e| RecordError::Build(e.to_string()))?;
        let incoming = IncomingEvent::from_envelope(envelope)
            .map_err(|e| RecordError::Build(e.to_string()))?;
        let outcome = self
            .sequencer
            .ingest(self.agent_id, vec![incoming])
            .await
            .map_err(|e| RecordError::Engine(e.to_string()))?;
        let sequence = match outcome.outcomes.first() {
            Some(EventOutcome::Accepted(r)) | Some(EventOutcome::Replayed(r)) => r.sequence_number,
            Some(EventOutcome::Rejected(r)) => {
                return Err(RecordError::Rejected(format!(
                    "{:?}: {}",
                    r.reason, r.message
                )))
            }
            None => return Err(RecordError::Engine("no outcome for the event".into())),
        };
        let head = self
            .sequencer
            .head(self.stream)
            .await
            .map_err(|e| RecordError::Engine(e.to_string()))?;
        Ok(RecordedHead {
            sequence,
            state_root: head.latest_commitment.map(|c| c.state_root),
            event_id,
        })
    }
}

/// `0x` + hex SHA-256 of `data` (output digests in recorded payloads).
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("0x{}", hex::encode(Sha256::digest(data)))
}

/// A response body with the recorded head added (`ves_sequence`, `ves_state_root`).
#[derive(Debug, Serialize)]
pub struct Recorded<T> {
    #[serde(flatten)]
    pub inner: T,
    pub ves_sequence: u64,
    pub ves_state_root: Option<Hash32>,
}

impl<T> Recorded<T> {
    pub fn new(inner: T, head: RecordedHead) -> Self {
        Self {
            inner,
            ves_sequence: head.sequence,
            ves_state_root: head.state_root,
        }
    }
}
