//! The in-memory agent index, built only by applying registry events in chain order, plus
//! manifests attached after verification.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::ids::{agent_id_from_key, Address, AgentId, Bytes32};
use crate::manifest::{verify, ManifestError, SignedManifest};
use crate::postings::{insert_slot, remove_from, Hit, Postings, DESCRIPTION_WEIGHT, NAME_WEIGHT};
use crate::text::tokenize;

/// Position of a log in the chain; events must be applied with strictly increasing positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventPos {
    /// Block number.
    pub block: u64,
    /// Log index within the block.
    pub log_index: u64,
}

/// A registry contract event, as decoded by the chain follower.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RegistryEvent {
    /// A new record (or re-registration of an exited id).
    Registered {
        agent_id: AgentId,
        public_key: Bytes32,
        owner: Address,
        service_id: u64,
        operator: Address,
        endpoint: String,
        manifest_hash: Bytes32,
        capability_digest: Bytes32,
        region: String,
        expires_at: u64,
        block: u64,
        log_index: u64,
    },
    /// The owner changed the mutable fields.
    Updated {
        agent_id: AgentId,
        endpoint: String,
        manifest_hash: Bytes32,
        capability_digest: Bytes32,
        region: String,
        block: u64,
        log_index: u64,
    },
    /// Expiry extended.
    Heartbeat {
        agent_id: AgentId,
        expires_at: u64,
        block: u64,
        log_index: u64,
    },
    /// Jailed by an authorised party.
    Jailed {
        agent_id: AgentId,
        reason: String,
        block: u64,
        log_index: u64,
    },
    /// Released from jail.
    Unjailed {
        agent_id: AgentId,
        block: u64,
        log_index: u64,
    },
    /// The owner exited the agent.
    Exited {
        agent_id: AgentId,
        block: u64,
        log_index: u64,
    },
}

impl RegistryEvent {
    /// Where the event sits in the chain.
    pub fn position(&self) -> EventPos {
        let (block, log_index) = match self {
            Self::Registered {
                block, log_index, ..
            }
            | Self::Updated {
                block, log_index, ..
            }
            | Self::Heartbeat {
                block, log_index, ..
            }
            | Self::Jailed {
                block, log_index, ..
            }
            | Self::Unjailed {
                block, log_index, ..
            }
            | Self::Exited {
                block, log_index, ..
            } => (*block, *log_index),
        };
        EventPos { block, log_index }
    }

    /// The agent the event is about.
    pub fn agent_id(&self) -> AgentId {
        match self {
            Self::Registered { agent_id, .. }
            | Self::Updated { agent_id, .. }
            | Self::Heartbeat { agent_id, .. }
            | Self::Jailed { agent_id, .. }
            | Self::Unjailed { agent_id, .. }
            | Self::Exited { agent_id, .. } => *agent_id,
        }
    }
}

/// Status as recorded on chain (expiry is applied on top, see [`EffectiveStatus`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    Active,
    Jailed,
    Exited,
}

/// Status at a given time: an active record past its expiry is `Expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectiveStatus {
    Active,
    Expired,
    Jailed,
    Exited,
}

/// Status at `now` of a record with on-chain `status` expiring at `expires_at`:
/// exited beats jailed beats expired beats active.
pub fn effective_status(status: RecordStatus, expires_at: u64, now: u64) -> EffectiveStatus {
    match status {
        RecordStatus::Exited => EffectiveStatus::Exited,
        RecordStatus::Jailed => EffectiveStatus::Jailed,
        RecordStatus::Active if now >= expires_at => EffectiveStatus::Expired,
        RecordStatus::Active => EffectiveStatus::Active,
    }
}

/// One agent's registry record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRecord {
    pub agent_id: AgentId,
    pub public_key: Bytes32,
    pub owner: Address,
    pub service_id: u64,
    pub operator: Address,
    pub endpoint: String,
    pub manifest_hash: Bytes32,
    pub capability_digest: Bytes32,
    pub region: String,
    /// Unix seconds; the record is inactive from this instant on.
    pub expires_at: u64,
    pub status: RecordStatus,
    /// Reason given by the last `Jailed` event while jailed.
    pub jail_reason: Option<String>,
    pub registered_at: EventPos,
    pub updated_at: EventPos,
}

