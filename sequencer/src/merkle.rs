//! Merkle commitments over a stream's events.
//!
//! Leaves in sequence order, padded with [`pad_leaf`] to the next power of two; one leaf:
//! root = leaf; zero leaves: root = 32 zero bytes. A proof lists sibling hashes bottom-up; at
//! level `i` the running node is the left child when bit `i` of the leaf index is 0.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain;
use crate::encoding::{domain_hash, Hash32, Preimage, Sig64};
use crate::error::MerkleError;

/// `SHA256("VES_LEAF_V1" || UUID tenant || UUID store || U64 sequence_number ||
/// event_signing_hash || agent_signature[64])`.
pub fn leaf_hash(
    tenant_id: &Uuid,
    store_id: &Uuid,
    sequence_number: u64,
    event_signing_hash: &Hash32,
    agent_signature: &Sig64,
) -> Hash32 {
    let mut p = Preimage::new(domain::LEAF);
    p.uuid(tenant_id)
        .uuid(store_id)
        .u64(sequence_number)
        .bytes(&event_signing_hash.0)
        .bytes(&agent_signature.0);
    p.finish()
}

/// `SHA256("VES_PAD_LEAF_V1")`.
pub fn pad_leaf() -> Hash32 {
    domain_hash(domain::PAD_LEAF, &[])
}

/// `SHA256("VES_NODE_V1" || left || right)`.
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    domain_hash(domain::NODE, &[&left.0, &right.0])
}

/// Depth of the padded tree over `leaf_count ≥ 1` leaves (`⌈log2 n⌉`); computed in `u64` so
/// that any `u32` leaf count works on every platform.
fn depth(leaf_count: u64) -> usize {
    leaf_count.next_power_of_two().trailing_zeros() as usize
}

/// One level up: pairs hashed, a missing right sibling replaced by padding.
fn parent_level(level: &[Hash32], pad: &Hash32) -> Vec<Hash32> {
    level
        .chunks(2)
        .map(|pair| node_hash(&pair[0], pair.get(1).unwrap_or(pad)))
        .collect()
}

/// Padding subtree roots: `pads[i]` is the root of a subtree of `2^i` pad leaves.
fn pad_roots(levels: usize) -> Vec<Hash32> {
    let mut pads = vec![pad_leaf()];
    for i in 0..levels {
        let next = node_hash(&pads[i], &pads[i]);
        pads.push(next);
    }
    pads
}

/// Merkle root of `leaves`.
pub fn merkle_root(leaves: &[Hash32]) -> Hash32 {
    if leaves.is_empty() {
        return Hash32::ZERO;
    }
    let pads = pad_roots(depth(leaves.len() as u64));
    let mut level = leaves.to_vec();
    let mut i = 0;
    while level.len() > 1 {
        level = parent_level(&level, &pads[i]);
        i += 1;
    }
    level[0]
}

/// An inclusion proof for one leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleProof {
    /// Position of the leaf (0-based; leaf `i` is sequence `seq_start + i`).
    pub leaf_index: u32,
    /// Number of real (unpadded) leaves.
    pub leaf_count: u32,
    /// Sibling hashes from the leaf level upwards.
    pub siblings: Vec<Hash32>,
}

/// Builds the inclusion proof of `leaves[index]`.
pub fn inclusion_proof(leaves: &[Hash32], index: usize) -> Result<MerkleProof, MerkleError> {
    if leaves.is_empty() {
        return Err(MerkleError::Empty);
    }
    let leaf_count =
        u32::try_from(leaves.len()).map_err(|_| MerkleError::TooManyLeaves(leaves.len()))?;
    let leaf_index = u32::try_from(index)
        .ok()
        .filter(|i| *i < leaf_count)
        .ok_or(MerkleError::IndexOutOfRange {
            index: index as u64,
            leaf_count: leaves.len() as u64,
        })?;
    let pads = pad_roots(depth(u64::from(leaf_count)));
    let mut siblings = Vec::with_capacity(pads.len());
    let mut level = leaves.to_vec();
    let mut pos = index;
    let mut i = 0;
    while level.len() > 1 {
        let sibling = level.get(pos ^ 1).copied().unwrap_or(pads[i]);
        siblings.push(sibling);
        level = parent_level(&level, &pads[i]);
        pos >>= 1;
        i += 1;
    }
    Ok(MerkleProof {
        leaf_index,
        leaf_count,
        siblings,
    })
}

/// Every level of the padded tree over some leaves, kept to answer many proofs without
/// rehashing (about twice the leaves' size in memory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleTree {
    /// `levels[0]` = the leaves, last = `[root]`.
    levels: Vec<Vec<Hash32>>,
    pads: Vec<Hash32>,
}

