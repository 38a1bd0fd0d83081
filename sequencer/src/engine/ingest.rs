//! Ingest: whole-batch checks, stateless per-event checks and signature verification off the
//! async runtime, then one store transaction (see `resolve` for the stateful order).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{EngineError, Sequencer};
use crate::canonical::canonicalize_to_vec;
use crate::encoding::{Hash32, Sig64};
use crate::envelope::EventEnvelope;
use crate::error::{BatchVerifyError, VesError};
use crate::keys::{AgentKeyRecord, Ed25519PublicKey};
use crate::signing::{verify_batch, BatchItem};
use crate::store::{
    Candidate, EventOutcome, IngestBatch, Prechecked, SignatureVerdict, StoredEvent, StreamKey,
};
use crate::validate::{
    check_event_structure, BatchError, Rejection, RejectionReason, ValidationPolicy,
    MAX_EVENTS_PER_BATCH,
};

/// An event as received: the parsed envelope and its JSON text exactly as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingEvent {
    /// Parsed envelope.
    pub envelope: EventEnvelope,
    /// Verbatim JSON text (what pulls return).
    pub envelope_json: String,
}

impl IncomingEvent {
    /// Strictly parses one envelope, keeping its text.
    pub fn parse(json: &str) -> Result<Self, VesError> {
        Ok(Self {
            envelope: EventEnvelope::from_json_str(json)?,
            envelope_json: json.to_owned(),
        })
    }

    /// An envelope built in process (its JSON is the serializer's output).
    pub fn from_envelope(envelope: EventEnvelope) -> Result<Self, VesError> {
        let envelope_json =
            serde_json::to_string(&envelope).map_err(|e| VesError::Envelope(e.to_string()))?;
        Ok(Self {
            envelope,
            envelope_json,
        })
    }
}

/// Result of one ingest call.
#[derive(Debug, Clone)]
pub struct IngestOutcome {
    /// Random id of this batch.
    pub batch_id: Uuid,
    /// Stream of the batch.
    pub stream: StreamKey,
    /// Event ids in request order.
    pub event_ids: Vec<Uuid>,
    /// One outcome per event, in request order.
    pub outcomes: Vec<EventOutcome>,
    /// Stream head after the batch.
    pub head_sequence: u64,
    /// Accepted events in sequence order.
    pub accepted: Vec<Arc<StoredEvent>>,
}

impl IngestOutcome {
    /// Number of accepted events.
    pub fn accepted_count(&self) -> usize {
        self.accepted.len()
    }

    /// Number of rejected events.
    pub fn rejected_count(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, EventOutcome::Rejected(_)))
            .count()
    }

    /// Number of exact replays.
    pub fn replayed_count(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, EventOutcome::Replayed(_)))
            .count()
    }

    /// First and last sequence number assigned by this batch.
    pub fn sequence_range(&self) -> Option<(u64, u64)> {
        Some((
            self.accepted.first()?.sequence_number,
            self.accepted.last()?.sequence_number,
        ))
    }
}

/// Whole-batch shape: 1..=1000 events, one stream, all signed by `agent_id`.
pub fn batch_stream(events: &[IncomingEvent], agent_id: &Uuid) -> Result<StreamKey, BatchError> {
    let first = events.first().ok_or(BatchError::Empty)?;
    if events.len() > MAX_EVENTS_PER_BATCH {
        return Err(BatchError::TooManyEvents(events.len()));
    }
    let stream = StreamKey::new(first.envelope.tenant_id, first.envelope.store_id);
    if events
        .iter()
        .any(|e| StreamKey::new(e.envelope.tenant_id, e.envelope.store_id) != stream)
    {
        return Err(BatchError::MixedStreams);
    }
    if let Some(index) = events
        .iter()
        .position(|e| e.envelope.source_agent_id != *agent_id)
    {
        return Err(BatchError::WrongAgent { index });
    }
    Ok(stream)
}

/// SHA-256 of the JCS form of the envelope: equal iff the events are identical in every
/// field (hex case, number spelling and key order do not matter).
pub(crate) fn content_hash(envelope: &EventEnvelope) -> Option<Hash32> {
    let value = serde_json::to_value(envelope).ok()?;
    let jcs = canonicalize_to_vec(&value).ok()?;
    Some(Hash32(Sha256::digest(&jcs).into()))
}

