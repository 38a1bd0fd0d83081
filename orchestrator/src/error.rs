//! Error types.

use thiserror::Error;

/// A workflow definition or its inputs were refused before anything ran.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DefinitionError {
    /// Not valid JSON for a workflow definition.
    #[error("invalid workflow definition: {0}")]
    Parse(String),
    /// The definition text is too large.
    #[error("workflow definition is {size} bytes, limit is {limit}")]
    TooLarge {
        /// Actual size.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// No steps.
    #[error("workflow has no steps")]
    NoSteps,
    /// More steps than allowed.
    #[error("workflow has {count} steps, limit is {limit}")]
    TooManySteps {
        /// Number of steps.
        count: usize,
        /// Limit.
        limit: usize,
    },
    /// A step or input id is malformed.
    #[error("invalid id {id:?}: {reason}")]
    InvalidId {
        /// The id.
        id: String,
        /// Why.
        reason: &'static str,
    },
    /// Two steps share an id.
    #[error("duplicate step id {0:?}")]
    DuplicateStep(String),
    /// `depends_on` names a step that does not exist.
    #[error("step {step:?} depends on unknown step {dependency:?}")]
    UnknownDependency {
        /// The step.
        step: String,
        /// The missing dependency.
        dependency: String,
    },
    /// An input mapping or the output mapping reads an unknown step.
    #[error("{location} reads the output of unknown step {reference:?}")]
    UnknownStepReference {
        /// Where the reference is (`step "x"` or `workflow output`).
        location: String,
        /// The unknown step.
        reference: String,
    },
    /// An input mapping reads an undeclared workflow input.
    #[error("{location} reads undeclared workflow input {input:?}")]
    UnknownInput {
        /// Where the reference is.
        location: String,
        /// The undeclared input.
        input: String,
    },
    /// A JSON pointer in a mapping is malformed.
    #[error("{location}: invalid JSON pointer {pointer:?} (must be empty or start with '/')")]
    InvalidPointer {
        /// Where.
        location: String,
        /// The pointer.
        pointer: String,
    },
    /// The dependency graph has a cycle; the steps are listed in order, first repeated last.
    #[error("dependency cycle: {}", .cycle.join(" -> "))]
    Cycle {
        /// The cycle, e.g. `["a", "b", "c", "a"]`.
        cycle: Vec<String>,
    },
    /// A retry policy is unusable.
    #[error("step {step:?}: invalid retry policy: {reason}")]
    InvalidRetry {
        /// The step.
        step: String,
        /// Why.
        reason: String,
    },
    /// A timeout or limit is out of range.
    #[error("invalid limit: {0}")]
    InvalidLimit(String),
    /// A nested sub-workflow is invalid.
    #[error("sub-workflow of step {step:?}: {source}")]
    SubWorkflow {
        /// The step.
        step: String,
        /// The nested error.
        source: Box<DefinitionError>,
    },
    /// Sub-workflows nest too deeply.
    #[error("sub-workflows nest deeper than {0} levels")]
    TooDeep(usize),
    /// A required workflow input was not supplied.
    #[error("missing required workflow input {0:?}")]
    MissingInput(String),
    /// Inputs supplied that the workflow does not declare.
    #[error("unexpected workflow input {0:?} (not declared)")]
    UndeclaredInput(String),
    /// Workflow inputs must be a JSON object.
    #[error("workflow inputs must be a JSON object")]
    InputsNotObject,
    /// The inputs are too large.
    #[error("workflow inputs are {size} bytes, limit is {limit}")]
    InputsTooLarge {
        /// Actual size.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// Something could not be canonicalised (JCS) for hashing.
    #[error("cannot canonicalise for hashing: {0}")]
    Canonical(String),
}

/// The journal failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum JournalError {
    /// SQLite failed.
    #[error("journal database error: {0}")]
    Sqlite(String),
    /// The writer thread has stopped (after an earlier error or shutdown).
    #[error("journal writer stopped: {0}")]
    WriterStopped(String),
    /// A stored row could not be decoded.
    #[error("corrupt journal row: {0}")]
    Corrupt(String),
    /// The run is not in the journal.
    #[error("run {0} not found in the journal")]
    UnknownRun(String),
    /// The signed-event sink refused the entries.
    #[error(transparent)]
    Sink(#[from] SinkError),
}

impl From<rusqlite::Error> for JournalError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e.to_string())
    }
}

/// The signed-event sink failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SinkError {
    /// Signing or encoding the event failed.
    #[error("cannot sign journal event: {0}")]
    Signing(String),
    /// The sequencer refused or could not store the event.
    #[error("event sink failed: {0}")]
    Append(String),
}

/// The engine could not run (or resume) a workflow. Step failures are not errors: they end
/// the run with status `failed` and a receipt.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EngineError {
    /// Invalid definition or inputs.
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// Journal failure.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The run has already finished.
    #[error("run {0} has already finished")]
    AlreadyFinished(String),
    /// Hashing or signing the receipt failed.
    #[error("cannot build receipt: {0}")]
    Receipt(String),
}

/// A receipt did not verify, or the requested verification cannot be carried out.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum VerifyError {
    /// The requested level is not one this implementation provides.
    #[error("verification level {0:?} is not supported (supported: basic, full); it is refused rather than faked")]
    UnsupportedLevel(String),
    /// The receipt was not signed by the trusted key.
    #[error("receipt signer {actual} is not the trusted sidecar key {expected}")]
    WrongSigner {
        /// Expected key (hex).
        expected: String,
        /// Key named in the receipt (hex).
        actual: String,
    },
    /// Bad receipt signature.
    #[error("receipt signature is invalid")]
    BadSignature,
    /// A recomputed hash differs from the receipt.
    #[error("{what} hash mismatch: receipt has {expected}, evidence gives {actual}")]
    HashMismatch {
        /// Which hash.
        what: &'static str,
        /// Value in the receipt.
        expected: String,
        /// Recomputed value.
        actual: String,
    },
    /// Evidence required by the level is missing.
    #[error("missing evidence for this level: {0}")]
    MissingEvidence(&'static str),
    /// The evidence could not be used.
    #[error("invalid evidence: {0}")]
    InvalidEvidence(String),
    /// A step event's signature is invalid.
    #[error("event signature invalid at sequence(s) {0:?}")]
    EventSignature(Vec<u64>),
    /// A step event is not included under the journal head.
    #[error("event at sequence {sequence} is not included under the journal head: {reason}")]
    Inclusion {
        /// Event sequence.
        sequence: u64,
        /// Why.
        reason: String,
    },
    /// The recorded order contradicts the DAG.
    #[error("recorded order violates the DAG: {0}")]
    OrderViolation(String),
}
