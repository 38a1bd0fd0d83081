//! The stateful half of ingest, run by every backend inside its transaction.
//!
//! Per event, in this order:
//!
//! 1. **identity**: an `event_id` already stored (or accepted earlier in the batch) is an
//!    exact replay when the content hashes match (→ stored receipt) and
//!    `duplicate_event_id` otherwise. This comes first on purpose: a stored event was fully
//!    checked when it was accepted, so a client retrying after a key rotation, revocation or
//!    policy change still gets its receipt back instead of an error for an event that exists;
//! 2. the stateless verdict computed before the transaction (version → field limits →
//!    payload kind → encrypted structure → `created_at` → payload/cipher hash);
//! 3. key valid at receipt time, from the key record read **inside** the transaction, so a
//!    revocation committed before this batch's transaction always takes effect;
//! 4. signature (the verdict from before the transaction when it used this same key,
//!    otherwise verified here);
//! 5. `command_id`: reserved for this event, `duplicate_command_id` if held by another;
//! 6. `base_version` against the entity's version (counting events accepted earlier in the
//!    batch): `version_conflict`, which **releases** the reservation made in step 5;
//! 7. accepted: next sequence number, receipt, entity version + 1.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::encoding::{Hash32, Sig64};
use crate::keys::AgentKeyRecord;
use crate::parallel;
use crate::receipt::ReceiptSubject;
use crate::signing::verify_event_signature;
use crate::store::{
    BatchSnapshot, Candidate, EventOutcome, IngestBatch, Prechecked, Resolution, StoredEvent,
};
use crate::validate::{Rejection, RejectionReason};

fn rejection(reason: RejectionReason, message: impl Into<String>) -> Rejection {
    Rejection {
        reason,
        message: message.into(),
    }
}

fn reject(reason: RejectionReason, message: impl Into<String>) -> EventOutcome {
    EventOutcome::Rejected(rejection(reason, message))
}

/// Steps 3 and 4: key validity at `received_at`, then the signature.
fn check_key_and_signature(
    key: Option<&AgentKeyRecord>,
    pre: &Prechecked,
    received_at: DateTime<Utc>,
) -> Result<(), Rejection> {
    let key =
        key.ok_or_else(|| rejection(RejectionReason::AgentKeyInvalid, "agent key not found"))?;
    key.check_valid_at(received_at)
        .map_err(|e| rejection(RejectionReason::AgentKeyInvalid, e.to_string()))?;
    let valid = match pre.signature {
        Some(v) if v.public_key == key.public_key => v.valid,
        _ => verify_event_signature(
            &key.public_key,
            &pre.event_signing_hash,
            &pre.agent_signature,
        )
        .is_ok(),
    };
    if valid {
        Ok(())
    } else {
        Err(rejection(
            RejectionReason::InvalidSignature,
            "agent signature does not verify",
        ))
    }
}

/// An outcome decided in the loop; accepted events get their receipts after it, all signed
/// at once.
enum Slot {
    Done(EventOutcome),
    /// The n-th accepted event of this batch.
    Accepted(usize),
    /// An exact replay of the n-th accepted event of this batch.
    ReplayOf(usize),
}

/// An accepted event waiting for its receipt.
struct Accepted {
    subject: ReceiptSubject,
    command_id: Option<uuid::Uuid>,
    entity_type: String,
    entity_id: String,
    content_hash: Hash32,
    agent_signature: Sig64,
    envelope_json: String,
}

