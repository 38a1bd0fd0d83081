//! Signed-event sink: every journal entry is also a VES event in the sandbox stream.
//!
//! The sidecar connects [`JournalSink`] to its embedded sequencer; [`MemorySink`] signs with
//! an Ed25519 key using the VES envelope signing and keeps the stream in memory (tests,
//! benchmarks, and a reference for `full` verification evidence).

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use ves::{Commitment, EventEnvelope, Hash32, MerkleProof, NewEvent, SigningKey};

use crate::error::SinkError;
use crate::receipt::JournalHead;

/// VES `entity_type` of orchestrator events.
pub const ENTITY_TYPE: &str = "workflow_run";

/// A journal entry to be emitted: `entity_id` is the run id, `event_type` is
/// `orchestrator.<entry type>`, `payload` the entry's signed form (hashes, not outputs).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEvent {
    /// The run.
    pub run_id: Uuid,
    /// `orchestrator.step_succeeded` etc.
    pub event_type: String,
    /// Signed payload.
    pub payload: Value,
}

/// Where an emitted event landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmittedEvent {
    /// Sequence number in the stream.
    pub sequence: u64,
    /// VES event id.
    pub event_id: Uuid,
}

/// Receives journal entries, in order, as signed events.
pub trait JournalSink: Send + Sync + 'static {
    /// Signs and appends `events` in order; returns one [`EmittedEvent`] per event. Called
    /// from the journal's writer thread (blocking is fine).
    fn append(&self, events: &[PendingEvent]) -> Result<Vec<EmittedEvent>, SinkError>;
    /// The stream `(tenant_id, store_id)`.
    fn stream(&self) -> (Uuid, Uuid);
    /// Current head: last sequence and a state root committing to every event up to it.
    fn head(&self) -> Result<JournalHead, SinkError>;
}

/// An event with its sequence number and an inclusion proof against a commitment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequencedEvent {
    /// Sequence number.
    pub sequence: u64,
    /// The signed envelope.
    pub event: EventEnvelope,
    /// Inclusion proof under the Merkle root of the commitment covering `sequence`.
    pub proof: MerkleProof,
    /// When the run's events are covered by several commitments: the commitments before
    /// the one ending at the journal head, oldest first, from the one covering the run's first
    /// event (with every commitment in between, so that they chain up to the head). The
    /// verifier pools them from all events; builders give them once, on the run's first
    /// event. Empty (and absent in JSON) when one commitment covers the whole run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<Commitment>,
}

/// Identity the events are signed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkIdentity {
    /// Tenant of the sandbox stream.
    pub tenant_id: Uuid,
    /// Store of the sandbox stream.
    pub store_id: Uuid,
    /// The sidecar's agent id.
    pub agent_id: Uuid,
    /// The sidecar's key id.
    pub key_id: u32,
}

struct Stored {
    event: EventEnvelope,
    leaf: Hash32,
}

#[derive(Default)]
struct Stream {
    events: Vec<Stored>,
    /// `seq_end` of each commitment made so far, ascending.
    commit_ends: Vec<u64>,
}

/// In-memory signed stream with chained commitments (like the sequencer's).
pub struct MemorySink {
    key: SigningKey,
    id: SinkIdentity,
    stream: Mutex<Stream>,
}

impl std::fmt::Debug for MemorySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySink").field("id", &self.id).finish()
    }
}

/// RFC 3339 UTC timestamp with milliseconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Signs one orchestrator event as a VES v2 plaintext envelope.
pub fn sign_event(
    key: &SigningKey,
    id: &SinkIdentity,
    event: &PendingEvent,
) -> Result<EventEnvelope, SinkError> {
    NewEvent {
        ves_version: 2,
        event_id: Uuid::new_v4(),
        tenant_id: id.tenant_id,
        store_id: id.store_id,
        source_agent_id: id.agent_id,
        agent_key_id: id.key_id,
        entity_type: ENTITY_TYPE.to_string(),
        entity_id: event.run_id.to_string(),
        event_type: event.event_type.clone(),
        created_at: now_rfc3339(),
        command_id: None,
        base_version: None,
    }
    .sign_plain(event.payload.clone(), key)
    .map_err(|e| SinkError::Signing(e.to_string()))
}

