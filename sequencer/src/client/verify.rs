//! Client-side verification: receipts against the sequencer's published key, event
//! signatures, inclusion proofs against commitments, and recomputation of the commitment
//! chain (leaf hashes → merkle root → state root) from pulled events.

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

use super::types::PulledEvent;
use crate::encoding::Hash32;
use crate::engine::InclusionProof;
use crate::envelope::EventEnvelope;
use crate::error::VesError;
use crate::keys::{AgentKeyRecord, Ed25519PublicKey};
use crate::merkle::leaf_hash;
use crate::payload::{payload_plain_hash, PAYLOAD_KIND_ENCRYPTED, PAYLOAD_KIND_PLAIN};
use crate::receipt::SignedReceipt;
use crate::signing::verify_event_signature;
use crate::store::StreamKey;
use crate::stream::Commitment;

/// Why a check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The event JSON is not a valid envelope.
    #[error("event does not parse: {0}")]
    Envelope(String),
    /// Event of another stream.
    #[error("event belongs to another stream")]
    WrongStream,
    /// Payload hash does not match the payload.
    #[error("payload hash mismatch: {0}")]
    Payload(String),
    /// No key record for `(agent, key_id)`.
    #[error("no key {key_id} known for agent {agent_id}")]
    UnknownKey {
        /// Agent.
        agent_id: Uuid,
        /// Key id.
        key_id: u32,
    },
    /// The agent signature does not verify.
    #[error("agent signature does not verify")]
    AgentSignature,
    /// The receipt does not match the event or its signature does not verify.
    #[error("receipt invalid: {0}")]
    Receipt(String),
    /// The inclusion proof does not verify or names another commitment.
    #[error("inclusion proof invalid: {0}")]
    Proof(String),
    /// A recomputed commitment differs from the server's.
    #[error("commitment {seq_start}..={seq_end} mismatch: {what}")]
    Commitment {
        /// Range start.
        seq_start: u64,
        /// Range end.
        seq_end: u64,
        /// What differs.
        what: String,
    },
}

impl From<VesError> for VerifyError {
    fn from(e: VesError) -> Self {
        Self::Envelope(e.to_string())
    }
}

/// Verifies a receipt for `envelope` at `sequence_number` under the sequencer's key.
pub fn verify_receipt(
    receipt: &SignedReceipt,
    envelope: &EventEnvelope,
    sequence_number: Option<u64>,
    sequencer_key: &Ed25519PublicKey,
) -> Result<(), VerifyError> {
    let esh = envelope.event_signing_hash().map_err(VesError::from)?;
    if receipt.event_id != envelope.event_id {
        return Err(VerifyError::Receipt("event_id differs".into()));
    }
    if sequence_number.is_some_and(|n| n != receipt.sequence_number) {
        return Err(VerifyError::Receipt("sequence number differs".into()));
    }
    receipt
        .verify(sequencer_key, &envelope.tenant_id, &envelope.store_id, &esh)
        .map_err(|e| VerifyError::Receipt(e.to_string()))
}

/// Checks the payload hash (plaintext: recomputed; encrypted: cipher hash structure).
pub fn verify_payload(envelope: &EventEnvelope) -> Result<(), VerifyError> {
    match (
        envelope.payload_kind,
        &envelope.payload,
        &envelope.payload_encrypted,
    ) {
        (PAYLOAD_KIND_PLAIN, Some(payload), None) => {
            let hash =
                payload_plain_hash(payload).map_err(|e| VerifyError::Payload(e.to_string()))?;
            if hash != envelope.payload_plain_hash || envelope.payload_cipher_hash != Hash32::ZERO {
                return Err(VerifyError::Payload("payload_plain_hash".into()));
            }
            Ok(())
        }
        (PAYLOAD_KIND_ENCRYPTED, None, Some(enc)) => crate::encrypted::verify_cipher_hash(
            enc,
            &envelope.context(),
            &envelope.payload_plain_hash,
            &envelope.payload_cipher_hash,
        )
        .map_err(|e| VerifyError::Payload(e.to_string())),
        _ => Err(VerifyError::Payload("payload kind inconsistent".into())),
    }
}

