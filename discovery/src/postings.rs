//! Inverted indexes from categories, tool ids, text tokens and facets to agent slots.

use std::collections::HashMap;

use crate::ids::Address;

/// Best match of one token in one agent's manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    /// Score in thousandths of a point.
    pub weight: u32,
    /// Index of the tool in the manifest.
    pub tool: u32,
    /// Matched in the name/id (true) or description (false).
    pub in_name: bool,
}

/// Weight of a query token found in a tool's name or id (thousandths).
pub const NAME_WEIGHT: u32 = 2000;
/// Weight of a query token found in a tool's description (thousandths).
pub const DESCRIPTION_WEIGHT: u32 = 1000;

/// Inverted indexes from values to slots.
#[derive(Default)]
pub(crate) struct Postings {
    pub category: HashMap<String, SlotSet>,
    pub tool: HashMap<String, SlotSet>,
    pub token: HashMap<String, TokenHits>,
    pub region: HashMap<String, SlotSet>,
    pub operator: HashMap<Address, SlotSet>,
    pub service: HashMap<u64, SlotSet>,
}

/// Sorted, duplicate-free slots (slots are handed out in increasing order, so bulk loading
/// appends; iteration walks the dense arrays in memory order).
pub(crate) type SlotSet = Vec<u32>;
/// Per-token best hits, sorted by slot.
pub(crate) type TokenHits = Vec<(u32, Hit)>;

pub(crate) fn insert_slot(set: &mut SlotSet, slot: u32) {
    if let Err(i) = set.binary_search(&slot) {
        set.insert(i, slot);
    }
}

/// The hit of `slot` in a token's list.
pub(crate) fn hit_of(hits: &TokenHits, slot: u32) -> Option<&Hit> {
    hits.binary_search_by_key(&slot, |(s, _)| *s)
        .ok()
        .map(|i| &hits[i].1)
}

pub(crate) fn remove_from<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, SlotSet>,
    key: &K,
    slot: u32,
) {
    if let Some(set) = map.get_mut(key) {
        if let Ok(i) = set.binary_search(&slot) {
            set.remove(i);
        }
        if set.is_empty() {
            map.remove(key);
        }
    }
}