/// The VES leaf of an envelope at `sequence`.
pub fn event_leaf(event: &EventEnvelope, sequence: u64) -> Result<Hash32, SinkError> {
    let esh = event
        .event_signing_hash()
        .map_err(|e| SinkError::Signing(e.to_string()))?;
    Ok(ves::leaf_hash(
        &event.tenant_id,
        &event.store_id,
        sequence,
        &esh,
        &event.agent_signature,
    ))
}

impl MemorySink {
    /// A sink signing with `key` under `id`.
    pub fn new(key: SigningKey, id: SinkIdentity) -> Self {
        Self {
            key,
            id,
            stream: Mutex::new(Stream::default()),
        }
    }

    /// A sink with random stream and agent ids.
    pub fn random(key: SigningKey) -> Self {
        Self::new(
            key,
            SinkIdentity {
                tenant_id: Uuid::new_v4(),
                store_id: Uuid::new_v4(),
                agent_id: Uuid::new_v4(),
                key_id: 1,
            },
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Stream> {
        self.stream.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of events in the stream.
    pub fn len(&self) -> usize {
        self.lock().events.len()
    }

    /// Whether the stream is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Edits the event at `sequence` in place and recomputes its leaf (tests: simulate a
    /// tampered stream).
    pub fn tamper(&self, sequence: u64, f: impl FnOnce(&mut EventEnvelope)) {
        let mut stream = self.lock();
        if let Some(s) = sequence
            .checked_sub(1)
            .and_then(|i| stream.events.get_mut(i as usize))
        {
            f(&mut s.event);
            if let Ok(leaf) = event_leaf(&s.event, sequence) {
                s.leaf = leaf;
            }
        }
    }

    /// Commits the events not yet committed (as another run ending, or a periodic commit,
    /// would); returns the new commitment's end, or `None` when there was nothing new.
    pub fn commit(&self) -> Option<u64> {
        let mut stream = self.lock();
        let len = stream.events.len() as u64;
        if len == 0 || stream.commit_ends.last() == Some(&len) {
            return None;
        }
        stream.commit_ends.push(len);
        Some(len)
    }

    /// The commitment chain over the stream as it is now (leaves recomputed from the stored
    /// events, so a tampered event changes every root from its commitment on). Events after
    /// the last commitment are covered by one more, uncommitted, range.
    fn chain(&self, stream: &Stream) -> Result<Vec<Commitment>, SinkError> {
        let len = stream.events.len() as u64;
        let mut ends = stream.commit_ends.clone();
        if ends.last().copied().unwrap_or(0) < len {
            ends.push(len);
        }
        let mut out: Vec<Commitment> = Vec::with_capacity(ends.len());
        let mut start = 1u64;
        for end in ends {
            let leaves: Vec<Hash32> = stream.events[(start - 1) as usize..end as usize]
                .iter()
                .map(|s| s.leaf)
                .collect();
            let c = Commitment::build(
                self.id.tenant_id,
                self.id.store_id,
                out.last(),
                start,
                &leaves,
            )
            .map_err(|e| SinkError::Append(e.to_string()))?;
            out.push(c);
            start = end + 1;
        }
        Ok(out)
    }

    /// The evidence for `full` verification: the last commitment (committing the stream up
    /// to now) and every event of `run_id` with its inclusion proof under the commitment
    /// covering it; when those are several, the run's first event carries the earlier ones
    /// ([`SequencedEvent::chain`]).
    pub fn evidence_for(
        &self,
        run_id: Uuid,
    ) -> Result<(Commitment, Vec<SequencedEvent>), SinkError> {
        let stream = self.lock();
        let chain = self.chain(&stream)?;
        let last = chain
            .last()
            .cloned()
            .ok_or_else(|| SinkError::Append("the stream is empty".into()))?;
        let run = run_id.to_string();
        let mut out: Vec<SequencedEvent> = Vec::new();
        let mut first_commitment = None;
        for (k, c) in chain.iter().enumerate() {
            let part = &stream.events[(c.seq_start - 1) as usize..c.seq_end as usize];
            if !part.iter().any(|s| s.event.entity_id == run) {
                continue;
            }
            if first_commitment.is_none() {
                first_commitment = Some(k);
            }
            let leaves: Vec<Hash32> = part.iter().map(|s| s.leaf).collect();
            let tree = ProofTree::new(&leaves);
            for (i, s) in part.iter().enumerate() {
                if s.event.entity_id == run {
                    out.push(SequencedEvent {
                        sequence: c.seq_start + i as u64,
                        event: s.event.clone(),
                        proof: tree.proof(i),
                        chain: Vec::new(),
                    });
                }
            }
        }
        if let (Some(k), Some(first)) = (first_commitment, out.first_mut()) {
            first.chain = chain[k..chain.len() - 1].to_vec();
        }
        Ok((last, out))
    }
}

impl JournalSink for MemorySink {
    fn append(&self, events: &[PendingEvent]) -> Result<Vec<EmittedEvent>, SinkError> {
        let mut signed = Vec::with_capacity(events.len());
        for e in events {
            signed.push(sign_event(&self.key, &self.id, e)?);
        }
        let mut stream = self.lock();
        let mut out = Vec::with_capacity(signed.len());
        for event in signed {
            let sequence = stream.events.len() as u64 + 1;
            let leaf = event_leaf(&event, sequence)?;
            out.push(EmittedEvent {
                sequence,
                event_id: event.event_id,
            });
            stream.events.push(Stored { event, leaf });
        }
        Ok(out)
    }

    fn stream(&self) -> (Uuid, Uuid) {
        (self.id.tenant_id, self.id.store_id)
    }

    /// Commits what is not yet committed and returns the last commitment's end and state
    /// root.
    fn head(&self) -> Result<JournalHead, SinkError> {
        self.commit();
        let stream = self.lock();
        Ok(match self.chain(&stream)?.last() {
            Some(c) => JournalHead {
                sequence: c.seq_end,
                state_root: c.state_root,
            },
            None => JournalHead {
                sequence: 0,
                state_root: Hash32::ZERO,
            },
        })
    }
}

/// All levels of a VES Merkle tree, for building many proofs in `O(log n)` each.
struct ProofTree {
    levels: Vec<Vec<Hash32>>,
    pads: Vec<Hash32>,
    leaf_count: u32,
}

impl ProofTree {
    fn new(leaves: &[Hash32]) -> Self {
        let mut pads = vec![ves::pad_leaf()];
        let mut levels = vec![leaves.to_vec()];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let i = levels.len() - 1;
            let pad = pads[i];
            let next: Vec<Hash32> = levels[i]
                .chunks(2)
                .map(|p| ves::node_hash(&p[0], p.get(1).unwrap_or(&pad)))
                .collect();
            pads.push(ves::node_hash(&pad, &pad));
            levels.push(next);
        }
        Self {
            levels,
            pads,
            leaf_count: u32::try_from(leaves.len()).unwrap_or(u32::MAX),
        }
    }

    fn proof(&self, index: usize) -> MerkleProof {
        let mut siblings = Vec::new();
        let mut pos = index;
        for (i, level) in self.levels.iter().enumerate() {
            if level.len() <= 1 {
                break;
            }
            siblings.push(level.get(pos ^ 1).copied().unwrap_or(self.pads[i]));
            pos >>= 1;
        }
        MerkleProof {
            leaf_index: u32::try_from(index).unwrap_or(u32::MAX),
            leaf_count: self.leaf_count,
            siblings,
        }
    }
}