/// Agent public keys by `(agent_id, key_id)`.
#[derive(Debug, Clone, Default)]
pub struct KeyRing(HashMap<(Uuid, u32), Ed25519PublicKey>);

impl KeyRing {
    /// A ring from key records.
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a AgentKeyRecord>) -> Self {
        Self(
            records
                .into_iter()
                .map(|r| ((r.agent_id, r.key_id), r.public_key))
                .collect(),
        )
    }

    /// Adds a key.
    pub fn insert(&mut self, agent_id: Uuid, key_id: u32, key: Ed25519PublicKey) {
        self.0.insert((agent_id, key_id), key);
    }

    /// Looks a key up.
    pub fn get(&self, agent_id: Uuid, key_id: u32) -> Option<&Ed25519PublicKey> {
        self.0.get(&(agent_id, key_id))
    }
}

/// Fully checks one pulled event: envelope parses, stream, payload hash, agent signature,
/// receipt (event id, sequence number, hash, sequencer signature). Returns its leaf hash.
pub fn verify_pulled_event(
    item: &PulledEvent,
    stream: StreamKey,
    keys: &KeyRing,
    sequencer_key: &Ed25519PublicKey,
) -> Result<Hash32, VerifyError> {
    let env = item.envelope()?;
    if env.tenant_id != stream.tenant_id || env.store_id != stream.store_id {
        return Err(VerifyError::WrongStream);
    }
    verify_payload(&env)?;
    let esh = env.event_signing_hash().map_err(VesError::from)?;
    let key = keys
        .get(env.source_agent_id, env.agent_key_id)
        .ok_or(VerifyError::UnknownKey {
            agent_id: env.source_agent_id,
            key_id: env.agent_key_id,
        })?;
    verify_event_signature(key, &esh, &env.agent_signature)
        .map_err(|_| VerifyError::AgentSignature)?;
    verify_receipt(
        &item.receipt,
        &env,
        Some(item.sequence_number),
        sequencer_key,
    )?;
    Ok(leaf_hash(
        &env.tenant_id,
        &env.store_id,
        item.sequence_number,
        &esh,
        &env.agent_signature,
    ))
}

/// Leaf hash of a pulled event, without checking signatures.
pub fn event_leaf(item: &PulledEvent) -> Result<Hash32, VerifyError> {
    let env = item.envelope()?;
    let esh = env.event_signing_hash().map_err(VesError::from)?;
    Ok(leaf_hash(
        &env.tenant_id,
        &env.store_id,
        item.sequence_number,
        &esh,
        &env.agent_signature,
    ))
}

/// Verifies an inclusion proof (leaf → merkle root → state root) and, when given, that it
/// leads to exactly `commitment` and names the event's signing hash and signature.
pub fn verify_inclusion_proof(
    proof: &InclusionProof,
    commitment: Option<&Commitment>,
    event: Option<&EventEnvelope>,
) -> Result<(), VerifyError> {
    proof
        .verify()
        .map_err(|e| VerifyError::Proof(e.to_string()))?;
    if commitment.is_some_and(|c| *c != proof.commitment) {
        return Err(VerifyError::Proof("leads to a different commitment".into()));
    }
    if let Some(env) = event {
        let esh = env.event_signing_hash().map_err(VesError::from)?;
        if env.event_id != proof.event_id
            || esh != proof.event_signing_hash
            || env.agent_signature != proof.agent_signature
        {
            return Err(VerifyError::Proof(
                "proof is for different event data".into(),
            ));
        }
    }
    Ok(())
}

