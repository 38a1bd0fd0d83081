//! The sequencer engine: ingest semantics, key management, reads, commitments and live
//! event publication on top of an [`EventStore`].
//!
//! * [`ingest`](Sequencer::ingest) – whole-batch checks, stateless per-event checks and batch
//!   signature verification off the async runtime, then one store transaction that applies
//!   the stateful checks (`resolve`) and assigns sequence numbers.
//! * [`commit`](Sequencer::commit) – the next chained [`Commitment`](crate::Commitment) and
//!   inclusion proofs.
//! * [`subscribe`](Sequencer::subscribe) – newly accepted events, published after their
//!   transaction committed.

mod commit;
mod ingest;
mod keys;
mod proof_cache;
mod read;
mod resolve;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use tokio::sync::{broadcast, Mutex};

use crate::keys::Ed25519PublicKey;
use crate::receipt::{ReceiptSubject, SignedReceipt};
use crate::store::{EventStore, HeadNotice, StoreError, StoredEvent, StreamKey};
use crate::validate::{BatchError, ValidationPolicy};

pub use commit::InclusionProof;
pub use ingest::{batch_stream, IncomingEvent, IngestOutcome};
pub use keys::KeyRegistration;
pub use read::{PullPage, SyncState};

/// Largest `limit` of a pull.
pub const MAX_PULL_LIMIT: u32 = 1000;

/// Signs receipts with the sequencer's Ed25519 key.
#[derive(Clone)]
pub struct ReceiptIssuer {
    key: Arc<SigningKey>,
    sequencer_id: Arc<str>,
}

impl std::fmt::Debug for ReceiptIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptIssuer")
            .field("sequencer_id", &self.sequencer_id)
            .field("public_key", &self.public_key())
            .finish()
    }
}

impl ReceiptIssuer {
    /// An issuer for `key`, naming itself `sequencer_id` in receipts.
    pub fn new(key: SigningKey, sequencer_id: impl Into<String>) -> Self {
        Self {
            key: Arc::new(key),
            sequencer_id: Arc::from(sequencer_id.into()),
        }
    }

    /// Signs a receipt.
    pub fn issue(&self, subject: &ReceiptSubject, sequenced_at: DateTime<Utc>) -> SignedReceipt {
        SignedReceipt::issue(&self.key, &*self.sequencer_id, subject, sequenced_at)
    }

    /// The key clients verify receipts with.
    pub fn public_key(&self) -> Ed25519PublicKey {
        Ed25519PublicKey::from_signing_key(&self.key)
    }

    /// The `sequencerId` of receipts.
    pub fn sequencer_id(&self) -> &str {
        &self.sequencer_id
    }
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct SequencerConfig {
    /// `sequencerId` written into receipts.
    pub sequencer_id: String,
    /// Reject `ves_version = 1` on every stream.
    pub require_v2: bool,
    /// Reject `ves_version = 1` on these streams.
    pub require_v2_streams: HashSet<StreamKey>,
    /// Agents must prove possession when they register their own keys (admins may omit it).
    pub require_pop_for_agents: bool,
    /// Capacity of the live event channel (slow subscribers catch up from storage).
    pub broadcast_capacity: usize,
}

impl SequencerConfig {
    /// Defaults with the given sequencer id.
    pub fn new(sequencer_id: impl Into<String>) -> Self {
        Self {
            sequencer_id: sequencer_id.into(),
            require_v2: false,
            require_v2_streams: HashSet::new(),
            require_pop_for_agents: true,
            broadcast_capacity: 1024,
        }
    }
}

/// Engine failures that are not per-event rejections.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Whole-batch problem.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// Bad request parameters (`code` is the API error code).
    #[error("{message}")]
    Invalid {
        /// Error code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// The request conflicts with stored state.
    #[error("{message}")]
    Conflict {
        /// Error code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// Nothing with that identity.
    #[error("{0}")]
    NotFound(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A background task failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    pub(crate) fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
}

/// The sequencer: checks, orders and receipts events, commits to them and publishes them.
pub struct Sequencer {
    store: Arc<dyn EventStore>,
    issuer: ReceiptIssuer,
    config: SequencerConfig,
    live: broadcast::Sender<Arc<StoredEvent>>,
    commit_lock: Mutex<()>,
    /// Trees of recently proven commitments.
    proof_trees: proof_cache::ProofCache,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer")
            .field("issuer", &self.issuer)
            .field("config", &self.config)
            .finish()
    }
}

impl Sequencer {
    /// A sequencer over `store` signing receipts with `key`.
    pub fn new(store: Arc<dyn EventStore>, key: SigningKey, config: SequencerConfig) -> Self {
        let (live, _) = broadcast::channel(config.broadcast_capacity.max(1));
        Self {
            store,
            issuer: ReceiptIssuer::new(key, config.sequencer_id.clone()),
            config,
            live,
            commit_lock: Mutex::new(()),
            proof_trees: proof_cache::ProofCache::default(),
        }
    }

    /// The sequencer's receipt-signing public key.
    pub fn public_key(&self) -> Ed25519PublicKey {
        self.issuer.public_key()
    }

    /// The `sequencerId` of receipts.
    pub fn sequencer_id(&self) -> &str {
        self.issuer.sequencer_id()
    }

    /// The storage backend.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// Settings.
    pub fn config(&self) -> &SequencerConfig {
        &self.config
    }

    /// Validation policy of a stream.
    pub fn policy(&self, stream: &StreamKey) -> ValidationPolicy {
        ValidationPolicy {
            require_v2: self.config.require_v2 || self.config.require_v2_streams.contains(stream),
        }
    }

    /// Newly accepted events of all streams, in commit order per batch. A receiver that
    /// lags gets `RecvError::Lagged` and must catch up from storage.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.live.subscribe()
    }

    /// Heads moved by other processes sharing the store (PostgreSQL); `None` when this
    /// process is the only writer. Subscribe together with [`Self::subscribe`].
    pub fn subscribe_heads(&self) -> Option<broadcast::Receiver<HeadNotice>> {
        self.store.head_notices()
    }
}
