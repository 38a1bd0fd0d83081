//! Domain-separated hashes over canonical JSON (RFC 8785 via `ves::canonicalize`).

use serde_json::Value;
use ves::encoding::Preimage;
use ves::Hash32;

use crate::error::DefinitionError;

/// Workflow definition hash domain.
pub const WORKFLOW: &[u8] = b"AGENT_WORKFLOW_V1";
/// Workflow input hash domain.
pub const INPUT: &[u8] = b"AGENT_WORKFLOW_INPUT_V1";
/// Step output hash domain.
pub const STEP_OUTPUT: &[u8] = b"AGENT_STEP_OUTPUT_V1";
/// Step result leaf domain.
pub const STEP_LEAF: &[u8] = b"AGENT_STEP_LEAF_V1";
/// Final run output hash domain.
pub const RUN_OUTPUT: &[u8] = b"AGENT_RUN_OUTPUT_V1";
/// Receipt hash domain.
pub const RECEIPT: &[u8] = b"AGENT_RUN_RECEIPT_V1";

/// `SHA256(domain || JCS(value))`.
pub fn json_hash(domain: &[u8], value: &Value) -> Result<Hash32, DefinitionError> {
    let jcs = ves::canonicalize(value).map_err(|e| DefinitionError::Canonical(e.to_string()))?;
    let mut p = Preimage::new(domain);
    p.bytes(jcs.as_bytes());
    Ok(p.finish())
}

/// Hash of a step's output.
pub fn step_output_hash(output: &Value) -> Result<Hash32, DefinitionError> {
    json_hash(STEP_OUTPUT, output)
}

/// Merkle leaf of one step result: `SHA256("AGENT_STEP_LEAF_V1" || STR step_id || result_hash)`.
pub fn step_leaf(step_id: &str, result_hash: &Hash32) -> Hash32 {
    let mut p = Preimage::new(STEP_LEAF);
    let len = u32::try_from(step_id.len()).unwrap_or(u32::MAX);
    p.u32(len).bytes(step_id.as_bytes()).bytes(&result_hash.0);
    p.finish()
}

/// Merkle root (VES tree) of step results; callers pass them sorted by step id.
pub fn steps_root<'a>(results: impl IntoIterator<Item = (&'a str, &'a Hash32)>) -> Hash32 {
    let leaves: Vec<Hash32> = results
        .into_iter()
        .map(|(id, h)| step_leaf(id, h))
        .collect();
    ves::merkle_root(&leaves)
}
