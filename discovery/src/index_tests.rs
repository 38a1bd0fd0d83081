use super::*;
use crate::query::{discover_query, DiscoverQuery};
use crate::synth::SynthAgent;

const T0: u64 = 1_800_000_000;

fn agent(n: u64) -> SynthAgent {
    SynthAgent::new(n, T0).expect("synthetic agent")
}

fn reg(a: &SynthAgent, block: u64) -> RegistryEvent {
    a.registered(T0 + 3600, block, 0).expect("event")
}

fn pos(block: u64, log_index: u64) -> EventPos {
    EventPos { block, log_index }
}

#[test]
fn status_follows_events_and_expiry() {
    let a = agent(1);
    let id = a.agent_id();
    let mut index = Index::new();
    index.apply(&reg(&a, 10)).expect("register");
    let status = |index: &Index, now| index.record(&id).map(|r| r.effective_status(now));
    assert_eq!(status(&index, T0), Some(EffectiveStatus::Active));
    // Expiry needs no event.
    assert_eq!(status(&index, T0 + 3600), Some(EffectiveStatus::Expired));
    index
        .apply(&RegistryEvent::Heartbeat {
            agent_id: id,
            expires_at: T0 + 7200,
            block: 11,
            log_index: 0,
        })
        .expect("heartbeat");
    assert_eq!(status(&index, T0 + 3600), Some(EffectiveStatus::Active));
    let jail = RegistryEvent::Jailed {
        agent_id: id,
        reason: "slashed".into(),
        block: 12,
        log_index: 3,
    };
    index.apply(&jail).expect("jail");
    assert_eq!(status(&index, T0), Some(EffectiveStatus::Jailed));
    assert_eq!(
        index
            .record(&id)
            .and_then(|r| r.jail_reason.clone())
            .as_deref(),
        Some("slashed")
    );
    index
        .apply(&RegistryEvent::Unjailed {
            agent_id: id,
            block: 12,
            log_index: 4,
        })
        .expect("unjail");
    assert_eq!(status(&index, T0), Some(EffectiveStatus::Active));
    assert_eq!(
        index.apply(&RegistryEvent::Unjailed {
            agent_id: id,
            block: 12,
            log_index: 5
        }),
        Err(IndexError::NotJailed(id))
    );
    index
        .apply(&RegistryEvent::Exited {
            agent_id: id,
            block: 13,
            log_index: 0,
        })
        .expect("exit");
    assert_eq!(status(&index, T0), Some(EffectiveStatus::Exited));
    assert_eq!(
        index.apply(&RegistryEvent::Heartbeat {
            agent_id: id,
            expires_at: T0 + 9999,
            block: 14,
            log_index: 0
        }),
        Err(IndexError::Exited(id))
    );
    // An exited id can be registered again, fresh, but only by its first owner.
    let mut takeover = reg(&a, 15);
    if let RegistryEvent::Registered { owner, .. } = &mut takeover {
        *owner = Address([0x99; 20]);
    }
    assert!(matches!(
        index.apply(&takeover),
        Err(IndexError::NotOwner { .. })
    ));
    index.apply(&reg(&a, 15)).expect("re-register");
    let r = index.record(&id).expect("record");
    assert_eq!(
        (r.status, r.registered_at),
        (RecordStatus::Active, pos(15, 0))
    );
    assert_eq!(index.len(), 1);
}

#[test]
fn out_of_order_events_are_refused_without_effect() {
    let (a, b) = (agent(1), agent(2));
    let mut index = Index::new();
    index
        .apply(&a.registered(T0 + 10, 5, 2).expect("event"))
        .expect("register");
    for (block, log_index) in [(5, 2), (5, 1), (4, 9)] {
        let late = b.registered(T0 + 10, block, log_index).expect("event");
        assert_eq!(
            index.apply(&late),
            Err(IndexError::OutOfOrder {
                last: pos(5, 2),
                got: pos(block, log_index)
            })
        );
    }
    assert!(index.record(&b.agent_id()).is_none());
    assert_eq!(index.last_position(), Some(pos(5, 2)));
    index
        .apply(&b.registered(T0 + 10, 5, 3).expect("event"))
        .expect("next log index is fine");
}

#[test]
fn semantic_errors() {
    let (a, b) = (agent(1), agent(2));
    let mut index = Index::new();
    assert_eq!(
        index.apply(&RegistryEvent::Exited {
            agent_id: a.agent_id(),
            block: 1,
            log_index: 0
        }),
        Err(IndexError::UnknownAgent(a.agent_id()))
    );
    index.apply(&reg(&a, 2)).expect("register");
    assert_eq!(
        index.apply(&reg(&a, 3)),
        Err(IndexError::AlreadyRegistered(a.agent_id()))
    );
    // Agent id must be keccak256 of the key.
    let mut forged = reg(&b, 4);
    if let RegistryEvent::Registered { agent_id, .. } = &mut forged {
        *agent_id = a.agent_id();
    }
    assert!(matches!(
        index.apply(&forged),
        Err(IndexError::IdKeyMismatch { .. })
    ));
}

