use super::*;
use crate::ids::Bytes32;
use crate::index::RegistryEvent;
use crate::manifest::{Pricing, SignedManifest, Tool, ToolManifest};
use crate::synth::SynthAgent;
use ed25519_dalek::SigningKey;
use serde_json::json;

const NOW: u64 = 1_800_000_000;

fn tool(id: &str, name: &str, description: &str, category: &str) -> Tool {
    Tool {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        category: category.into(),
        input_schema: json!({}),
        output_schema: json!({}),
        pricing: Pricing {
            unit: "call".into(),
            amount: "1".into(),
        },
    }
}

struct Spec {
    seed: u8,
    region: &'static str,
    expires_in: u64,
    tools: Vec<Tool>,
}

/// Registers and attaches each spec, in order; returns the agent ids.
fn index_of(specs: Vec<Spec>) -> (Index, Vec<AgentId>) {
    let mut index = Index::new();
    let mut ids = Vec::new();
    for (i, spec) in specs.into_iter().enumerate() {
        let key = SigningKey::from_bytes(&[spec.seed; 32]);
        let public = key.verifying_key().to_bytes();
        let signed =
            SignedManifest::sign(ToolManifest::new(&public, spec.tools, NOW), &key).expect("sign");
        let agent_id = crate::ids::agent_id_from_key(&public);
        let event = RegistryEvent::Registered {
            agent_id,
            public_key: Bytes32(public),
            owner: Address([1; 20]),
            service_id: u64::from(spec.seed % 2),
            operator: Address([spec.seed % 3; 20]),
            endpoint: format!("https://a{}", spec.seed),
            manifest_hash: signed.hash().expect("hash"),
            capability_digest: Bytes32([0; 32]),
            region: spec.region.into(),
            expires_at: NOW + spec.expires_in,
            block: i as u64,
            log_index: 0,
        };
        index.apply(&event).expect("register");
        index.attach_manifest(&agent_id, signed).expect("attach");
        ids.push(agent_id);
    }
    (index, ids)
}

fn sample() -> (Index, Vec<AgentId>) {
    index_of(vec![
        Spec {
            seed: 1,
            region: "eu",
            expires_in: 3600,
            tools: vec![tool(
                "build.deploy",
                "Deploy",
                "Ships a build to staging",
                "devops",
            )],
        },
        Spec {
            seed: 2,
            region: "us",
            expires_in: 100,
            tools: vec![
                tool(
                    "ops.rollout",
                    "Rollout",
                    "Deploy safely with canaries",
                    "devops",
                ),
                tool("ops.lint", "Lint", "Checks configs", "code"),
            ],
        },
        Spec {
            seed: 3,
            region: "eu",
            expires_in: 3600,
            tools: vec![tool("fin.quote", "Quote", "Prices a trade", "finance")],
        },
        Spec {
            seed: 4,
            region: "eu",
            expires_in: 0,
            tools: vec![tool(
                "build.deploy",
                "Deploy",
                "Expired agent that deploys",
                "devops",
            )],
        },
    ])
}

fn run(index: &Index, q: DiscoverQuery) -> QueryResponse {
    discover_query(index, &q, NOW).expect("query")
}