impl IngestBatch {
    /// Decides every candidate against `snapshot` (see the module docs). Pure: the caller
    /// persists the returned [`Resolution`] in the same transaction it read the snapshot in.
    /// The receipts of the accepted events are signed together at the end, split over the
    /// cores.
    pub fn resolve(self, snapshot: BatchSnapshot, sequenced_at: DateTime<Utc>) -> Resolution {
        let IngestBatch {
            stream,
            agent_id: _,
            received_at,
            candidates,
            issuer,
        } = self;
        let BatchSnapshot {
            head_sequence,
            events,
            mut commands,
            entity_versions,
            keys,
        } = snapshot;
        let mut head = head_sequence;
        let mut slots = Vec::with_capacity(candidates.len());
        let mut accepted: Vec<Accepted> = Vec::new();
        // Event ids accepted earlier in this batch → (content hash, index in `accepted`).
        let mut in_batch: HashMap<uuid::Uuid, (Hash32, usize)> = HashMap::new();
        let mut increments: HashMap<(String, String), u64> = HashMap::new();

        for c in candidates {
            if let Some(existing) = events.get(&c.event_id) {
                slots.push(Slot::Done(
                    if c.content_hash == Some(existing.content_hash) {
                        EventOutcome::Replayed(existing.receipt.clone())
                    } else {
                        duplicate_id(c.event_id)
                    },
                ));
                continue;
            }
            if let Some((hash, n)) = in_batch.get(&c.event_id) {
                slots.push(if c.content_hash == Some(*hash) {
                    Slot::ReplayOf(*n)
                } else {
                    Slot::Done(duplicate_id(c.event_id))
                });
                continue;
            }
            let Candidate {
                event_id,
                command_id,
                base_version,
                entity_type,
                entity_id,
                agent_key_id,
                content_hash,
                precheck,
                envelope_json,
            } = c;
            let pre = match precheck {
                Ok(pre) => pre,
                Err(rejection) => {
                    slots.push(Slot::Done(EventOutcome::Rejected(rejection)));
                    continue;
                }
            };
            let Some(content_hash) = content_hash else {
                slots.push(Slot::Done(reject(
                    RejectionReason::SchemaValidation,
                    "event cannot be canonicalised",
                )));
                continue;
            };
            if let Err(r) = check_key_and_signature(keys.get(&agent_key_id), &pre, received_at) {
                slots.push(Slot::Done(EventOutcome::Rejected(r)));
                continue;
            }
            if let Some(cmd) = command_id {
                if let Some(holder) = commands.get(&cmd) {
                    slots.push(Slot::Done(reject(
                        RejectionReason::DuplicateCommandId,
                        format!("command_id {cmd} is already used by event {holder}"),
                    )));
                    continue;
                }
                commands.insert(cmd, event_id);
            }
            let entity = (entity_type, entity_id);
            if let Some(expected) = base_version {
                let current = entity_versions.get(&entity).copied().unwrap_or(0)
                    + increments.get(&entity).copied().unwrap_or(0);
                if expected != current {
                    if let Some(cmd) = command_id {
                        commands.remove(&cmd);
                    }
                    slots.push(Slot::Done(reject(
                        RejectionReason::VersionConflict,
                        format!(
                            "base_version is {expected} but the entity is at version {current}"
                        ),
                    )));
                    continue;
                }
            }
            head += 1;
            *increments.entry(entity.clone()).or_insert(0) += 1;
            in_batch.insert(event_id, (content_hash, accepted.len()));
            slots.push(Slot::Accepted(accepted.len()));
            let (entity_type, entity_id) = entity;
            accepted.push(Accepted {
                subject: ReceiptSubject {
                    tenant_id: stream.tenant_id,
                    store_id: stream.store_id,
                    event_id,
                    sequence_number: head,
                    event_signing_hash: pre.event_signing_hash,
                },
                command_id,
                entity_type,
                entity_id,
                content_hash,
                agent_signature: pre.agent_signature,
                envelope_json,
            });
        }

        let receipts = parallel::map(&accepted, |a| issuer.issue(&a.subject, sequenced_at));
        let outcomes = slots
            .into_iter()
            .map(|slot| match slot {
                Slot::Done(outcome) => outcome,
                Slot::Accepted(n) => EventOutcome::Accepted(receipts[n].clone()),
                Slot::ReplayOf(n) => EventOutcome::Replayed(receipts[n].clone()),
            })
            .collect();
        let appended = accepted
            .into_iter()
            .zip(receipts)
            .map(|(a, receipt)| StoredEvent {
                stream,
                sequence_number: a.subject.sequence_number,
                event_id: a.subject.event_id,
                command_id: a.command_id,
                entity_type: a.entity_type,
                entity_id: a.entity_id,
                content_hash: a.content_hash,
                event_signing_hash: a.subject.event_signing_hash,
                agent_signature: a.agent_signature,
                envelope_json: a.envelope_json,
                receipt,
            })
            .collect();
        Resolution {
            outcomes,
            appended,
            entity_increments: increments,
            head_sequence: head,
        }
    }
}

fn duplicate_id(event_id: uuid::Uuid) -> EventOutcome {
    reject(
        RejectionReason::DuplicateEventId,
        format!("event_id {event_id} is already used by another event"),
    )
}