#[test]
fn manifests_attach_only_when_they_verify() {
    let (a, b) = (agent(1), agent(2));
    let mut index = Index::new();
    index.apply(&reg(&a, 1)).expect("register");
    // Another agent's (validly signed) manifest.
    assert!(matches!(
        index.attach_manifest(&a.agent_id(), b.manifest.clone()),
        Err(IndexError::Manifest(ManifestError::KeyMismatch { .. }))
    ));
    // A manifest of the right key, but not the one whose hash is on chain.
    let mut other = a.manifest.manifest.clone();
    other.issued_at += 1;
    let other = SignedManifest::sign(other, &a.key).expect("sign");
    assert!(matches!(
        index.attach_manifest(&a.agent_id(), other.clone()),
        Err(IndexError::Manifest(ManifestError::HashMismatch { .. }))
    ));
    assert!(index.manifest(&a.agent_id()).is_none());
    assert_eq!(
        index.attach_manifest(&b.agent_id(), b.manifest.clone()),
        Err(IndexError::UnknownAgent(b.agent_id()))
    );
    let hash = index
        .attach_manifest(&a.agent_id(), a.manifest.clone())
        .expect("attach");
    assert_eq!(Some(hash), a.manifest.hash().ok());
    let category = a.manifest.manifest.tools[0].category.clone();
    let q = DiscoverQuery {
        category: Some(category.clone()),
        ..Default::default()
    };
    assert_eq!(discover_query(&index, &q, T0).expect("query").total, 1);

    // An update to a new manifest hash detaches the old manifest and its postings.
    let update = RegistryEvent::Updated {
        agent_id: a.agent_id(),
        endpoint: "https://new".into(),
        manifest_hash: other.hash().expect("hash"),
        capability_digest: Bytes32([1; 32]),
        region: "mars".into(),
        block: 2,
        log_index: 0,
    };
    index.apply(&update).expect("update");
    assert!(index.manifest(&a.agent_id()).is_none());
    assert_eq!(discover_query(&index, &q, T0).expect("query").total, 0);
    index
        .attach_manifest(&a.agent_id(), other)
        .expect("the new manifest attaches");
    let r = index.record(&a.agent_id()).expect("record");
    assert_eq!(
        (r.endpoint.as_str(), r.region.as_str()),
        ("https://new", "mars")
    );
}

/// A mixed history over 40 agents.
fn history(agents: &[SynthAgent]) -> Vec<RegistryEvent> {
    let mut events = Vec::new();
    for (i, a) in agents.iter().enumerate() {
        let block = i as u64 / 4;
        events.push(a.registered(T0 + 600, block, i as u64 % 4).expect("event"));
    }
    for (i, a) in agents.iter().enumerate() {
        let (block, id) = (100 + i as u64, a.agent_id());
        let e = match i % 5 {
            0 => RegistryEvent::Heartbeat {
                agent_id: id,
                expires_at: T0 + 5000,
                block,
                log_index: 0,
            },
            1 => RegistryEvent::Jailed {
                agent_id: id,
                reason: "r".into(),
                block,
                log_index: 0,
            },
            2 => RegistryEvent::Exited {
                agent_id: id,
                block,
                log_index: 0,
            },
            _ => continue,
        };
        events.push(e);
    }
    events
}

fn build(agents: &[SynthAgent], events: &[RegistryEvent]) -> Index {
    let mut index = Index::rebuild(events).expect("rebuild");
    for a in agents {
        // Exited agents refuse manifests; that is part of the deterministic outcome.
        let _ = index.attach_manifest(&a.agent_id(), a.manifest.clone());
    }
    index
}

#[test]
fn rebuilding_from_the_same_events_gives_the_same_index() {
    let agents: Vec<SynthAgent> = (0..40).map(agent).collect();
    let events = history(&agents);
    let one = build(&agents, &events);
    let two = build(&agents, &events);
    assert_eq!(one.records(), two.records());
    assert_eq!(one.last_position(), two.last_position());
    for q in [
        DiscoverQuery::default(),
        DiscoverQuery {
            q: Some("deploy build data scan".into()),
            ..Default::default()
        },
        DiscoverQuery {
            category: Some("devops".into()),
            include_inactive: true,
            ..Default::default()
        },
    ] {
        for now in [T0, T0 + 1000] {
            assert_eq!(discover_query(&one, &q, now), discover_query(&two, &q, now));
        }
    }
    // Statuses came out as the history says.
    let count = |s| {
        one.records()
            .iter()
            .filter(|r| r.effective_status(T0 + 1000) == s)
            .count()
    };
    assert_eq!(count(EffectiveStatus::Active), 8);
    assert_eq!(count(EffectiveStatus::Jailed), 8);
    assert_eq!(count(EffectiveStatus::Exited), 8);
    assert_eq!(count(EffectiveStatus::Expired), 16);
    // A history with a reordered pair is refused, naming the offending event.
    let mut bad = events.clone();
    bad.swap(1, 2);
    assert!(matches!(
        Index::rebuild(&bad),
        Err((2, IndexError::OutOfOrder { .. }))
    ));
}

#[test]
fn events_round_trip_as_json() {
    let a = agent(3);
    let e = reg(&a, 7);
    let text = serde_json::to_string(&e).expect("json");
    assert!(text.starts_with("{\"type\":\"registered\""), "{text}");
    assert_eq!(
        serde_json::from_str::<RegistryEvent>(&text).expect("parse"),
        e
    );
    let hb = r#"{"type":"heartbeat","agent_id":"0x0000000000000000000000000000000000000000000000000000000000000001","expires_at":5,"block":1,"log_index":2}"#;
    let parsed: RegistryEvent = serde_json::from_str(hb).expect("parse");
    assert_eq!(parsed.position(), pos(1, 2));
}
