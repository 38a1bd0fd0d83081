//! Stream identifiers, chained state roots and commitments over contiguous sequence ranges.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain;
use crate::encoding::{domain_hash, serde_uuid, Hash32, Preimage};
use crate::error::CommitmentError;
use crate::merkle::{merkle_root, MerkleTree};

/// `SHA256("VES_STREAM_V1" || UUID tenant || UUID store)`.
pub fn stream_id(tenant_id: &Uuid, store_id: &Uuid) -> Hash32 {
    domain_hash(domain::STREAM, &[tenant_id.as_bytes(), store_id.as_bytes()])
}

/// `SHA256("VES_STATE_ROOT_V1" || stream_id || prev_state_root || merkle_root ||
/// U64 seq_start || U64 seq_end || U32 leaf_count)`.
pub fn state_root(
    stream_id: &Hash32,
    prev_state_root: &Hash32,
    merkle_root: &Hash32,
    seq_start: u64,
    seq_end: u64,
    leaf_count: u32,
) -> Hash32 {
    let mut p = Preimage::new(domain::STATE_ROOT);
    p.bytes(&stream_id.0)
        .bytes(&prev_state_root.0)
        .bytes(&merkle_root.0)
        .u64(seq_start)
        .u64(seq_end)
        .u32(leaf_count);
    p.finish()
}

/// A commitment to the events `seq_start..=seq_end` of one stream, chained to the previous
/// commitment through `prev_state_root` (zeros for the first, which starts at sequence 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    /// Tenant.
    #[serde(with = "serde_uuid")]
    pub tenant_id: Uuid,
    /// Store.
    #[serde(with = "serde_uuid")]
    pub store_id: Uuid,
    /// First sequence number covered.
    pub seq_start: u64,
    /// Last sequence number covered (inclusive).
    pub seq_end: u64,
    /// `seq_end − seq_start + 1`.
    pub leaf_count: u32,
    /// Merkle root of the leaves.
    pub merkle_root: Hash32,
    /// State root of the previous commitment, or zeros.
    pub prev_state_root: Hash32,
    /// [`state_root`] of this commitment.
    pub state_root: Hash32,
}

/// `(seq_start, prev_state_root)` the next commitment must use after `prev`.
fn successor_of(
    prev: Option<&Commitment>,
    tenant_id: &Uuid,
    store_id: &Uuid,
) -> Result<(u64, Hash32), CommitmentError> {
    match prev {
        None => Ok((1, Hash32::ZERO)),
        Some(p) if p.tenant_id != *tenant_id || p.store_id != *store_id => {
            Err(CommitmentError::StreamMismatch)
        }
        Some(p) => Ok((p.seq_end.saturating_add(1), p.state_root)),
    }
}

impl Commitment {
    /// Commits to `leaves` (leaf hashes of sequences `seq_start..`), after `prev`.
    pub fn build(
        tenant_id: Uuid,
        store_id: Uuid,
        prev: Option<&Commitment>,
        seq_start: u64,
        leaves: &[Hash32],
    ) -> Result<Self, CommitmentError> {
        let root = merkle_root(leaves);
        Self::with_root(tenant_id, store_id, prev, seq_start, leaves.len(), root)
    }

    /// [`Self::build`] over a tree already built from the leaves (kept to answer proofs).
    pub fn over_tree(
        tenant_id: Uuid,
        store_id: Uuid,
        prev: Option<&Commitment>,
        seq_start: u64,
        tree: &MerkleTree,
    ) -> Result<Self, CommitmentError> {
        Self::with_root(
            tenant_id,
            store_id,
            prev,
            seq_start,
            tree.leaf_count(),
            tree.root(),
        )
    }

    fn with_root(
        tenant_id: Uuid,
        store_id: Uuid,
        prev: Option<&Commitment>,
        seq_start: u64,
        leaf_count: usize,
        root: Hash32,
    ) -> Result<Self, CommitmentError> {
        let (expected_start, prev_state_root) = successor_of(prev, &tenant_id, &store_id)?;
        if seq_start != expected_start {
            return Err(CommitmentError::NotContiguous {
                expected: expected_start,
                actual: seq_start,
            });
        }
        if leaf_count == 0 {
            return Err(CommitmentError::EmptyRange);
        }
        let leaf_count = u32::try_from(leaf_count)
            .map_err(|_| crate::error::MerkleError::TooManyLeaves(leaf_count))?;
        let seq_end = seq_start.checked_add(u64::from(leaf_count) - 1).ok_or(
            CommitmentError::LeafCountMismatch {
                seq_start,
                seq_end: u64::MAX,
                leaf_count: u64::from(leaf_count),
            },
        )?;
        let sid = stream_id(&tenant_id, &store_id);
        Ok(Self {
            tenant_id,
            store_id,
            seq_start,
            seq_end,
            leaf_count,
            merkle_root: root,
            prev_state_root,
            state_root: state_root(
                &sid,
                &prev_state_root,
                &root,
                seq_start,
                seq_end,
                leaf_count,
            ),
        })
    }

