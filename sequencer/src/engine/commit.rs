//! Chained commitments over contiguous sequence ranges, and inclusion proofs.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{EngineError, Sequencer, MAX_PULL_LIMIT};
use crate::encoding::{serde_uuid, Hash32, Sig64};
use crate::error::{CommitmentError, MerkleError, VesError};
use crate::merkle::{leaf_hash, verify_inclusion, MerkleProof, MerkleTree};
use crate::store::{StoreError, StreamKey};
use crate::stream::{state_root, stream_id, Commitment};

/// Proof that an event is leaf `sequence_number − seq_start` of a stored commitment
/// (JSON: snake_case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Event.
    #[serde(with = "serde_uuid")]
    pub event_id: Uuid,
    /// Tenant.
    #[serde(with = "serde_uuid")]
    pub tenant_id: Uuid,
    /// Store.
    #[serde(with = "serde_uuid")]
    pub store_id: Uuid,
    /// Sequence number of the event.
    pub sequence_number: u64,
    /// Event signing hash.
    pub event_signing_hash: Hash32,
    /// Agent signature.
    pub agent_signature: Sig64,
    /// `leaf_hash(tenant, store, sequence_number, event_signing_hash, agent_signature)`.
    pub leaf_hash: Hash32,
    /// Sibling path.
    pub proof: MerkleProof,
    /// The commitment whose `merkle_root` the proof leads to.
    pub commitment: Commitment,
}

impl InclusionProof {
    /// Recomputes the leaf from the event fields, checks its index in the commitment's range,
    /// the path to `merkle_root` and the commitment's own `state_root`.
    pub fn verify(&self) -> Result<(), VesError> {
        let c = &self.commitment;
        let leaf = leaf_hash(
            &self.tenant_id,
            &self.store_id,
            self.sequence_number,
            &self.event_signing_hash,
            &self.agent_signature,
        );
        let index = self.sequence_number.checked_sub(c.seq_start);
        if leaf != self.leaf_hash
            || c.tenant_id != self.tenant_id
            || c.store_id != self.store_id
            || index != Some(u64::from(self.proof.leaf_index))
            || self.proof.leaf_count != c.leaf_count
        {
            return Err(MerkleError::RootMismatch.into());
        }
        verify_inclusion(&leaf, &self.proof, &c.merkle_root)?;
        let expected = state_root(
            &stream_id(&c.tenant_id, &c.store_id),
            &c.prev_state_root,
            &c.merkle_root,
            c.seq_start,
            c.seq_end,
            c.leaf_count,
        );
        if expected != c.state_root {
            return Err(CommitmentError::RootMismatch("state_root").into());
        }
        Ok(())
    }
}

impl Sequencer {
    /// Builds and stores the next commitment of `stream`, covering every event not yet
    /// committed, or up to `up_to` (inclusive) when given.
    pub async fn commit(
        &self,
        stream: StreamKey,
        up_to: Option<u64>,
    ) -> Result<Commitment, EngineError> {
        let _serialised = self.commit_lock.lock().await;
        let head = self.store.head(stream).await?;
        let prev = head.latest_commitment;
        let start = prev.as_ref().map_or(1, |c| c.seq_end.saturating_add(1));
        let end = up_to.unwrap_or(head.head_sequence);
        if end > head.head_sequence {
            return Err(EngineError::invalid(
                "range_beyond_head",
                format!("seq_end {end} is beyond the head {}", head.head_sequence),
            ));
        }
        if end < start {
            return Err(EngineError::conflict(
                "nothing_to_commit",
                format!("events up to {end} are already committed (next start is {start})"),
            ));
        }
        if end - start >= u64::from(u32::MAX) {
            return Err(EngineError::invalid(
                "range_too_large",
                "a commitment covers at most 2^32 - 1 events",
            ));
        }
        let leaves = self.store.leaf_hashes(stream, start, end).await?;
        let (commitment, tree) = tokio::task::spawn_blocking(move || {
            let tree = MerkleTree::build(leaves)?;
            let commitment = Commitment::over_tree(
                stream.tenant_id,
                stream.store_id,
                prev.as_ref(),
                start,
                &tree,
            )?;
            Ok::<_, VesError>((commitment, tree))
        })
        .await
        .map_err(|e| EngineError::Internal(format!("commit task: {e}")))?
        .map_err(|e| EngineError::Internal(format!("building commitment: {e}")))?;
        self.store
            .append_commitment(&commitment)
            .await
            .map_err(|e| match e {
                StoreError::CommitmentConflict(m) => {
                    EngineError::conflict("commitment_conflict", m)
                }
                other => EngineError::Store(other),
            })?;
        // Proofs against this commitment need the same tree: keep it.
        self.proof_trees
            .insert((stream, commitment.seq_end), Arc::new(tree));
        Ok(commitment)
    }

