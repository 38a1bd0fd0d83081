//! Durable, verifiable multi-step workflows for the sandbox sidecar.
//!
//! * [`definition`] – the JSON workflow definition (steps, kinds, input mappings, retries,
//!   limits); [`validate`] – checks before anything runs (references, cycles, sizes) and the
//!   canonical workflow hash (JCS).
//! * [`engine`] – executes the DAG: bounded parallelism, per-step timeouts, retries with
//!   exponential backoff and jitter, cooperative cancellation, cost budget, run deadline.
//!   Step kinds are carried out by a [`StepExecutor`]; [`HttpExecutor`] implements the
//!   HTTP-call kind, refusing internal destinations ([`ssrf`]) unless configured otherwise.
//! * [`journal`] – the append-only SQLite journal (WAL, group commit) from which unfinished
//!   runs resume; every entry is also handed to a [`JournalSink`] as a signed VES event.
//! * [`receipt`] / [`verify`] – signed execution receipts and their verification at the
//!   `basic` and `full` levels (other levels such as `zk` are refused).

//!
//! Semantics worth knowing:
//!
//! * Steps run at least once. A step whose `step_succeeded` entry is durable is never run
//!   again; after a crash an interrupted attempt is re-executed with the *same* attempt number,
//!   so [`StepContext::idempotency_key`] (`run:step:attempt`) lets external systems dedupe.
//! * Entries are signed into the stream before the SQLite commit of their group, so after a
//!   crash the stream may hold events the journal lost (a re-run step then has two
//!   `step_succeeded` events; verification uses the last one).
//! * `sub_workflow` steps are handed to the executor like every other kind (the sidecar runs
//!   the nested definition, e.g. with a nested [`Engine`]); the definition is validated
//!   recursively.
//! * `full` verification needs the workflow definition, the run's events with inclusion proofs
//!   and a commitment whose state root is the receipt's journal head, plus the earlier
//!   commitments when the run's events span several ([`MemorySink::evidence_for`] shows the
//!   shape); it cannot notice events the prover withholds beyond the DAG checks.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cancel;
pub mod definition;
pub mod engine;
pub mod error;
pub mod executor;
pub mod hashing;
pub mod http;
pub mod journal;
pub mod receipt;
pub mod retry;
pub mod sink;
pub mod ssrf;
pub mod validate;
pub mod verify;

pub use cancel::CancelToken;
pub use definition::{InputSource, InputSpec, Limits, RetryPolicy, StepDef, StepKind, WorkflowDef};
pub use engine::{Engine, EngineConfig, RunOutcome};
pub use error::{DefinitionError, EngineError, JournalError, SinkError, VerifyError};
pub use executor::{EchoExecutor, StepContext, StepError, StepExecutor, StepOutput};
pub use http::{HttpConfig, HttpExecutor};
pub use journal::{Journal, JournalEntry, JournalOptions, RunStatus, StoredRun};
pub use receipt::{JournalHead, Receipt};
pub use sink::{EmittedEvent, JournalSink, MemorySink, PendingEvent, SequencedEvent};
pub use validate::ValidatedWorkflow;
pub use verify::{verify, Evidence, FullEvidence, VerifyLevel, VerifyReport};