    /// Checks this commitment against its predecessor (contiguity, chaining, state root)
    /// and, when given, against the leaves it claims to cover.
    pub fn verify(
        &self,
        prev: Option<&Commitment>,
        leaves: Option<&[Hash32]>,
    ) -> Result<(), CommitmentError> {
        let (expected_start, expected_prev) = successor_of(prev, &self.tenant_id, &self.store_id)?;
        if self.seq_start != expected_start {
            return Err(CommitmentError::NotContiguous {
                expected: expected_start,
                actual: self.seq_start,
            });
        }
        if self.prev_state_root != expected_prev {
            return Err(CommitmentError::PrevStateRootMismatch);
        }
        let span = self
            .seq_end
            .checked_sub(self.seq_start)
            .and_then(|d| d.checked_add(1));
        if self.leaf_count == 0 || span != Some(u64::from(self.leaf_count)) {
            return Err(CommitmentError::LeafCountMismatch {
                seq_start: self.seq_start,
                seq_end: self.seq_end,
                leaf_count: u64::from(self.leaf_count),
            });
        }
        if let Some(leaves) = leaves {
            if leaves.len() as u64 != u64::from(self.leaf_count) {
                return Err(CommitmentError::LeafCountMismatch {
                    seq_start: self.seq_start,
                    seq_end: self.seq_end,
                    leaf_count: leaves.len() as u64,
                });
            }
            if merkle_root(leaves) != self.merkle_root {
                return Err(CommitmentError::RootMismatch("merkle_root"));
            }
        }
        let sid = stream_id(&self.tenant_id, &self.store_id);
        let expected = state_root(
            &sid,
            &self.prev_state_root,
            &self.merkle_root,
            self.seq_start,
            self.seq_end,
            self.leaf_count,
        );
        if expected != self.state_root {
            return Err(CommitmentError::RootMismatch("state_root"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_of_commitments() {
        let (t, s) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let leaves: Vec<Hash32> = (0..7u8).map(|i| Hash32([i; 32])).collect();
        let c1 = Commitment::build(t, s, None, 1, &leaves[..3]).unwrap();
        assert_eq!((c1.seq_start, c1.seq_end, c1.leaf_count), (1, 3, 3));
        assert_eq!(c1.prev_state_root, Hash32::ZERO);
        assert_eq!(c1.verify(None, Some(&leaves[..3])), Ok(()));
        assert!(matches!(
            Commitment::build(t, s, Some(&c1), 5, &leaves[3..]),
            Err(CommitmentError::NotContiguous {
                expected: 4,
                actual: 5
            })
        ));
        assert!(matches!(
            Commitment::build(t, s, None, 2, &leaves),
            Err(CommitmentError::NotContiguous {
                expected: 1,
                actual: 2
            })
        ));
        assert_eq!(
            Commitment::build(t, s, Some(&c1), 4, &[]),
            Err(CommitmentError::EmptyRange)
        );
        let c2 = Commitment::build(t, s, Some(&c1), 4, &leaves[3..]).unwrap();
        assert_eq!(c2.prev_state_root, c1.state_root);
        assert_eq!(c2.verify(Some(&c1), Some(&leaves[3..])), Ok(()));
        assert_eq!(
            c2.verify(None, None),
            Err(CommitmentError::NotContiguous {
                expected: 1,
                actual: 4
            })
        );
        let mut forged = c2.clone();
        forged.merkle_root = Hash32([9; 32]);
        assert!(forged.verify(Some(&c1), None).is_err());
        let other = Commitment::build(t, Uuid::from_u128(3), None, 1, &leaves[..1]).unwrap();
        assert_eq!(
            Commitment::build(t, s, Some(&other), 2, &leaves[..1]),
            Err(CommitmentError::StreamMismatch)
        );
    }
}