impl MerkleTree {
    /// Builds the tree over `leaves` (at most `u32::MAX`).
    pub fn build(leaves: Vec<Hash32>) -> Result<Self, MerkleError> {
        if leaves.is_empty() {
            return Err(MerkleError::Empty);
        }
        u32::try_from(leaves.len()).map_err(|_| MerkleError::TooManyLeaves(leaves.len()))?;
        let pads = pad_roots(depth(leaves.len() as u64));
        let mut levels = vec![leaves];
        while let Some(top) = levels.last().filter(|l| l.len() > 1) {
            let next = parent_level(top, &pads[levels.len() - 1]);
            levels.push(next);
        }
        Ok(Self { levels, pads })
    }

    /// Number of leaves.
    pub fn leaf_count(&self) -> usize {
        self.levels[0].len()
    }

    /// The root (equal to [`merkle_root`] of the leaves).
    pub fn root(&self) -> Hash32 {
        self.levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or(Hash32::ZERO)
    }

    /// The proof of leaf `index` (equal to [`inclusion_proof`] of the leaves).
    pub fn proof(&self, index: usize) -> Result<MerkleProof, MerkleError> {
        let leaf_count = self.leaf_count();
        let leaf_index = u32::try_from(index)
            .ok()
            .filter(|_| index < leaf_count)
            .ok_or(MerkleError::IndexOutOfRange {
                index: index as u64,
                leaf_count: leaf_count as u64,
            })?;
        let siblings = self.levels[..self.levels.len() - 1]
            .iter()
            .enumerate()
            .map(|(i, level)| level.get((index >> i) ^ 1).copied().unwrap_or(self.pads[i]))
            .collect();
        Ok(MerkleProof {
            leaf_index,
            leaf_count: leaf_count as u32,
            siblings,
        })
    }
}

/// Root implied by `leaf` and `proof` (after checking the proof's shape).
pub fn root_from_proof(leaf: &Hash32, proof: &MerkleProof) -> Result<Hash32, MerkleError> {
    if proof.leaf_count == 0 {
        return Err(MerkleError::Empty);
    }
    if proof.leaf_index >= proof.leaf_count {
        return Err(MerkleError::IndexOutOfRange {
            index: u64::from(proof.leaf_index),
            leaf_count: u64::from(proof.leaf_count),
        });
    }
    let expected = depth(u64::from(proof.leaf_count));
    if proof.siblings.len() != expected {
        return Err(MerkleError::ProofLength {
            expected,
            actual: proof.siblings.len(),
        });
    }
    let mut node = *leaf;
    for (level, sibling) in proof.siblings.iter().enumerate() {
        node = if (proof.leaf_index >> level) & 1 == 0 {
            node_hash(&node, sibling)
        } else {
            node_hash(sibling, &node)
        };
    }
    Ok(node)
}

/// Verifies that `leaf` is at `proof.leaf_index` in a tree of `proof.leaf_count` leaves
/// with root `root`.
pub fn verify_inclusion(
    leaf: &Hash32,
    proof: &MerkleProof,
    root: &Hash32,
) -> Result<(), MerkleError> {
    if root_from_proof(leaf, proof)? == *root {
        Ok(())
    } else {
        Err(MerkleError::RootMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash32> {
        (0..n)
            .map(|i| domain_hash(b"t", &[&(i as u64).to_be_bytes()]))
            .collect()
    }

    #[test]
    fn small_trees_by_hand() {
        let l = leaves(3);
        let pad = pad_leaf();
        assert_eq!(merkle_root(&[]), Hash32::ZERO);
        assert_eq!(merkle_root(&l[..1]), l[0]);
        assert_eq!(
            merkle_root(&l),
            node_hash(&node_hash(&l[0], &l[1]), &node_hash(&l[2], &pad))
        );
        let proof = inclusion_proof(&l, 2).unwrap();
        assert_eq!(proof.siblings, vec![pad, node_hash(&l[0], &l[1])]);
        assert_eq!(verify_inclusion(&l[2], &proof, &merkle_root(&l)), Ok(()));
        let single = inclusion_proof(&l[..1], 0).unwrap();
        assert!(single.siblings.is_empty());
        assert_eq!(verify_inclusion(&l[0], &single, &l[0]), Ok(()));
    }

    #[test]
    fn bad_shapes_rejected() {
        let l = leaves(5);
        let root = merkle_root(&l);
        assert_eq!(inclusion_proof(&[], 0), Err(MerkleError::Empty));
        assert!(inclusion_proof(&l, 5).is_err());
        let mut proof = inclusion_proof(&l, 4).unwrap();
        proof.leaf_index = 5;
        assert!(verify_inclusion(&l[4], &proof, &root).is_err());
        proof.leaf_index = 4;
        proof.siblings.push(Hash32::ZERO);
        assert!(matches!(
            verify_inclusion(&l[4], &proof, &root),
            Err(MerkleError::ProofLength { .. })
        ));
    }
}