#[test]
fn text_match_scores_and_explains() {
    let (index, ids) = sample();
    let r = run(
        &index,
        DiscoverQuery {
            q: Some("DEPLOY".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        r.total, 2,
        "expired agent 4 is filtered out, agent 3 does not match"
    );
    assert_eq!(r.results[0].agent_id, ids[0]);
    assert_eq!(r.results[0].score, 3.5);
    assert_eq!(
        r.results[0].reasons,
        vec![
            "text match 'deploy' in tool build.deploy name (+2.0)",
            "verified manifest attached (+1.0)",
            "heartbeat fresh: expires in 3600s (+0.5)",
        ]
    );
    assert_eq!(r.results[0].matched_tools, vec!["build.deploy"]);
    // Agent 2 matches only in a description and its heartbeat is not fresh.
    assert_eq!(r.results[1].agent_id, ids[1]);
    assert_eq!(r.results[1].score, 2.0);
    assert_eq!(
        r.results[1].reasons[0],
        "text match 'deploy' in tool ops.rollout description (+1.0)"
    );
    assert_eq!(r.results[1].status, EffectiveStatus::Active);
}

#[test]
fn filters_filter() {
    let (index, ids) = sample();
    let only = |q: DiscoverQuery| -> Vec<AgentId> {
        let mut v: Vec<AgentId> = run(&index, q)
            .results
            .into_iter()
            .map(|h| h.agent_id)
            .collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<AgentId>| {
        v.sort();
        v
    };
    assert_eq!(
        only(DiscoverQuery {
            category: Some("devops".into()),
            ..Default::default()
        }),
        sorted(vec![ids[0], ids[1]])
    );
    assert_eq!(
        only(DiscoverQuery {
            category: Some("code".into()),
            ..Default::default()
        }),
        vec![ids[1]]
    );
    assert_eq!(
        only(DiscoverQuery {
            category: Some("Devops".into()),
            ..Default::default()
        }),
        vec![],
        "exact match"
    );
    assert_eq!(
        only(DiscoverQuery {
            tool_id: Some("fin.quote".into()),
            ..Default::default()
        }),
        vec![ids[2]]
    );
    let eu = Facets {
        region: Some("eu".into()),
        ..Default::default()
    };
    assert_eq!(
        only(DiscoverQuery {
            q: Some("deploy".into()),
            facets: eu.clone(),
            ..Default::default()
        }),
        vec![ids[0]]
    );
    assert_eq!(
        only(DiscoverQuery {
            facets: eu.clone(),
            include_inactive: true,
            ..Default::default()
        }),
        sorted(vec![ids[0], ids[2], ids[3]])
    );
    let op = Facets {
        operator: Some(Address([0; 20])),
        service_id: Some(1),
        ..Default::default()
    };
    assert_eq!(
        only(DiscoverQuery {
            facets: op,
            include_inactive: true,
            ..Default::default()
        }),
        vec![ids[2]]
    );
    assert_eq!(
        only(DiscoverQuery {
            q: Some("nothing matches".into()),
            ..Default::default()
        }),
        vec![]
    );
}

#[test]
fn ties_break_by_agent_id_and_order_by_works() {
    let specs = (10..20u8)
        .map(|seed| Spec {
            seed,
            region: "eu",
            expires_in: 3600,
            tools: vec![tool("t.x", "Same", "same", "c")],
        })
        .collect();
    let (index, mut ids) = index_of(specs);
    ids.sort();
    let r = run(
        &index,
        DiscoverQuery {
            q: Some("same".into()),
            limit: Some(4),
            ..Default::default()
        },
    );
    assert_eq!(r.total, 10);
    assert_eq!(
        r.results.iter().map(|h| h.agent_id).collect::<Vec<_>>(),
        ids[..4].to_vec()
    );
    assert!(r.results.iter().all(|h| h.score == 3.5));
    let r = run(
        &index,
        DiscoverQuery {
            order_by: OrderBy::AgentId,
            limit: Some(3),
            ..Default::default()
        },
    );
    assert_eq!(
        r.results.iter().map(|h| h.agent_id).collect::<Vec<_>>(),
        ids[..3].to_vec()
    );

    let (index, ids) = sample();
    let r = run(
        &index,
        DiscoverQuery {
            order_by: OrderBy::ExpiresAt,
            include_inactive: true,
            ..Default::default()
        },
    );
    let order: Vec<AgentId> = r.results.iter().map(|h| h.agent_id).collect();
    let mut first_two = [ids[0], ids[2]];
    first_two.sort();
    assert_eq!(order[..2], first_two[..]);
    assert_eq!(order[2..], [ids[1], ids[3]]);
}

#[test]
fn limit_defaults_and_caps() {
    let agents: Vec<SynthAgent> = (0..150)
        .map(|n| SynthAgent::new(n, NOW).expect("agent"))
        .collect();
    let mut index = Index::new();
    for (i, a) in agents.iter().enumerate() {
        index
            .apply(&a.registered(NOW + 3600, i as u64, 0).expect("event"))
            .expect("apply");
        index
            .attach_manifest(&a.agent_id(), a.manifest.clone())
            .expect("attach");
    }
    let r = run(&index, DiscoverQuery::default());
    assert_eq!(
        (r.results.len(), r.total, r.limit),
        (DEFAULT_LIMIT, 150, DEFAULT_LIMIT)
    );
    let r = run(
        &index,
        DiscoverQuery {
            limit: Some(10_000),
            ..Default::default()
        },
    );
    assert_eq!((r.results.len(), r.limit), (MAX_LIMIT, MAX_LIMIT));
    let r = run(
        &index,
        DiscoverQuery {
            limit: Some(0),
            ..Default::default()
        },
    );
    assert_eq!((r.results.len(), r.total), (0, 150));

    // Text-driven and filter-driven candidate paths agree.
    for category in crate::synth::CATEGORIES {
        for q in ["deploy scan", "trade", "model data pipeline"] {
            let both = run(
                &index,
                DiscoverQuery {
                    q: Some(q.into()),
                    category: Some(category.into()),
                    limit: Some(100),
                    ..Default::default()
                },
            );
            let text = run(
                &index,
                DiscoverQuery {
                    q: Some(q.into()),
                    limit: Some(100),
                    ..Default::default()
                },
            );
            let expected: Vec<AgentId> = text
                .results
                .iter()
                .filter(|h| {
                    index
                        .manifest(&h.agent_id)
                        .is_some_and(|m| m.manifest.tools.iter().any(|t| t.category == category))
                })
                .map(|h| h.agent_id)
                .collect();
            let got: Vec<AgentId> = both.results.iter().map(|h| h.agent_id).collect();
            assert_eq!(got, expected, "{category} / {q}");
        }
    }
}

#[test]
fn bad_text_is_an_error() {
    let (index, _) = sample();
    assert_eq!(
        discover_query(
            &index,
            &DiscoverQuery {
                q: Some(" ! ".into()),
                ..Default::default()
            },
            NOW
        ),
        Err(QueryError::EmptyText)
    );
    let long = (0..17)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        discover_query(
            &index,
            &DiscoverQuery {
                q: Some(long),
                ..Default::default()
            },
            NOW
        ),
        Err(QueryError::TooManyTerms)
    );
}

#[test]
fn lookups() {
    let (index, ids) = sample();
    let missing = Bytes32([9; 32]);
    assert!(get_record(&index, &missing, NOW).is_none());
    assert!(agent_status(&index, &missing, NOW).is_none());
    assert!(discover_resolve(&index, &missing, NOW).is_none());
    assert_eq!(
        agent_status(&index, &ids[3], NOW).map(|s| s.status),
        Some(EffectiveStatus::Expired)
    );
    let view = get_record(&index, &ids[0], NOW).expect("record");
    assert_eq!(view.effective_status, EffectiveStatus::Active);
    let json = serde_json::to_value(&view).expect("json");
    assert_eq!(json["endpoint"], "https://a1");
    assert_eq!(json["effective_status"], "active");
    let resolved = discover_resolve(&index, &ids[0], NOW).expect("resolve");
    assert_eq!(resolved.endpoint, "https://a1");
    assert_eq!(resolved.manifest.map(|m| m.manifest.tools.len()), Some(1));
}
