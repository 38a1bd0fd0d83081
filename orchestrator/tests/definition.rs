mod common;

use agent_orchestrator::{DefinitionError, ValidatedWorkflow};
use common::{step, workflow_json};
use serde_json::json;

fn parse(
    steps: Vec<serde_json::Value>,
    extra: serde_json::Value,
) -> Result<ValidatedWorkflow, DefinitionError> {
    ValidatedWorkflow::parse(&workflow_json(steps, extra))
}

#[test]
fn cycle_is_rejected_and_named() {
    let err = parse(
        vec![
            step("start", &[], json!({})),
            step("a", &["start", "c"], json!({})),
            step("b", &["a"], json!({})),
            step("c", &["b"], json!({})),
        ],
        json!({}),
    )
    .unwrap_err();
    match &err {
        DefinitionError::Cycle { cycle } => {
            assert_eq!(cycle.first(), cycle.last());
            assert_eq!(cycle.len(), 4, "{cycle:?}");
            for s in ["a", "b", "c"] {
                assert!(cycle.iter().any(|c| c == s), "{cycle:?}");
            }
            assert!(!cycle.iter().any(|c| c == "start"));
        }
        other => panic!("expected a cycle, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("dependency cycle") && msg.contains(" -> "),
        "{msg}"
    );
    // Cycle via an input mapping, and a self-loop.
    let err = parse(
        vec![
            step(
                "x",
                &[],
                json!({ "inputs": { "v": { "from": "step", "step": "y" } } }),
            ),
            step("y", &["x"], json!({})),
        ],
        json!({}),
    )
    .unwrap_err();
    assert!(matches!(err, DefinitionError::Cycle { .. }), "{err}");
    let err = parse(vec![step("self", &["self"], json!({}))], json!({})).unwrap_err();
    assert_eq!(
        err,
        DefinitionError::Cycle {
            cycle: vec!["self".into(), "self".into()]
        }
    );
}

#[test]
fn unknown_references_are_rejected() {
    let err = parse(vec![step("a", &["nope"], json!({}))], json!({})).unwrap_err();
    assert_eq!(
        err,
        DefinitionError::UnknownDependency {
            step: "a".into(),
            dependency: "nope".into()
        }
    );
    let err = parse(
        vec![step(
            "a",
            &[],
            json!({ "inputs": { "v": { "from": "step", "step": "ghost" } } }),
        )],
        json!({}),
    )
    .unwrap_err();
    assert!(
        matches!(err, DefinitionError::UnknownStepReference { .. }),
        "{err}"
    );
    let err = parse(
        vec![step(
            "a",
            &[],
            json!({ "inputs": { "v": { "from": "input", "name": "missing" } } }),
        )],
        json!({}),
    )
    .unwrap_err();
    assert!(matches!(err, DefinitionError::UnknownInput { .. }), "{err}");
    let err = parse(
        vec![step("a", &[], json!({}))],
        json!({ "output": { "o": { "from": "step", "step": "zzz" } } }),
    )
    .unwrap_err();
    assert!(err.to_string().contains("workflow output"), "{err}");
}

#[test]
fn structural_problems_are_rejected() {
    assert_eq!(
        parse(vec![], json!({})).unwrap_err(),
        DefinitionError::NoSteps
    );
    let err = parse(
        vec![step("a", &[], json!({})), step("a", &[], json!({}))],
        json!({}),
    )
    .unwrap_err();
    assert_eq!(err, DefinitionError::DuplicateStep("a".into()));
    let err = parse(vec![step("bad id", &[], json!({}))], json!({})).unwrap_err();
    assert!(matches!(err, DefinitionError::InvalidId { .. }));
    let err = parse(vec![step(&"x".repeat(200), &[], json!({}))], json!({})).unwrap_err();
    assert!(matches!(err, DefinitionError::InvalidId { .. }));
    let steps = (0..5)
        .map(|i| step(&format!("s{i}"), &[], json!({})))
        .collect();
    let err = parse(steps, json!({ "limits": { "max_steps": 4 } })).unwrap_err();
    assert_eq!(err, DefinitionError::TooManySteps { count: 5, limit: 4 });
    let err = parse(
        vec![step("a", &[], json!({ "retry": { "max_attempts": 0 } }))],
        json!({}),
    )
    .unwrap_err();
    assert!(matches!(err, DefinitionError::InvalidRetry { .. }));
    let err = parse(
        vec![step("a", &[], json!({ "retry": { "jitter": 2.0 } }))],
        json!({}),
    )
    .unwrap_err();
    assert!(matches!(err, DefinitionError::InvalidRetry { .. }));
    let err = parse(vec![step("a", &[], json!({ "timeout_ms": 0 }))], json!({})).unwrap_err();
    assert!(matches!(err, DefinitionError::InvalidLimit(_)));
    let err = parse(vec![step("a", &[], json!({ "bogus": 1 }))], json!({})).unwrap_err();
    assert!(matches!(err, DefinitionError::Parse(_)));
    let big = "x".repeat(17 * 1024 * 1024);
    assert!(matches!(
        ValidatedWorkflow::parse(&big),
        Err(DefinitionError::TooLarge { .. })
    ));
    // Invalid nested sub-workflow.
    let err = parse(
        vec![json!({ "id": "sub", "kind": { "type": "sub_workflow", "workflow": { "name": "n", "steps": [] } } })],
        json!({}),
    )
    .unwrap_err();
    assert!(matches!(err, DefinitionError::SubWorkflow { .. }), "{err}");
}

#[test]
fn inputs_are_checked() {
    let wf = parse(
        vec![step("a", &[], json!({ "inputs": { "t": { "from": "input", "name": "topic" } } }))],
        json!({ "inputs": { "topic": {}, "lang": { "default": "en" }, "opt": { "required": false } } }),
    )
    .unwrap();
    assert_eq!(
        wf.prepare_inputs(json!({})).unwrap_err(),
        DefinitionError::MissingInput("topic".into())
    );
    assert_eq!(
        wf.prepare_inputs(json!({ "topic": 1, "extra": 2 }))
            .unwrap_err(),
        DefinitionError::UndeclaredInput("extra".into())
    );
    assert_eq!(
        wf.prepare_inputs(json!([1])).unwrap_err(),
        DefinitionError::InputsNotObject
    );
    let (v, h) = wf.prepare_inputs(json!({ "topic": "x" })).unwrap();
    assert_eq!(v, json!({ "topic": "x", "lang": "en" }));
    let (_, h2) = wf
        .prepare_inputs(json!({ "lang": "en", "topic": "x" }))
        .unwrap();
    assert_eq!(h, h2);
    assert!(matches!(
        wf.prepare_inputs(json!({ "topic": 9_007_199_254_740_993u64 })),
        Err(DefinitionError::Canonical(_))
    ));
}

#[test]
fn workflow_hash_is_canonical() {
    let a = r#"{"name":"w","steps":[{"id":"a","kind":{"type":"noop"}}]}"#;
    let b = r#"{ "steps": [ { "kind": {"type":"noop"}, "id": "a", "retry": {"max_attempts": 1} } ], "name": "w" }"#;
    let c = r#"{"name":"w","steps":[{"id":"b","kind":{"type":"noop"}}]}"#;
    let (a, b, c) = (
        ValidatedWorkflow::parse(a).unwrap(),
        ValidatedWorkflow::parse(b).unwrap(),
        ValidatedWorkflow::parse(c).unwrap(),
    );
    assert_eq!(a.hash(), b.hash());
    assert_ne!(a.hash(), c.hash());
}