/// Recomputes the commitment chain from leaves (`leaves[i]` = leaf of sequence `i + 1`) and
/// compares each with the server's. Returns the last state root.
pub fn recompute_commitments(
    stream: StreamKey,
    leaves: &[Hash32],
    commitments: &[Commitment],
) -> Result<Option<Hash32>, VerifyError> {
    let mut prev: Option<Commitment> = None;
    for c in commitments {
        let fail = |what: String| VerifyError::Commitment {
            seq_start: c.seq_start,
            seq_end: c.seq_end,
            what,
        };
        let start =
            usize::try_from(c.seq_start.saturating_sub(1)).map_err(|e| fail(e.to_string()))?;
        let end = usize::try_from(c.seq_end).map_err(|e| fail(e.to_string()))?;
        let range = leaves
            .get(start..end)
            .ok_or_else(|| fail("events of the range were not pulled".into()))?;
        let built = Commitment::build(
            stream.tenant_id,
            stream.store_id,
            prev.as_ref(),
            c.seq_start,
            range,
        )
        .map_err(|e| fail(e.to_string()))?;
        if built.merkle_root != c.merkle_root {
            return Err(fail("merkle_root".into()));
        }
        if built != *c {
            return Err(fail("state_root chain".into()));
        }
        prev = Some(built);
    }
    Ok(prev.map(|c| c.state_root))
}

/// One failed check of a stream verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Sequence number concerned (`None` for commitment-level failures).
    pub sequence_number: Option<u64>,
    /// What failed.
    pub error: String,
}

/// Result of [`verify_stream`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamReport {
    /// Events checked.
    pub events: usize,
    /// Commitments recomputed.
    pub commitments: usize,
    /// Inclusion proofs checked.
    pub proofs: usize,
    /// Last recomputed state root.
    pub state_root: Option<Hash32>,
    /// Failures (empty = everything verified).
    pub failures: Vec<Failure>,
}

impl StreamReport {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Verifies pulled events (which must start at sequence 1 and be gap-free), every receipt,
/// the given inclusion proofs, and recomputes every commitment.
pub fn verify_stream(
    stream: StreamKey,
    events: &[PulledEvent],
    commitments: &[Commitment],
    proofs: &[InclusionProof],
    keys: &KeyRing,
    sequencer_key: &Ed25519PublicKey,
) -> StreamReport {
    let mut report = StreamReport::default();
    let mut leaves = Vec::with_capacity(events.len());
    let by_id: HashMap<Uuid, &PulledEvent> = events
        .iter()
        .filter_map(|e| Some((e.envelope().ok()?.event_id, e)))
        .collect();
    for (i, item) in events.iter().enumerate() {
        report.events += 1;
        let mut fail = |error: String| {
            report.failures.push(Failure {
                sequence_number: Some(item.sequence_number),
                error,
            })
        };
        if item.sequence_number != i as u64 + 1 {
            fail(format!("expected sequence number {}", i + 1));
        }
        match verify_pulled_event(item, stream, keys, sequencer_key) {
            Ok(leaf) => leaves.push(leaf),
            Err(e) => {
                fail(e.to_string());
                // Keep the leaf (if computable) so commitments still get compared.
                leaves.push(event_leaf(item).unwrap_or(Hash32::ZERO));
            }
        }
    }
    for proof in proofs {
        report.proofs += 1;
        let commitment = commitments
            .iter()
            .find(|c| c.seq_start <= proof.sequence_number && proof.sequence_number <= c.seq_end);
        let event = by_id.get(&proof.event_id).and_then(|e| e.envelope().ok());
        let result = match commitment {
            None => Err(VerifyError::Proof("no matching commitment".into())),
            Some(c) => verify_inclusion_proof(proof, Some(c), event.as_ref()),
        };
        if let Err(e) = result {
            report.failures.push(Failure {
                sequence_number: Some(proof.sequence_number),
                error: e.to_string(),
            });
        }
    }
    report.commitments = commitments.len();
    match recompute_commitments(stream, &leaves, commitments) {
        Ok(root) => report.state_root = root,
        Err(e) => report.failures.push(Failure {
            sequence_number: None,
            error: e.to_string(),
        }),
    }
    report
}
