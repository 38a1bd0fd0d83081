//! Plaintext payload hashing (`payload_kind = 0`).

use serde_json::Value;

use crate::canonical::canonicalize_to_vec;
use crate::domain;
use crate::encoding::{Hash32, Preimage};
use crate::error::PayloadError;

/// `payload_kind` of a plaintext event.
pub const PAYLOAD_KIND_PLAIN: u32 = 0;
/// `payload_kind` of a VES-ENC-1 encrypted event.
pub const PAYLOAD_KIND_ENCRYPTED: u32 = 1;

/// Largest canonical payload (plaintext events) or ciphertext minus salt (encrypted events).
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// `payload_plain_hash = SHA256("VES_PAYLOAD_PLAIN_V1" || JCS(payload))`.
///
/// Rejects `null`, payloads that cannot be canonicalised (integers beyond ±(2^53−1)), and
/// canonical forms larger than [`MAX_PAYLOAD_BYTES`].
pub fn payload_plain_hash(payload: &Value) -> Result<Hash32, PayloadError> {
    let jcs = canonical_payload(payload)?;
    Ok(plain_hash_of_canonical(&[], &jcs))
}

/// JCS bytes of a non-null payload within the size limit.
pub fn canonical_payload(payload: &Value) -> Result<Vec<u8>, PayloadError> {
    if payload.is_null() {
        return Err(PayloadError::NullPayload);
    }
    let jcs = canonicalize_to_vec(payload)?;
    if jcs.len() > MAX_PAYLOAD_BYTES {
        return Err(PayloadError::TooLarge {
            size: jcs.len(),
            limit: MAX_PAYLOAD_BYTES,
        });
    }
    Ok(jcs)
}

/// `SHA256("VES_PAYLOAD_PLAIN_V1" || salt || jcs)`; `salt` is empty for plaintext events.
pub fn plain_hash_of_canonical(salt: &[u8], jcs: &[u8]) -> Hash32 {
    let mut p = Preimage::new(domain::PAYLOAD_PLAIN);
    p.bytes(salt).bytes(jcs);
    p.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_payload_rejected() {
        assert_eq!(
            payload_plain_hash(&Value::Null),
            Err(PayloadError::NullPayload)
        );
    }

    #[test]
    fn oversized_payload_rejected() {
        let big = json!({ "x": "a".repeat(MAX_PAYLOAD_BYTES) });
        assert!(matches!(
            payload_plain_hash(&big),
            Err(PayloadError::TooLarge { .. })
        ));
    }

    #[test]
    fn big_integer_rejected() {
        let v = json!({ "n": 9_007_199_254_740_993u64 });
        assert!(matches!(
            payload_plain_hash(&v),
            Err(PayloadError::Canonical(_))
        ));
    }
}