impl AgentRecord {
    /// Exited beats jailed beats expired beats active.
    pub fn effective_status(&self, now: u64) -> EffectiveStatus {
        effective_status(self.status, self.expires_at, now)
    }
}

/// Why an event or manifest was not applied. Nothing changes when an error is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    #[error("event at {got:?} is not after the last applied event at {last:?}")]
    OutOfOrder { last: EventPos, got: EventPos },
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    #[error("agent {0} is already registered")]
    AlreadyRegistered(AgentId),
    #[error("agent {0} has exited")]
    Exited(AgentId),
    #[error("agent {0} is not jailed")]
    NotJailed(AgentId),
    #[error("agent {0} is jailed")]
    Jailed(AgentId),
    #[error("agent {agent_id} is owned by {owner}, not {claimed_by}")]
    NotOwner {
        agent_id: AgentId,
        owner: Address,
        claimed_by: Address,
    },
    #[error("agent id {agent_id} is not keccak256 of public key {public_key}")]
    IdKeyMismatch {
        agent_id: AgentId,
        public_key: Bytes32,
    },
    #[error("manifest refused: {0}")]
    Manifest(#[from] ManifestError),
}

/// Compact per-slot copy of what every query checks (kept in a dense array for speed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hot {
    pub agent_id: AgentId,
    pub status: RecordStatus,
    pub expires_at: u64,
    pub has_manifest: bool,
}

impl Hot {
    pub fn effective_status(&self, now: u64) -> EffectiveStatus {
        effective_status(self.status, self.expires_at, now)
    }
}

pub(crate) struct Entry {
    pub record: AgentRecord,
    pub manifest: Option<SignedManifest>,
}

