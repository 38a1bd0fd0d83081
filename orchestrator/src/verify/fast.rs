//! The fast path of `full` verification: the same checks as one event at a time, with the
//! events split over the cores, every hash computed once per event, and the inclusion proofs
//! of all events under a commitment checked in one pass over its tree (each inner node hashed
//! once, and every proof's siblings compared against it). It only answers "all good"; on any
//! failure the caller re-checks event by event to name the culprit.
//!
//! Signatures are verified one by one with the verdict of `verify_strict`, with the key
//! prepared once and without decoding `R` ([`ves::KeyVerifier`]; `ves::strict` explains why
//! the Ed25519 batch equation does not pay under strict semantics).

use ves::{Commitment, Ed25519PublicKey, Hash32, KeyVerifier, MerkleProof};

use super::full::{par_map, parse_entry, prepare};
use crate::journal::SignedEntry;
use crate::receipt::Receipt;
use crate::sink::SequencedEvent;

/// `Some(entries)` when every event passes every check; `None` otherwise.
pub(super) fn check_events(
    receipt: &Receipt,
    key: &Ed25519PublicKey,
    chain: &[&Commitment],
    at: &[usize],
    run: &str,
    events: &[SequencedEvent],
) -> Option<Vec<(u64, SignedEntry)>> {
    let verifier = KeyVerifier::new(key);
    let parts = par_map(events, 32, |offset, part| {
        let mut out = Vec::with_capacity(part.len());
        for (i, se) in part.iter().enumerate() {
            let p = prepare(receipt, chain[at[offset + i]], run, se).ok()?;
            if !verifier.verify(&p.esh.0, &se.event.agent_signature) {
                return None;
            }
            let entry = parse_entry(receipt, se.sequence, &se.event).ok()?;
            out.push((p.leaf, entry));
        }
        Some(out)
    });
    let mut leaves = Vec::with_capacity(events.len());
    let mut entries = Vec::with_capacity(events.len());
    for part in parts {
        for (leaf, entry) in part? {
            leaves.push(leaf);
            entries.push(entry);
        }
    }
    if leaves.len() != events.len() {
        return None;
    }
    let mut start = 0;
    while start < events.len() {
        let k = at[start];
        let end = start + at[start..].iter().take_while(|&&x| x == k).count();
        let items: Vec<(u32, Hash32, &MerkleProof)> = events[start..end]
            .iter()
            .zip(&leaves[start..end])
            .map(|(se, leaf)| (se.proof.leaf_index, *leaf, &se.proof))
            .collect();
        if !verify_many(&chain[k].merkle_root, chain[k].leaf_count, &items) {
            return None;
        }
        start = end;
    }
    Some(events.iter().map(|se| se.sequence).zip(entries).collect())
}

/// Whether every `(leaf_index, leaf, proof)` (indices strictly increasing) verifies under
/// `root` in a tree of `leaf_count` leaves — the verdict of `ves::verify_inclusion` on each,
/// with every inner node on the proofs' paths hashed once.
pub(super) fn verify_many(
    root: &Hash32,
    leaf_count: u32,
    items: &[(u32, Hash32, &MerkleProof)],
) -> bool {
    let depth = u64::from(leaf_count).next_power_of_two().trailing_zeros() as usize;
    let well_formed = items.windows(2).all(|w| w[0].0 < w[1].0)
        && items.iter().all(|(i, _, p)| {
            p.leaf_count == leaf_count
                && p.leaf_index == *i
                && *i < leaf_count
                && p.siblings.len() == depth
        });
    if items.is_empty() || !well_formed {
        return items.is_empty();
    }
    // Nodes on the paths at the current level: (position, hash, an item below it).
    let mut cur: Vec<(u64, Hash32, usize)> = items
        .iter()
        .enumerate()
        .map(|(o, (i, leaf, _))| (u64::from(*i), *leaf, o))
        .collect();
    // Per level, both children of every pair hashed: (position, hash), sorted.
    let mut levels: Vec<Vec<(u64, Hash32)>> = Vec::with_capacity(depth);
    for level in 0..depth {
        let mut pairs = Vec::with_capacity(cur.len() * 2);
        let mut next = Vec::with_capacity(cur.len() / 2 + 1);
        let mut i = 0;
        while i < cur.len() {
            let (pos, hash, owner) = cur[i];
            let sibling = items[owner].2.siblings[level];
            let right_known = cur.get(i + 1).filter(|n| pos & 1 == 0 && n.0 == pos + 1);
            let (left, right, step) = match right_known {
                Some(n) => (hash, n.1, 2),
                None if pos & 1 == 0 => (hash, sibling, 1),
                None => (sibling, hash, 1),
            };
            pairs.push((pos & !1, left));
            pairs.push((pos | 1, right));
            next.push((pos >> 1, ves::node_hash(&left, &right), owner));
            i += step;
        }
        levels.push(pairs);
        cur = next;
    }
    if cur.len() != 1 || cur[0].1 != *root {
        return false;
    }
    // Every proof's siblings are the nodes the pass used.
    items.iter().all(|(index, _, proof)| {
        proof.siblings.iter().enumerate().all(|(level, s)| {
            let want = (u64::from(*index) >> level) ^ 1;
            let nodes = &levels[level];
            nodes
                .binary_search_by_key(&want, |n| n.0)
                .is_ok_and(|j| nodes[j].1 == *s)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash32> {
        (0..n)
            .map(|i| ves::encoding::domain_hash(b"t", &[&(i as u64).to_be_bytes()]))
            .collect()
    }

    #[test]
    fn agrees_with_single_proofs() {
        for n in [1usize, 2, 3, 5, 8, 13, 64, 100] {
            let l = leaves(n);
            let root = ves::merkle_root(&l);
            let proofs: Vec<MerkleProof> = (0..n)
                .map(|i| ves::inclusion_proof(&l, i).expect("proof"))
                .collect();
            // Every subset pattern: all, evens, odds, first and last.
            let subsets: Vec<Vec<usize>> = vec![
                (0..n).collect(),
                (0..n).step_by(2).collect(),
                (1..n).step_by(2).collect(),
                vec![0, n - 1],
            ];
            for subset in subsets {
                let mut subset = subset;
                subset.dedup();
                if subset.is_empty() {
                    continue;
                }
                let items: Vec<_> = subset
                    .iter()
                    .map(|&i| (i as u32, l[i], &proofs[i]))
                    .collect();
                assert!(verify_many(&root, n as u32, &items), "n={n} {subset:?}");
                // A wrong leaf, a wrong sibling, a wrong root: refused.
                let mut bad = items.clone();
                bad[0].1 = Hash32([1; 32]);
                assert!(!verify_many(&root, n as u32, &bad), "leaf n={n}");
                if !proofs[subset[0]].siblings.is_empty() {
                    let mut p = proofs[subset[0]].clone();
                    p.siblings[0] = Hash32([2; 32]);
                    let mut bad = items.clone();
                    bad[0].2 = &p;
                    assert!(!verify_many(&root, n as u32, &bad), "sibling n={n}");
                }
                assert!(!verify_many(&Hash32([3; 32]), n as u32, &items));
            }
        }
    }
}
