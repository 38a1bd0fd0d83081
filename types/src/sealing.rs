//! Sealing the sidecar access token to the customer (DESIGN decision 5).
//!
//! Job outputs are public, so the operator never puts the token on chain in plain text: it
//! seals it to the X25519 public key the customer passed in PROVISION, with HPKE base mode
//! (RFC 9180: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305). The `info` string
//! binds the ciphertext to its purpose and to the service and operator, so a sealed blob cannot
//! be replayed as another operator's or another service's token.
//!
//! Wire format of `sealedAccess`: `0x01 || enc (32 bytes) || ciphertext`.

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use rand::rngs::OsRng;

const VERSION: u8 = 1;
const ENC_LEN: usize = 32;
/// Longest token accepted; tokens are 64 hex characters.
pub const MAX_SECRET_LEN: usize = 4096;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the customer's X25519 public key is invalid (all zero or malformed)")]
    BadPublicKey,
    #[error("sealed access blob is malformed: {0}")]
    Malformed(&'static str),
    #[error("cannot open the sealed access blob: wrong key, service or operator, or tampered")]
    Open,
    #[error("secret too long ({0} bytes)")]
    TooLong(usize),
    #[error("sealing failed")]
    Seal,
}

fn info(service_id: u64, operator: &[u8; 20]) -> Vec<u8> {
    let mut v = b"agent-instance/sidecar-access/v1".to_vec();
    v.extend_from_slice(&service_id.to_be_bytes());
    v.extend_from_slice(operator);
    v
}

/// Seals `secret` to `recipient` (the customer's X25519 public key).
pub fn seal_access(
    recipient: &[u8; 32],
    service_id: u64,
    operator: &[u8; 20],
    secret: &[u8],
) -> Result<Vec<u8>, SealError> {
    if secret.len() > MAX_SECRET_LEN {
        return Err(SealError::TooLong(secret.len()));
    }
    if recipient == &[0u8; 32] {
        return Err(SealError::BadPublicKey);
    }
    let pk = <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(recipient)
        .map_err(|_| SealError::BadPublicKey)?;
    let (enc, ct) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
        &OpModeS::Base,
        &pk,
        &info(service_id, operator),
        secret,
        b"",
        &mut OsRng,
    )
    .map_err(|_| SealError::Seal)?;
    let mut out = Vec::with_capacity(1 + ENC_LEN + ct.len());
    out.push(VERSION);
    out.extend_from_slice(&enc.to_bytes());
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens a blob made by [`seal_access`] with the customer's X25519 secret key.
pub fn open_access(
    secret_key: &[u8; 32],
    service_id: u64,
    operator: &[u8; 20],
    sealed: &[u8],
) -> Result<Vec<u8>, SealError> {
    let (&version, rest) = sealed.split_first().ok_or(SealError::Malformed("empty"))?;
    if version != VERSION {
        return Err(SealError::Malformed("unknown version"));
    }
    if rest.len() < ENC_LEN + 16 {
        return Err(SealError::Malformed("too short"));
    }
    let (enc, ct) = rest.split_at(ENC_LEN);
    let sk = <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(secret_key)
        .map_err(|_| SealError::Malformed("secret key"))?;
    let enc = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(enc)
        .map_err(|_| SealError::Malformed("encapsulated key"))?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        &sk,
        &enc,
        &info(service_id, operator),
        ct,
        b"",
    )
    .map_err(|_| SealError::Open)
}

/// A fresh X25519 key pair for a customer: `(secret, public)`.
pub fn generate_customer_keypair() -> ([u8; 32], [u8; 32]) {
    let (sk, pk) = X25519HkdfSha256::gen_keypair(&mut OsRng);
    let mut s = [0u8; 32];
    let mut p = [0u8; 32];
    s.copy_from_slice(&sk.to_bytes());
    p.copy_from_slice(&pk.to_bytes());
    (s, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OP: [u8; 20] = [7u8; 20];

    #[test]
    fn round_trip_and_binding() {
        let (sk, pk) = generate_customer_keypair();
        let sealed = seal_access(&pk, 3, &OP, b"token-123").expect("seal");
        assert_eq!(sealed[0], VERSION);
        assert_eq!(
            open_access(&sk, 3, &OP, &sealed).expect("open"),
            b"token-123"
        );
        // Bound to service and operator.
        assert_eq!(open_access(&sk, 4, &OP, &sealed), Err(SealError::Open));
        assert_eq!(
            open_access(&sk, 3, &[8u8; 20], &sealed),
            Err(SealError::Open)
        );
        // Another customer cannot open it.
        let (other, _) = generate_customer_keypair();
        assert_eq!(open_access(&other, 3, &OP, &sealed), Err(SealError::Open));
    }

    #[test]
    fn tampering_and_malformed_input_fail_cleanly() {
        let (sk, pk) = generate_customer_keypair();
        let mut sealed = seal_access(&pk, 1, &OP, b"secret").expect("seal");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(open_access(&sk, 1, &OP, &sealed), Err(SealError::Open));
        assert!(matches!(
            open_access(&sk, 1, &OP, &[]),
            Err(SealError::Malformed(_))
        ));
        assert!(matches!(
            open_access(&sk, 1, &OP, &[2u8; 60]),
            Err(SealError::Malformed(_))
        ));
        assert!(matches!(
            open_access(&sk, 1, &OP, &[1u8; 10]),
            Err(SealError::Malformed(_))
        ));
        assert_eq!(
            seal_access(&[0u8; 32], 1, &OP, b"x"),
            Err(SealError::BadPublicKey)
        );
    }
}
