//! Sequencer receipts: `receipt_hash` and the signed receipt returned for every accepted event.

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain;
use crate::encoding::{serde_uuid, Hash32, Preimage, Sig64};
use crate::error::ReceiptError;
use crate::keys::{sign_digest, Ed25519PublicKey};

/// `signatureAlg` of every receipt.
pub const SIGNATURE_ALG_ED25519: &str = "ed25519";

/// `SHA256("VES_RECEIPT_V1" || UUID tenant || UUID store || UUID event_id ||
/// U64 sequence_number || event_signing_hash)`.
pub fn receipt_hash(
    tenant_id: &Uuid,
    store_id: &Uuid,
    event_id: &Uuid,
    sequence_number: u64,
    event_signing_hash: &Hash32,
) -> Hash32 {
    receipt_preimage(
        tenant_id,
        store_id,
        event_id,
        sequence_number,
        event_signing_hash,
        false,
    )
    .finish()
}

/// The receipt preimage bytes (for golden tests).
pub fn receipt_preimage_bytes(
    tenant_id: &Uuid,
    store_id: &Uuid,
    event_id: &Uuid,
    sequence_number: u64,
    event_signing_hash: &Hash32,
) -> Vec<u8> {
    let p = receipt_preimage(
        tenant_id,
        store_id,
        event_id,
        sequence_number,
        event_signing_hash,
        true,
    );
    p.recorded().map(<[u8]>::to_vec).unwrap_or_default()
}

fn receipt_preimage(
    tenant_id: &Uuid,
    store_id: &Uuid,
    event_id: &Uuid,
    sequence_number: u64,
    event_signing_hash: &Hash32,
    record: bool,
) -> Preimage {
    let mut p = if record {
        Preimage::recording(domain::RECEIPT)
    } else {
        Preimage::new(domain::RECEIPT)
    };
    p.uuid(tenant_id)
        .uuid(store_id)
        .uuid(event_id)
        .u64(sequence_number)
        .bytes(&event_signing_hash.0);
    p
}

/// A receipt as returned to clients (JSON keys in camelCase, as the spec names them).
/// `sequencedAt` is informational and not covered by the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedReceipt {
    /// Identifier of the sequencer instance that issued the receipt.
    pub sequencer_id: String,
    /// The event.
    #[serde(with = "serde_uuid")]
    pub event_id: Uuid,
    /// Its position in the stream (from 1, gap-free).
    pub sequence_number: u64,
    /// When it was sequenced.
    pub sequenced_at: DateTime<Utc>,
    /// [`receipt_hash`].
    pub receipt_hash: Hash32,
    /// Always [`SIGNATURE_ALG_ED25519`].
    pub signature_alg: String,
    /// Ed25519 signature of the sequencer key over the 32 bytes of `receipt_hash`.
    pub sequencer_signature: Sig64,
}

/// Inputs binding a receipt to its stream and event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptSubject {
    /// Tenant.
    pub tenant_id: Uuid,
    /// Store.
    pub store_id: Uuid,
    /// Event.
    pub event_id: Uuid,
    /// Assigned sequence number.
    pub sequence_number: u64,
    /// The event's signing hash.
    pub event_signing_hash: Hash32,
}

impl ReceiptSubject {
    /// [`receipt_hash`] of this subject.
    pub fn hash(&self) -> Hash32 {
        receipt_hash(
            &self.tenant_id,
            &self.store_id,
            &self.event_id,
            self.sequence_number,
            &self.event_signing_hash,
        )
    }
}

impl SignedReceipt {
    /// Issues a receipt signed with the sequencer key.
    pub fn issue(
        sequencer_key: &SigningKey,
        sequencer_id: impl Into<String>,
        subject: &ReceiptSubject,
        sequenced_at: DateTime<Utc>,
    ) -> Self {
        let hash = subject.hash();
        Self {
            sequencer_id: sequencer_id.into(),
            event_id: subject.event_id,
            sequence_number: subject.sequence_number,
            sequenced_at,
            receipt_hash: hash,
            signature_alg: SIGNATURE_ALG_ED25519.to_owned(),
            sequencer_signature: sign_digest(sequencer_key, &hash),
        }
    }

    /// Checks the algorithm, that `receiptHash` matches `tenant`, `store`, the event signing
    /// hash and this receipt's event id and sequence number, and the signature
    /// (`verify_strict`) under the sequencer's published key.
    pub fn verify(
        &self,
        sequencer_key: &Ed25519PublicKey,
        tenant_id: &Uuid,
        store_id: &Uuid,
        event_signing_hash: &Hash32,
    ) -> Result<(), ReceiptError> {
        if self.signature_alg != SIGNATURE_ALG_ED25519 {
            return Err(ReceiptError::UnsupportedAlgorithm(
                self.signature_alg.clone(),
            ));
        }
        let expected = receipt_hash(
            tenant_id,
            store_id,
            &self.event_id,
            self.sequence_number,
            event_signing_hash,
        );
        if expected != self.receipt_hash {
            return Err(ReceiptError::HashMismatch);
        }
        sequencer_key.verify_strict(&expected.0, &self.sequencer_signature)?;
        Ok(())
    }
}