    /// Commitments with `seq_end > after_seq_end`, at most `limit` (1..=1000).
    pub async fn commitments(
        &self,
        stream: StreamKey,
        after_seq_end: u64,
        limit: u32,
    ) -> Result<Vec<Commitment>, EngineError> {
        if limit == 0 || limit > MAX_PULL_LIMIT {
            return Err(EngineError::invalid(
                "invalid_limit",
                format!("limit must be 1..={MAX_PULL_LIMIT}"),
            ));
        }
        Ok(self.store.commitments(stream, after_seq_end, limit).await?)
    }

    /// The commitment ending at `seq_end`.
    pub async fn commitment(
        &self,
        stream: StreamKey,
        seq_end: u64,
    ) -> Result<Commitment, EngineError> {
        self.store
            .commitment_by_end(stream, seq_end)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no commitment ends at {seq_end}")))
    }

    /// Inclusion proof of an event against the commitment that covers it.
    pub async fn inclusion_proof(&self, event_id: Uuid) -> Result<InclusionProof, EngineError> {
        let event = self
            .store
            .event_by_id(event_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("event {event_id} not found")))?;
        let commitment = self
            .store
            .commitment_covering(event.stream, event.sequence_number)
            .await?
            .ok_or_else(|| {
                EngineError::conflict(
                    "not_committed",
                    format!(
                        "event {event_id} (sequence {}) is not covered by a commitment yet",
                        event.sequence_number
                    ),
                )
            })?;
        let index = event
            .sequence_number
            .checked_sub(commitment.seq_start)
            .and_then(|i| usize::try_from(i).ok())
            .ok_or_else(|| EngineError::Internal("commitment does not cover the event".into()))?;
        let key = (event.stream, commitment.seq_end);
        let tree = match self.proof_trees.get(&key) {
            Some(tree) => tree,
            None => {
                let leaves = self
                    .store
                    .leaf_hashes(event.stream, commitment.seq_start, commitment.seq_end)
                    .await?;
                let tree = tokio::task::spawn_blocking(move || MerkleTree::build(leaves))
                    .await
                    .map_err(|e| EngineError::Internal(format!("proof task: {e}")))?
                    .map_err(|e| EngineError::Internal(format!("building proof tree: {e}")))?;
                if tree.root() != commitment.merkle_root {
                    return Err(EngineError::Internal(format!(
                        "stored events {}..={} do not hash to their commitment's root",
                        commitment.seq_start, commitment.seq_end
                    )));
                }
                let tree = Arc::new(tree);
                self.proof_trees.insert(key, Arc::clone(&tree));
                tree
            }
        };
        let proof = tree
            .proof(index)
            .map_err(|e| EngineError::Internal(format!("building proof: {e}")))?;
        Ok(InclusionProof {
            event_id,
            tenant_id: event.stream.tenant_id,
            store_id: event.stream.store_id,
            sequence_number: event.sequence_number,
            event_signing_hash: event.event_signing_hash,
            agent_signature: event.agent_signature,
            leaf_hash: event.leaf_hash(),
            proof,
            commitment,
        })
    }
}