/// Stateless checks of every event and one batch signature verification for the events
/// whose key is known and valid; failing signatures are named individually.
fn precheck_all(
    events: Vec<IncomingEvent>,
    policy: ValidationPolicy,
    keys: &HashMap<u32, AgentKeyRecord>,
    received_at: DateTime<Utc>,
) -> Vec<Candidate> {
    let mut candidates = Vec::with_capacity(events.len());
    // (candidate index, key, signing hash, signature) of every signature to check.
    let mut to_verify: Vec<(usize, Ed25519PublicKey, Hash32, Sig64)> = Vec::new();
    for (index, incoming) in events.into_iter().enumerate() {
        let env = incoming.envelope;
        let content_hash = content_hash(&env);
        let precheck = check_event_structure(&env, &policy).map(|checked| Prechecked {
            event_signing_hash: checked.event_signing_hash,
            agent_signature: env.agent_signature,
            signature: None,
        });
        let precheck = match (precheck, content_hash) {
            (Ok(_), None) => Err(Rejection {
                reason: RejectionReason::SchemaValidation,
                message: "event cannot be canonicalised".to_owned(),
            }),
            (p, _) => p,
        };
        if let (Ok(pre), Some(key)) = (&precheck, keys.get(&env.agent_key_id)) {
            if key.check_valid_at(received_at).is_ok() {
                to_verify.push((
                    index,
                    key.public_key,
                    pre.event_signing_hash,
                    pre.agent_signature,
                ));
            }
        }
        candidates.push(Candidate {
            event_id: env.event_id,
            command_id: env.command_id,
            base_version: env.base_version,
            entity_type: env.entity_type,
            entity_id: env.entity_id,
            agent_key_id: env.agent_key_id,
            content_hash,
            precheck,
            envelope_json: incoming.envelope_json,
        });
    }

    let items: Vec<BatchItem<'_>> = to_verify
        .iter()
        .map(|(_, public_key, message, signature)| BatchItem {
            public_key,
            message: *message,
            signature: *signature,
        })
        .collect();
    let bad: HashSet<usize> = match verify_batch(&items) {
        Ok(()) => HashSet::new(),
        Err(BatchVerifyError::Invalid { indices }) => indices.into_iter().collect(),
    };
    drop(items);
    for (position, (index, public_key, _, _)) in to_verify.into_iter().enumerate() {
        if let Ok(pre) = &mut candidates[index].precheck {
            pre.signature = Some(SignatureVerdict {
                public_key,
                valid: !bad.contains(&position),
            });
        }
    }
    candidates
}

impl Sequencer {
    /// Ingests one batch signed by `agent_id`.
    ///
    /// Whole-batch problems (empty, more than 1000 events, mixed streams, an event not from
    /// `agent_id`) are errors; everything else is a per-event [`EventOutcome`]. The batch is
    /// durable when this returns; accepted events are then published to subscribers.
    pub async fn ingest(
        &self,
        agent_id: Uuid,
        events: Vec<IncomingEvent>,
    ) -> Result<IngestOutcome, EngineError> {
        let stream = batch_stream(&events, &agent_id)?;
        let received_at = Utc::now();
        let policy = self.policy(&stream);
        let key_ids: BTreeSet<u32> = events.iter().map(|e| e.envelope.agent_key_id).collect();
        let mut keys = HashMap::with_capacity(key_ids.len());
        for key_id in key_ids {
            if let Some(record) = self
                .store
                .agent_key(stream.tenant_id, agent_id, key_id)
                .await?
            {
                keys.insert(key_id, record);
            }
        }
        let event_ids: Vec<Uuid> = events.iter().map(|e| e.envelope.event_id).collect();
        let candidates =
            tokio::task::spawn_blocking(move || precheck_all(events, policy, &keys, received_at))
                .await
                .map_err(|e| EngineError::Internal(format!("precheck task: {e}")))?;

        let batch = IngestBatch {
            stream,
            agent_id,
            received_at,
            candidates,
            issuer: self.issuer.clone(),
        };
        let resolution = self.store.ingest(batch).await?;
        let accepted: Vec<Arc<StoredEvent>> =
            resolution.appended.into_iter().map(Arc::new).collect();
        for event in &accepted {
            // No subscriber is not an error.
            let _ = self.live.send(Arc::clone(event));
        }
        Ok(IngestOutcome {
            batch_id: Uuid::new_v4(),
            stream,
            event_ids,
            outcomes: resolution.outcomes,
            head_sequence: resolution.head_sequence,
            accepted,
        })
    }
}
