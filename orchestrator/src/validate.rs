//! Validation of workflow definitions and inputs, cycle detection, canonical hashes.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};
use ves::Hash32;

use crate::definition::{InputSource, StepKind, WorkflowDef};
use crate::error::DefinitionError;
use crate::hashing;

/// Largest definition text accepted by [`ValidatedWorkflow::parse`].
pub const MAX_DEFINITION_BYTES: usize = 16 * 1024 * 1024;
/// Hard cap on the number of steps.
pub const MAX_STEPS: usize = 100_000;
/// Longest step or input id.
pub const MAX_ID_BYTES: usize = 128;
/// Largest canonical workflow input.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;
/// Most attempts a retry policy may ask for.
pub const MAX_ATTEMPTS: u32 = 100;
/// Longest per-attempt timeout, backoff or run time: 7 days.
pub const MAX_DURATION_MS: u64 = 7 * 24 * 3600 * 1000;
/// Deepest sub-workflow nesting.
pub const MAX_NESTING: usize = 8;

/// A definition that passed validation, with its dependency graph and canonical hash.
#[derive(Debug, Clone)]
pub struct ValidatedWorkflow {
    def: WorkflowDef,
    hash: Hash32,
    index: HashMap<String, usize>,
    deps: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
}

impl ValidatedWorkflow {
    /// Parses and validates JSON text.
    pub fn parse(text: &str) -> Result<Self, DefinitionError> {
        if text.len() > MAX_DEFINITION_BYTES {
            return Err(DefinitionError::TooLarge {
                size: text.len(),
                limit: MAX_DEFINITION_BYTES,
            });
        }
        Self::new(WorkflowDef::from_json(text)?)
    }

    /// Validates a definition.
    pub fn new(def: WorkflowDef) -> Result<Self, DefinitionError> {
        let (index, deps) = check(&def, 0)?;
        let mut dependents = vec![Vec::new(); deps.len()];
        for (i, ds) in deps.iter().enumerate() {
            for &d in ds {
                dependents[d].push(i);
            }
        }
        let value =
            serde_json::to_value(&def).map_err(|e| DefinitionError::Canonical(e.to_string()))?;
        let hash = hashing::json_hash(hashing::WORKFLOW, &value)?;
        Ok(Self {
            def,
            hash,
            index,
            deps,
            dependents,
        })
    }

    /// The definition.
    pub fn def(&self) -> &WorkflowDef {
        &self.def
    }

    /// `SHA256("AGENT_WORKFLOW_V1" || JCS(definition))`, defaults filled in.
    pub fn hash(&self) -> Hash32 {
        self.hash
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.def.steps.len()
    }

    /// Never true for a validated workflow.
    pub fn is_empty(&self) -> bool {
        self.def.steps.is_empty()
    }

