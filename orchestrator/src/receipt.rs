//! Execution receipts, signed by the sidecar key.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use ves::encoding::Preimage;
use ves::{Ed25519PublicKey, Hash32, Sig64, SigningKey};

use crate::hashing;
use crate::journal::RunStatus;

/// Head of the sandbox's VES stream: last sequence and the state root committing to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalHead {
    /// Last sequence number.
    pub sequence: u64,
    /// State root of a commitment ending at `sequence`.
    pub state_root: Hash32,
}

/// Receipt format version.
pub const RECEIPT_VERSION: u32 = 1;

/// What a finished run proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// [`RECEIPT_VERSION`].
    pub version: u32,
    /// The run.
    pub run_id: Uuid,
    /// Stream tenant.
    pub tenant_id: Uuid,
    /// Stream store.
    pub store_id: Uuid,
    /// How the run ended.
    pub status: RunStatus,
    /// Canonical workflow hash.
    pub workflow_hash: Hash32,
    /// Canonical input hash.
    pub input_hash: Hash32,
    /// Merkle root of `STEP_LEAF(step_id, result_hash)` over succeeded steps sorted by step
    /// id (byte order).
    pub steps_root: Hash32,
    /// Number of leaves under `steps_root`.
    pub steps_completed: u32,
    /// Hash of the final output (or of `{"error": ...}` when the run did not succeed).
    pub output_hash: Hash32,
    /// Stream head after the run's final journal entry.
    pub journal_head: JournalHead,
    /// The sidecar's public key.
    pub signer: Ed25519PublicKey,
    /// Ed25519 signature over [`Receipt::hash`].
    pub signature: Sig64,
}

fn status_code(s: RunStatus) -> u8 {
    match s {
        RunStatus::Running => 0,
        RunStatus::Succeeded => 1,
        RunStatus::Failed => 2,
        RunStatus::Cancelled => 3,
    }
}

impl Receipt {
    /// `SHA256("AGENT_RUN_RECEIPT_V1" || U32 version || UUID run || UUID tenant || UUID store ||
    /// U8 status || workflow_hash || input_hash || steps_root || U32 steps_completed ||
    /// output_hash || U64 head_sequence || head_state_root || signer[32])`.
    pub fn hash(&self) -> Hash32 {
        let mut p = Preimage::new(hashing::RECEIPT);
        p.u32(self.version)
            .uuid(&self.run_id)
            .uuid(&self.tenant_id)
            .uuid(&self.store_id)
            .u8(status_code(self.status))
            .bytes(&self.workflow_hash.0)
            .bytes(&self.input_hash.0)
            .bytes(&self.steps_root.0)
            .u32(self.steps_completed)
            .bytes(&self.output_hash.0)
            .u64(self.journal_head.sequence)
            .bytes(&self.journal_head.state_root.0)
            .bytes(&self.signer.to_bytes());
        p.finish()
    }

    /// Sets `signer` and signs.
    pub fn sign(mut self, key: &SigningKey) -> Self {
        self.signer = Ed25519PublicKey::from_signing_key(key);
        self.signature = ves::keys::sign_digest(key, &self.hash());
        self
    }

    /// Checks the signature (strict) against the embedded signer key.
    pub fn check_signature(&self) -> bool {
        self.signer
            .verify_strict(&self.hash().0, &self.signature)
            .is_ok()
    }
}