/// The agent index.
#[derive(Default)]
pub struct Index {
    last: Option<EventPos>,
    pub(crate) entries: Vec<Entry>,
    pub(crate) hot: Vec<Hot>,
    by_id: HashMap<AgentId, u32>,
    pub(crate) postings: Postings,
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds an index from the full event history; fails on the first event refused
    /// (with its position in `events`).
    pub fn rebuild<'a>(
        events: impl IntoIterator<Item = &'a RegistryEvent>,
    ) -> Result<Self, (usize, IndexError)> {
        let mut index = Self::new();
        for (i, event) in events.into_iter().enumerate() {
            index.apply(event).map_err(|e| (i, e))?;
        }
        Ok(index)
    }

    /// Position of the last applied event.
    pub fn last_position(&self) -> Option<EventPos> {
        self.last
    }

    /// Number of records (any status).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no agent was ever registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn slot(&self, agent_id: &AgentId) -> Option<u32> {
        self.by_id.get(agent_id).copied()
    }

    pub(crate) fn entry(&self, slot: u32) -> &Entry {
        &self.entries[slot as usize]
    }

    /// The record of `agent_id`.
    pub fn record(&self, agent_id: &AgentId) -> Option<&AgentRecord> {
        self.slot(agent_id).map(|s| &self.entry(s).record)
    }

    /// The verified manifest attached to `agent_id`, if any.
    pub fn manifest(&self, agent_id: &AgentId) -> Option<&SignedManifest> {
        self.slot(agent_id)
            .and_then(|s| self.entry(s).manifest.as_ref())
    }

    /// All records ordered by agent id.
    pub fn records(&self) -> Vec<&AgentRecord> {
        let mut out: Vec<&AgentRecord> = self.entries.iter().map(|e| &e.record).collect();
        out.sort_by_key(|r| r.agent_id);
        out
    }

    /// Applies one event. Events must come in strictly increasing `(block, log_index)`.
    pub fn apply(&mut self, event: &RegistryEvent) -> Result<(), IndexError> {
        let pos = event.position();
        if let Some(last) = self.last {
            if pos <= last {
                return Err(IndexError::OutOfOrder { last, got: pos });
            }
        }
        let agent_id = event.agent_id();
        if let RegistryEvent::Registered { .. } = event {
            self.register(event, pos)?;
            self.last = Some(pos);
            return Ok(());
        }
        let slot = self
            .slot(&agent_id)
            .ok_or(IndexError::UnknownAgent(agent_id))?;
        let status = self.entry(slot).record.status;
        if status == RecordStatus::Exited {
            return Err(IndexError::Exited(agent_id));
        }
        // Mirror the registry's state machine: only jail/unjail touch a jailed record.
        match (event, status) {
            (RegistryEvent::Unjailed { .. }, s) if s != RecordStatus::Jailed => {
                return Err(IndexError::NotJailed(agent_id));
            }
            (RegistryEvent::Unjailed { .. }, _) => {}
            (_, RecordStatus::Jailed) => return Err(IndexError::Jailed(agent_id)),
            _ => {}
        }
        // From here on the event is accepted.
        match event {
            RegistryEvent::Updated {
                endpoint,
                manifest_hash,
                capability_digest,
                region,
                ..
            } => {
                let old_region = self.entry(slot).record.region.clone();
                if old_region != *region {
                    remove_from(&mut self.postings.region, &old_region, slot);
                    insert_slot(
                        self.postings.region.entry(region.clone()).or_default(),
                        slot,
                    );
                }
                if self.entry(slot).record.manifest_hash != *manifest_hash {
                    self.detach_manifest(slot);
                }
                let r = &mut self.entries[slot as usize].record;
                r.endpoint = endpoint.clone();
                r.manifest_hash = *manifest_hash;
                r.capability_digest = *capability_digest;
                r.region = region.clone();
            }
            RegistryEvent::Heartbeat { expires_at, .. } => {
                self.entries[slot as usize].record.expires_at = *expires_at;
            }
            RegistryEvent::Jailed { reason, .. } => {
                let r = &mut self.entries[slot as usize].record;
                r.status = RecordStatus::Jailed;
                r.jail_reason = Some(reason.clone());
            }
            RegistryEvent::Unjailed { .. } => {
                let r = &mut self.entries[slot as usize].record;
                r.status = RecordStatus::Active;
                r.jail_reason = None;
            }
            RegistryEvent::Exited { .. } => {
                self.entries[slot as usize].record.status = RecordStatus::Exited;
            }
            RegistryEvent::Registered { .. } => {}
        }
        self.entries[slot as usize].record.updated_at = pos;
        self.sync_hot(slot);
        self.last = Some(pos);
        Ok(())
    }

    fn sync_hot(&mut self, slot: u32) {
        let entry = &self.entries[slot as usize];
        let hot = Hot {
            agent_id: entry.record.agent_id,
            status: entry.record.status,
            expires_at: entry.record.expires_at,
            has_manifest: entry.manifest.is_some(),
        };
        match self.hot.get_mut(slot as usize) {
            Some(h) => *h = hot,
            None => self.hot.push(hot),
        }
    }

    fn register(&mut self, event: &RegistryEvent, pos: EventPos) -> Result<(), IndexError> {
        let RegistryEvent::Registered {
            agent_id,
            public_key,
            owner,
            service_id,
            operator,
            endpoint,
            manifest_hash,
            capability_digest,
            region,
            expires_at,
            ..
        } = event
        else {
            return Ok(());
        };
        if agent_id_from_key(&public_key.0) != *agent_id {
            return Err(IndexError::IdKeyMismatch {
                agent_id: *agent_id,
                public_key: *public_key,
            });
        }
        let existing = self.slot(agent_id);
        if let Some(slot) = existing {
            let old = &self.entry(slot).record;
            if old.status != RecordStatus::Exited {
                return Err(IndexError::AlreadyRegistered(*agent_id));
            }
            // The first owner keeps the id forever (no takeover after exit).
            if old.owner != *owner {
                return Err(IndexError::NotOwner {
                    agent_id: *agent_id,
                    owner: old.owner,
                    claimed_by: *owner,
                });
            }
        }
        let record = AgentRecord {
            agent_id: *agent_id,
            public_key: *public_key,
            owner: *owner,
            service_id: *service_id,
            operator: *operator,
            endpoint: endpoint.clone(),
            manifest_hash: *manifest_hash,
            capability_digest: *capability_digest,
            region: region.clone(),
            expires_at: *expires_at,
            status: RecordStatus::Active,
            jail_reason: None,
            registered_at: pos,
            updated_at: pos,
        };
        let slot = match existing {
            Some(slot) => {
                // Re-registration of an exited id: drop everything about the old record.
                self.detach_manifest(slot);
                let old = &self.entries[slot as usize].record;
                let (old_region, old_operator, old_service) =
                    (old.region.clone(), old.operator, old.service_id);
                remove_from(&mut self.postings.region, &old_region, slot);
                remove_from(&mut self.postings.operator, &old_operator, slot);
                remove_from(&mut self.postings.service, &old_service, slot);
                self.entries[slot as usize].record = record;
                slot
            }
            None => {
                let slot = u32::try_from(self.entries.len())
                    .map_err(|_| IndexError::AlreadyRegistered(*agent_id))?;
                self.entries.push(Entry {
                    record,
                    manifest: None,
                });
                self.by_id.insert(*agent_id, slot);
                slot
            }
        };
        let p = &mut self.postings;
        insert_slot(p.region.entry(region.clone()).or_default(), slot);
        insert_slot(p.operator.entry(*operator).or_default(), slot);
        insert_slot(p.service.entry(*service_id).or_default(), slot);
        self.sync_hot(slot);
        Ok(())
    }

    /// Attaches a manifest after verifying it against the record's manifest hash and key.
    /// Returns the manifest hash. Replaces any manifest attached before.
    pub fn attach_manifest(
        &mut self,
        agent_id: &AgentId,
        manifest: SignedManifest,
    ) -> Result<Bytes32, IndexError> {
        let slot = self
            .slot(agent_id)
            .ok_or(IndexError::UnknownAgent(*agent_id))?;
        let record = &self.entry(slot).record;
        if record.status == RecordStatus::Exited {
            return Err(IndexError::Exited(*agent_id));
        }
        let hash = verify(&manifest, &record.manifest_hash, &record.public_key)?;
        self.detach_manifest(slot);
        let p = &mut self.postings;
        for (i, tool) in manifest.manifest.tools.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            insert_slot(p.category.entry(tool.category.clone()).or_default(), slot);
            insert_slot(p.tool.entry(tool.id.clone()).or_default(), slot);
            let mut name_text = tool.name.clone();
            name_text.push(' ');
            name_text.push_str(&tool.id);
            let name_tokens = tokenize(&name_text).into_iter().map(|t| (t, true));
            let desc_tokens = tokenize(&tool.description).into_iter().map(|t| (t, false));
            for (token, in_name) in name_tokens.chain(desc_tokens) {
                let weight = if in_name {
                    NAME_WEIGHT
                } else {
                    DESCRIPTION_WEIGHT
                };
                let hit = Hit {
                    weight,
                    tool: i,
                    in_name,
                };
                let hits = p.token.entry(token).or_default();
                match hits.binary_search_by_key(&slot, |(s, _)| *s) {
                    Ok(at) if weight > hits[at].1.weight => hits[at].1 = hit,
                    Ok(_) => {}
                    Err(at) => hits.insert(at, (slot, hit)),
                }
            }
        }
        self.entries[slot as usize].manifest = Some(manifest);
        self.sync_hot(slot);
        Ok(hash)
    }

    fn detach_manifest(&mut self, slot: u32) {
        let Some(manifest) = self.entries[slot as usize].manifest.take() else {
            return;
        };
        self.sync_hot(slot);
        let p = &mut self.postings;
        for tool in &manifest.manifest.tools {
            remove_from(&mut p.category, &tool.category, slot);
            remove_from(&mut p.tool, &tool.id, slot);
            let mut text = format!("{} {} ", tool.name, tool.id);
            text.push_str(&tool.description);
            for token in tokenize(&text) {
                if let Some(hits) = p.token.get_mut(&token) {
                    if let Ok(at) = hits.binary_search_by_key(&slot, |(s, _)| *s) {
                        hits.remove(at);
                    }
                    if hits.is_empty() {
                        p.token.remove(&token);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
