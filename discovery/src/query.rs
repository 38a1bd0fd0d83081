//! Read-side API: `discover_query` with deterministic, explainable ranking, and the
//! per-agent lookups behind `agent_getRecord`, `agent_status` and `discover_resolve`.
//!
//! Ranking (all weights in points; scores are exact sums of these, so ties are exact):
//! * filters (`category`, `tool_id`, `facets.*`, status) only select, they never score;
//! * `q` is tokenised (lowercase alphanumeric runs of ≥ 2 chars); an agent must match at least
//!   one query term; each term scores once per agent, by its best match: +2.0 in a tool's
//!   name or id, +1.0 in a tool's description;
//! * +1.0 when a verified manifest is attached;
//! * +0.5 when the heartbeat is fresh (expiry at least [`FRESH_SECS`] away);
//! * ties break by agent id, ascending.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ids::{Address, AgentId, Bytes32};
use crate::index::{AgentRecord, EffectiveStatus, Index};
use crate::manifest::SignedManifest;
use crate::postings::{hit_of, SlotSet, TokenHits};
pub use crate::postings::{DESCRIPTION_WEIGHT, NAME_WEIGHT};
use crate::text::tokenize;

/// Results returned when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest `limit` honoured (larger values are capped).
pub const MAX_LIMIT: usize = 100;
/// Most query terms accepted in `q`.
pub const MAX_QUERY_TERMS: usize = 16;
/// A heartbeat is fresh when the record expires at least this many seconds from now.
pub const FRESH_SECS: u64 = 300;
/// Boost for a fresh heartbeat (thousandths of a point).
pub const FRESH_WEIGHT: u32 = 500;
/// Boost for an attached, verified manifest (thousandths of a point).
pub const MANIFEST_WEIGHT: u32 = 1000;

/// Exact-match facets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facets {
    pub region: Option<String>,
    pub operator: Option<Address>,
    pub service_id: Option<u64>,
}

/// Result order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderBy {
    /// Score descending, then agent id ascending.
    #[default]
    Score,
    /// Agent id ascending.
    AgentId,
    /// Expiry descending (longest-lived first), then agent id ascending.
    ExpiresAt,
}

/// Parameters of `discover_query`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverQuery {
    pub category: Option<String>,
    pub q: Option<String>,
    #[serde(default)]
    pub facets: Facets,
    pub tool_id: Option<String>,
    pub limit: Option<usize>,
    #[serde(default)]
    pub order_by: OrderBy,
    /// Also return expired, jailed and exited agents (default: active only).
    #[serde(default)]
    pub include_inactive: bool,
}

/// One ranked agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryHit {
    pub agent_id: AgentId,
    pub score: f64,
    pub reasons: Vec<String>,
    pub status: EffectiveStatus,
    pub endpoint: String,
    pub region: String,
    pub operator: Address,
    pub service_id: u64,
    pub expires_at: u64,
    /// Tools that matched a query term, the category or the tool id (sorted).
    pub matched_tools: Vec<String>,
}

/// The answer to `discover_query`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResponse {
    pub results: Vec<QueryHit>,
    /// Agents that passed the filters, before `limit`.
    pub total: usize,
    /// The limit applied.
    pub limit: usize,
}

/// An invalid query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("q contains no searchable term (terms are letters/digits, at least 2 long)")]
    EmptyText,
    #[error("q has more than {MAX_QUERY_TERMS} terms")]
    TooManyTerms,
}

fn points(milli: u32) -> f64 {
    f64::from(milli) / 1000.0
}

fn fmt_points(milli: u32) -> String {
    if milli.is_multiple_of(100) {
        format!("{:.1}", points(milli))
    } else {
        format!("{:.3}", points(milli))
    }
}

