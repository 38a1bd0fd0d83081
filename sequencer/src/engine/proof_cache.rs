//! The Merkle trees of recent commitments (kept by `commit`, or rebuilt by the first proof
//! after a restart), so that proofs against a commitment (a verifier checking a whole log)
//! never read and hash its leaves again.
//!
//! Bounded by total leaves (a tree takes about 64 bytes per leaf); the least recently used
//! tree goes first. A commitment never changes once stored, so an entry is never stale.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::merkle::MerkleTree;
use crate::store::StreamKey;

/// Most leaves kept over all cached trees (~128 MB).
pub(crate) const MAX_CACHED_LEAVES: usize = 2_000_000;

/// A commitment: its stream and last sequence number.
pub(crate) type TreeKey = (StreamKey, u64);

#[derive(Default)]
pub(crate) struct ProofCache {
    /// Most recently used last.
    trees: Mutex<Vec<(TreeKey, Arc<MerkleTree>)>>,
}

impl ProofCache {
    pub(crate) fn get(&self, key: &TreeKey) -> Option<Arc<MerkleTree>> {
        let mut trees = self.trees.lock();
        let at = trees.iter().position(|(k, _)| k == key)?;
        let entry = trees.remove(at);
        let tree = Arc::clone(&entry.1);
        trees.push(entry);
        Some(tree)
    }

    /// Keeps `tree` unless it alone exceeds the bound; evicts the least recently used.
    pub(crate) fn insert(&self, key: TreeKey, tree: Arc<MerkleTree>) {
        if tree.leaf_count() > MAX_CACHED_LEAVES {
            return;
        }
        let mut trees = self.trees.lock();
        trees.retain(|(k, _)| *k != key);
        trees.push((key, tree));
        let mut total: usize = trees.iter().map(|(_, t)| t.leaf_count()).sum();
        while total > MAX_CACHED_LEAVES {
            let (_, evicted) = trees.remove(0);
            total -= evicted.leaf_count();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Hash32;
    use uuid::Uuid;

    fn tree(n: usize) -> Arc<MerkleTree> {
        Arc::new(MerkleTree::build(vec![Hash32([1; 32]); n]).expect("tree"))
    }

    #[test]
    fn least_recently_used_goes_first_within_the_bound() {
        let stream = StreamKey::new(Uuid::from_u128(1), Uuid::from_u128(2));
        let cache = ProofCache::default();
        let half = MAX_CACHED_LEAVES / 2;
        cache.insert((stream, 1), tree(half));
        cache.insert((stream, 2), tree(half));
        assert!(cache.get(&(stream, 1)).is_some()); // 1 is now the most recent
        cache.insert((stream, 3), tree(10));
        assert!(cache.get(&(stream, 2)).is_none());
        assert!(cache.get(&(stream, 1)).is_some());
        assert!(cache.get(&(stream, 3)).is_some());
        cache.insert((stream, 4), tree(MAX_CACHED_LEAVES + 1));
        assert!(cache.get(&(stream, 4)).is_none());
    }
}
