//! Event signing hash (V1 and V2), agent signatures, and batch verification.
//!
//! Verification is **strict**: every signature gets the verdict of `ed25519-dalek`'s
//! `verify_strict` (cofactorless equation, canonical `s`, `R` compared with its recomputation,
//! small-order `R` and public keys rejected). Public keys are additionally required to be
//! canonical and torsion-free when parsed ([`Ed25519PublicKey::from_bytes`]).
//!
//! [`verify_batch`] checks many signatures with that verdict on each, as cheaply as it can:
//! each distinct key is prepared once ([`KeyVerifier`]) and large batches are split over the
//! cores. It does not use the Ed25519 batch equation (see [`crate::strict`] for why).

use ed25519_dalek::SigningKey;
use std::collections::HashMap;

use uuid::Uuid;

use crate::context::EventContext;
use crate::domain;
use crate::encoding::{Hash32, Preimage, Sig64};
use crate::error::{BatchVerifyError, SignatureError, SigningError};
use crate::keys::{sign_digest, Ed25519PublicKey};
use crate::strict::KeyVerifier;

/// Everything the agent signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningInput<'a> {
    /// 1 or 2.
    pub ves_version: u32,
    /// Identity and metadata.
    pub context: EventContext<'a>,
    /// 0 = plaintext, 1 = VES-ENC-1.
    pub payload_kind: u32,
    /// Plain (possibly salted) payload hash.
    pub payload_plain_hash: Hash32,
    /// Cipher hash (zeros for plaintext).
    pub payload_cipher_hash: Hash32,
    /// Signed in V2 only.
    pub command_id: Option<Uuid>,
    /// Signed in V2 only.
    pub base_version: Option<u64>,
}

/// Builds the V1 preimage (with `U32 ves_version` as given), optionally recording the bytes.
fn v1_preimage(input: &SigningInput<'_>, record: bool) -> Result<Preimage, SigningError> {
    let ctx = &input.context;
    let mut p = if record {
        Preimage::recording(domain::EVENTSIG_V1)
    } else {
        Preimage::new(domain::EVENTSIG_V1)
    };
    p.u32(input.ves_version)
        .uuid(&ctx.tenant_id)
        .uuid(&ctx.store_id)
        .uuid(&ctx.event_id)
        .uuid(&ctx.source_agent_id)
        .u32(ctx.agent_key_id);
    p.str(ctx.entity_type)?
        .str(ctx.entity_id)?
        .str(ctx.event_type)?
        .str(ctx.created_at)?
        .u32(input.payload_kind)
        .bytes(&input.payload_plain_hash.0)
        .bytes(&input.payload_cipher_hash.0);
    Ok(p)
}

/// The V1-layout preimage bytes (`171 + string lengths` long). For V2 this is the preimage of
/// the inner hash.
pub fn event_signing_preimage(input: &SigningInput<'_>) -> Result<Vec<u8>, SigningError> {
    let p = v1_preimage(input, true)?;
    Ok(p.recorded().map(<[u8]>::to_vec).unwrap_or_default())
}

/// `event_signing_hash` for `ves_version` 1 or 2.
///
/// V1: `SHA256(preimage)`; `command_id` and `base_version` are not covered.
/// V2: `SHA256("VES_EVENTSIG_V2" || SHA256(preimage with version 2) || U8 has_command_id ||
/// [UUID command_id] || U8 has_base_version || [U64 base_version])`.
pub fn event_signing_hash(input: &SigningInput<'_>) -> Result<Hash32, SigningError> {
    match input.ves_version {
        1 => Ok(v1_preimage(input, false)?.finish()),
        2 => {
            let inner = v1_preimage(input, false)?.finish();
            let mut p = Preimage::new(domain::EVENTSIG_V2);
            p.bytes(&inner.0);
            match &input.command_id {
                Some(id) => p.u8(1).uuid(id),
                None => p.u8(0),
            };
            match input.base_version {
                Some(v) => p.u8(1).u64(v),
                None => p.u8(0),
            };
            Ok(p.finish())
        }
        v => Err(SigningError::UnsupportedVersion(v)),
    }
}

/// `agent_signature = Ed25519.sign(sk, event_signing_hash)` (the 32 digest bytes are the message).
pub fn sign_event(sk: &SigningKey, event_signing_hash: &Hash32) -> Sig64 {
    sign_digest(sk, event_signing_hash)
}

/// Verifies an agent signature over an event signing hash with `verify_strict`.
pub fn verify_event_signature(
    public_key: &Ed25519PublicKey,
    event_signing_hash: &Hash32,
    signature: &Sig64,
) -> Result<(), SignatureError> {
    public_key.verify_strict(&event_signing_hash.0, signature)
}

/// One signature to check in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchItem<'a> {
    /// Signer's key.
    pub public_key: &'a Ed25519PublicKey,
    /// Signed digest.
    pub message: Hash32,
    /// Signature.
    pub signature: Sig64,
}

/// Verifies many signatures with the verdict of `verify_strict` on each item. An empty batch
/// succeeds. On failure, [`BatchVerifyError::Invalid`] lists every bad index. Each distinct key
/// is prepared once per core; long batches are split over the cores.
pub fn verify_batch(items: &[BatchItem<'_>]) -> Result<(), BatchVerifyError> {
    let mut verifiers: HashMap<[u8; 32], KeyVerifier> = HashMap::new();
    for item in items {
        verifiers
            .entry(item.public_key.to_bytes())
            .or_insert_with(|| KeyVerifier::new(item.public_key));
    }
    let valid = crate::parallel::map(items, |item| {
        verifiers
            .get(&item.public_key.to_bytes())
            .is_some_and(|v| v.verify(&item.message.0, &item.signature))
    });
    let bad: Vec<usize> = valid
        .iter()
        .enumerate()
        .filter(|(_, ok)| !**ok)
        .map(|(i, _)| i)
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(BatchVerifyError::Invalid { indices: bad })
    }
}