/// Runs a discovery query against `index` at time `now` (unix seconds).
pub fn discover_query(
    index: &Index,
    query: &DiscoverQuery,
    now: u64,
) -> Result<QueryResponse, QueryError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let terms = match &query.q {
        Some(q) => {
            let terms = tokenize(q);
            if terms.is_empty() {
                return Err(QueryError::EmptyText);
            }
            if terms.len() > MAX_QUERY_TERMS {
                return Err(QueryError::TooManyTerms);
            }
            terms
        }
        None => Vec::new(),
    };
    let empty = QueryResponse {
        results: Vec::new(),
        total: 0,
        limit,
    };
    let p = &index.postings;

    // Exact filters as posting sets; a value nobody has means no result.
    let mut filters: Vec<&SlotSet> = Vec::new();
    let wanted = [
        query.category.as_ref().map(|c| p.category.get(c)),
        query.tool_id.as_ref().map(|t| p.tool.get(t)),
        query.facets.region.as_ref().map(|r| p.region.get(r)),
        query.facets.operator.as_ref().map(|o| p.operator.get(o)),
        query.facets.service_id.as_ref().map(|s| p.service.get(s)),
    ];
    for set in wanted.into_iter().flatten() {
        match set {
            Some(set) => filters.push(set),
            None => return Ok(empty),
        }
    }
    filters.sort_by_key(|s| s.len());
    let lists: Vec<(&String, &TokenHits)> = terms
        .iter()
        .filter_map(|t| p.token.get(t).map(|l| (t, l)))
        .collect();
    if !terms.is_empty() && lists.is_empty() {
        return Ok(empty);
    }

    // Candidate slots, with their text score.
    // Rows of (sort key, slot, score) for the candidates that pass every filter. The key packs
    // the order (score or expiry, then the first 8 bytes of the agent id, big-endian) so that
    // selection compares integers; equal keys fall back to the full agent id.
    let mut scored: Vec<(u128, u32, u32)> = Vec::new();
    let order_by = query.order_by;
    let row = |slot: u32, text: u32| -> Option<(u128, u32, u32)> {
        let hot = index.hot.get(slot as usize)?;
        if !query.include_inactive && hot.effective_status(now) != EffectiveStatus::Active {
            return None;
        }
        let mut score = text;
        if hot.has_manifest {
            score += MANIFEST_WEIGHT;
        }
        if fresh(hot.expires_at, now) {
            score += FRESH_WEIGHT;
        }
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&hot.agent_id.0[..8]);
        let prefix = u128::from(u64::from_be_bytes(prefix));
        let key = match order_by {
            OrderBy::Score => (u128::from(u32::MAX - score) << 64) | prefix,
            OrderBy::AgentId => prefix,
            OrderBy::ExpiresAt => (u128::from(u64::MAX - hot.expires_at) << 64) | prefix,
        };
        Some((key, slot, score))
    };
    let text_score = |slot: u32| -> u32 {
        lists
            .iter()
            .filter_map(|(_, l)| hit_of(l, slot))
            .map(|h| h.weight)
            .sum()
    };
    let passes = |slot: u32, skip_first: bool| -> bool {
        filters
            .iter()
            .skip(usize::from(skip_first))
            .all(|s| s.binary_search(&slot).is_ok())
    };
    let text_total: usize = lists.iter().map(|(_, l)| l.len()).sum();
    if !lists.is_empty() && filters.first().is_none_or(|f| f.len() >= text_total) {
        if let [(_, list)] = lists.as_slice() {
            // One term: its list is already in slot order.
            for &(slot, hit) in list.iter() {
                if passes(slot, false) {
                    scored.extend(row(slot, hit.weight));
                }
            }
        } else {
            // Several terms: sum into a dense array, then walk it in slot order.
            let mut acc = vec![0u32; index.hot.len()];
            for (_, list) in &lists {
                for &(slot, hit) in list.iter() {
                    acc[slot as usize] += hit.weight;
                }
            }
            for (slot, &text) in acc.iter().enumerate() {
                let Ok(slot) = u32::try_from(slot) else { break };
                if text > 0 && passes(slot, false) {
                    scored.extend(row(slot, text));
                }
            }
        }
    } else if let Some(first) = filters.first() {
        for &slot in first.iter() {
            if !passes(slot, true) {
                continue;
            }
            let text = if lists.is_empty() {
                0
            } else {
                text_score(slot)
            };
            if lists.is_empty() || text > 0 {
                scored.extend(row(slot, text));
            }
        }
    } else {
        for slot in 0..index.hot.len() {
            let Ok(slot) = u32::try_from(slot) else { break };
            scored.extend(row(slot, 0));
        }
    }

    let total = scored.len();
    let hot = &index.hot;
    let cmp = |a: &(u128, u32, u32), b: &(u128, u32, u32)| {
        a.0.cmp(&b.0).then_with(|| {
            let id = |slot: u32| hot.get(slot as usize).map(|h| h.agent_id);
            id(a.1).cmp(&id(b.1))
        })
    };
    if limit == 0 {
        scored.clear();
    } else if scored.len() > limit {
        scored.select_nth_unstable_by(limit - 1, cmp);
        scored.truncate(limit);
    }
    scored.sort_unstable_by(cmp);

    let results = scored
        .into_iter()
        .map(|(_, slot, score)| explain(index, query, &lists, slot, score, now))
        .collect();
    Ok(QueryResponse {
        results,
        total,
        limit,
    })
}