    /// Index of a step id.
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Dependencies of step `i` (explicit and implied by inputs, deduplicated).
    pub fn deps(&self, i: usize) -> &[usize] {
        self.deps.get(i).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Steps that depend on step `i`.
    pub fn dependents(&self, i: usize) -> &[usize] {
        self.dependents.get(i).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Checks `inputs` against the declared inputs, fills defaults, and returns the effective
    /// inputs with their hash `SHA256("AGENT_WORKFLOW_INPUT_V1" || JCS(inputs))`.
    pub fn prepare_inputs(&self, inputs: Value) -> Result<(Value, Hash32), DefinitionError> {
        let mut map = match inputs {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => return Err(DefinitionError::InputsNotObject),
        };
        if let Some(extra) = map.keys().find(|k| !self.def.inputs.contains_key(*k)) {
            return Err(DefinitionError::UndeclaredInput(extra.clone()));
        }
        for (name, spec) in &self.def.inputs {
            if map.contains_key(name) {
                continue;
            }
            match &spec.default {
                Some(d) => {
                    map.insert(name.clone(), d.clone());
                }
                None if spec.required => return Err(DefinitionError::MissingInput(name.clone())),
                None => {}
            }
        }
        let value = Value::Object(map);
        let size = ves::canonicalize(&value)
            .map_err(|e| DefinitionError::Canonical(e.to_string()))?
            .len();
        if size > MAX_INPUT_BYTES {
            return Err(DefinitionError::InputsTooLarge {
                size,
                limit: MAX_INPUT_BYTES,
            });
        }
        let hash = hashing::json_hash(hashing::INPUT, &value)?;
        Ok((value, hash))
    }
}

fn check_id(id: &str) -> Result<(), DefinitionError> {
    let bad = |reason| {
        Err(DefinitionError::InvalidId {
            id: id.to_string(),
            reason,
        })
    };
    if id.is_empty() {
        return bad("empty");
    }
    if id.len() > MAX_ID_BYTES {
        return bad("longer than 128 bytes");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return bad("only ASCII letters, digits, '_', '-' and '.' are allowed");
    }
    Ok(())
}

fn check_ms(what: &str, ms: u64, min: u64) -> Result<(), DefinitionError> {
    if ms < min || ms > MAX_DURATION_MS {
        return Err(DefinitionError::InvalidLimit(format!(
            "{what} = {ms} ms is outside {min}..={MAX_DURATION_MS}"
        )));
    }
    Ok(())
}

type Graph = (HashMap<String, usize>, Vec<Vec<usize>>);

fn check(def: &WorkflowDef, depth: usize) -> Result<Graph, DefinitionError> {
    if depth > MAX_NESTING {
        return Err(DefinitionError::TooDeep(MAX_NESTING));
    }
    let n = def.steps.len();
    if n == 0 {
        return Err(DefinitionError::NoSteps);
    }
    let limit = def
        .limits
        .max_steps
        .map_or(MAX_STEPS, |m| (m as usize).min(MAX_STEPS));
    if n > limit {
        return Err(DefinitionError::TooManySteps { count: n, limit });
    }
    check_limits(def)?;
    for name in def.inputs.keys() {
        check_id(name)?;
    }
    let mut index = HashMap::with_capacity(n);
    for (i, step) in def.steps.iter().enumerate() {
        check_id(&step.id)?;
        if index.insert(step.id.clone(), i).is_some() {
            return Err(DefinitionError::DuplicateStep(step.id.clone()));
        }
    }
    let mut deps = Vec::with_capacity(n);
    for step in &def.steps {
        let mut set = BTreeSet::new();
        for d in &step.depends_on {
            let j = index
                .get(d)
                .ok_or_else(|| DefinitionError::UnknownDependency {
                    step: step.id.clone(),
                    dependency: d.clone(),
                })?;
            set.insert(*j);
        }
        let location = format!("step {:?}", step.id);
        for source in step.inputs.values() {
            if let Some(j) = check_source(def, &index, source, &location)? {
                set.insert(j);
            }
        }
        check_step(step)?;
        if let StepKind::SubWorkflow { workflow } = &step.kind {
            check(workflow, depth + 1).map_err(|e| DefinitionError::SubWorkflow {
                step: step.id.clone(),
                source: Box::new(e),
            })?;
        }
        deps.push(set.into_iter().collect::<Vec<_>>());
    }
    if let Some(output) = &def.output {
        for source in output.values() {
            check_source(def, &index, source, "workflow output")?;
        }
    }
    if let Some(cycle) = find_cycle(&deps) {
        return Err(DefinitionError::Cycle {
            cycle: cycle.into_iter().map(|i| def.steps[i].id.clone()).collect(),
        });
    }
    Ok((index, deps))
}

fn check_limits(def: &WorkflowDef) -> Result<(), DefinitionError> {
    if let Some(ms) = def.limits.max_run_time_ms {
        check_ms("max_run_time_ms", ms, 1)?;
    }
    if let Some(cost) = def.limits.max_cost {
        if !cost.is_finite() || cost < 0.0 {
            return Err(DefinitionError::InvalidLimit(format!(
                "max_cost = {cost} must be a finite number ≥ 0"
            )));
        }
    }
    if def.limits.max_concurrency == Some(0) {
        return Err(DefinitionError::InvalidLimit(
            "max_concurrency must be ≥ 1".into(),
        ));
    }
    Ok(())
}

fn check_step(step: &crate::definition::StepDef) -> Result<(), DefinitionError> {
    if let Some(ms) = step.timeout_ms {
        check_ms(&format!("step {:?} timeout_ms", step.id), ms, 1)?;
    }
    let r = &step.retry;
    let bad = |reason: String| {
        Err(DefinitionError::InvalidRetry {
            step: step.id.clone(),
            reason,
        })
    };
    if r.max_attempts == 0 || r.max_attempts > MAX_ATTEMPTS {
        return bad(format!("max_attempts must be 1..={MAX_ATTEMPTS}"));
    }
    if !(r.multiplier.is_finite() && (1.0..=100.0).contains(&r.multiplier)) {
        return bad("multiplier must be in [1, 100]".into());
    }
    if !(r.jitter.is_finite() && (0.0..=1.0).contains(&r.jitter)) {
        return bad("jitter must be in [0, 1]".into());
    }
    if r.initial_backoff_ms > r.max_backoff_ms || r.max_backoff_ms > MAX_DURATION_MS {
        return bad("need initial_backoff_ms ≤ max_backoff_ms ≤ 7 days".into());
    }
    Ok(())
}

fn check_source(
    def: &WorkflowDef,
    index: &HashMap<String, usize>,
    source: &InputSource,
    location: &str,
) -> Result<Option<usize>, DefinitionError> {
    let pointer_ok = |p: &Option<String>| match p {
        Some(p) if !p.is_empty() && !p.starts_with('/') => Err(DefinitionError::InvalidPointer {
            location: location.to_string(),
            pointer: p.clone(),
        }),
        _ => Ok(()),
    };
    match source {
        InputSource::Input { name, pointer } => {
            pointer_ok(pointer)?;
            if !def.inputs.contains_key(name) {
                return Err(DefinitionError::UnknownInput {
                    location: location.to_string(),
                    input: name.clone(),
                });
            }
            Ok(None)
        }
        InputSource::Step { step, pointer } => {
            pointer_ok(pointer)?;
            index.get(step).copied().map(Some).ok_or_else(|| {
                DefinitionError::UnknownStepReference {
                    location: location.to_string(),
                    reference: step.clone(),
                }
            })
        }
        InputSource::Literal { .. } => Ok(None),
    }
}

/// Finds a cycle (iterative DFS): returns the step indices along it, first repeated last.
fn find_cycle(deps: &[Vec<usize>]) -> Option<Vec<usize>> {
    const WHITE: u8 = 0;
    const GREY: u8 = 1;
    const BLACK: u8 = 2;
    let mut colour = vec![WHITE; deps.len()];
    for root in 0..deps.len() {
        if colour[root] != WHITE {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        colour[root] = GREY;
        while let Some(top) = stack.last_mut() {
            let (node, edge) = *top;
            if let Some(&next) = deps[node].get(edge) {
                top.1 += 1;
                match colour[next] {
                    WHITE => {
                        colour[next] = GREY;
                        stack.push((next, 0));
                    }
                    GREY => {
                        // `node` depends on `next`, which is on the current path.
                        let start = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                        let mut cycle: Vec<usize> =
                            stack[start..].iter().map(|(n, _)| *n).collect();
                        // Path order is "depends on"; report in execution order (a -> b means
                        // b waits for a).
                        cycle.reverse();
                        cycle.push(cycle[0]);
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                colour[node] = BLACK;
                stack.pop();
            }
        }
    }
    None
}

/// Resolves one input source against the workflow inputs and finished step outputs.
pub fn resolve_source(
    source: &InputSource,
    inputs: &Value,
    output_of: impl Fn(&str) -> Option<Value>,
) -> Value {
    let pick = |v: Option<Value>, pointer: &Option<String>| -> Value {
        match (v, pointer.as_deref()) {
            (None, _) => Value::Null,
            (Some(v), None | Some("")) => v,
            (Some(v), Some(p)) => v.pointer(p).cloned().unwrap_or(Value::Null),
        }
    };
    match source {
        InputSource::Input { name, pointer } => pick(inputs.get(name).cloned(), pointer),
        InputSource::Step { step, pointer } => pick(output_of(step), pointer),
        InputSource::Literal { value } => value.clone(),
    }
}