fn fresh(expires_at: u64, now: u64) -> bool {
    expires_at.saturating_sub(now) >= FRESH_SECS
}

/// Builds one result with the reasons behind its score (only for returned rows).
fn explain(
    index: &Index,
    query: &DiscoverQuery,
    lists: &[(&String, &TokenHits)],
    slot: u32,
    score: u32,
    now: u64,
) -> QueryHit {
    let entry = index.entry(slot);
    let record = &entry.record;
    let tools = entry
        .manifest
        .as_ref()
        .map(|m| m.manifest.tools.as_slice())
        .unwrap_or(&[]);
    let mut reasons = Vec::new();
    let mut matched = BTreeSet::new();
    for (term, list) in lists {
        if let Some(hit) = hit_of(list, slot) {
            let tool = tools
                .get(hit.tool as usize)
                .map(|t| t.id.as_str())
                .unwrap_or("?");
            matched.insert(tool.to_string());
            let field = if hit.in_name { "name" } else { "description" };
            reasons.push(format!(
                "text match '{term}' in tool {tool} {field} (+{})",
                fmt_points(hit.weight)
            ));
        }
    }
    for tool in tools {
        if query.category.as_ref() == Some(&tool.category)
            || query.tool_id.as_ref() == Some(&tool.id)
        {
            matched.insert(tool.id.clone());
        }
    }
    if entry.manifest.is_some() {
        reasons.push(format!(
            "verified manifest attached (+{})",
            fmt_points(MANIFEST_WEIGHT)
        ));
    }
    if fresh(record.expires_at, now) {
        reasons.push(format!(
            "heartbeat fresh: expires in {}s (+{})",
            record.expires_at - now,
            fmt_points(FRESH_WEIGHT)
        ));
    }
    QueryHit {
        agent_id: record.agent_id,
        score: points(score),
        reasons,
        status: record.effective_status(now),
        endpoint: record.endpoint.clone(),
        region: record.region.clone(),
        operator: record.operator,
        service_id: record.service_id,
        expires_at: record.expires_at,
        matched_tools: matched.into_iter().collect(),
    }
}

/// A record with its status at query time (`agent_getRecord`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    #[serde(flatten)]
    pub record: AgentRecord,
    pub effective_status: EffectiveStatus,
}

/// The answer to `agent_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    pub agent_id: AgentId,
    pub status: EffectiveStatus,
    pub expires_at: u64,
    pub jail_reason: Option<String>,
}

/// The answer to `discover_resolve`: how to reach the agent and what it offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    pub agent_id: AgentId,
    pub status: EffectiveStatus,
    pub endpoint: String,
    pub manifest_hash: Bytes32,
    /// The verified manifest, when one has been attached.
    pub manifest: Option<SignedManifest>,
    pub record: AgentRecord,
}

/// `agent_getRecord`.
pub fn get_record(index: &Index, agent_id: &AgentId, now: u64) -> Option<RecordView> {
    index.record(agent_id).map(|r| RecordView {
        effective_status: r.effective_status(now),
        record: r.clone(),
    })
}

/// `agent_status`.
pub fn agent_status(index: &Index, agent_id: &AgentId, now: u64) -> Option<StatusView> {
    index.record(agent_id).map(|r| StatusView {
        agent_id: r.agent_id,
        status: r.effective_status(now),
        expires_at: r.expires_at,
        jail_reason: r.jail_reason.clone(),
    })
}

/// `discover_resolve`.
pub fn discover_resolve(index: &Index, agent_id: &AgentId, now: u64) -> Option<Resolved> {
    index.record(agent_id).map(|r| Resolved {
        agent_id: r.agent_id,
        status: r.effective_status(now),
        endpoint: r.endpoint.clone(),
        manifest_hash: r.manifest_hash,
        manifest: index.manifest(agent_id).cloned(),
        record: r.clone(),
    })
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
