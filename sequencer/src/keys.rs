//! Ed25519 public keys (strictly parsed), agent key records with validity windows and
//! revocation, and proof of possession.

use std::fmt;

use chrono::{DateTime, Utc};
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::domain;
use crate::encoding::{domain_hash, parse_hex_array, serde_uuid, Hash32, HexMode, Sig64};
use crate::error::{KeyError, KeyValidityError, SignatureError};

/// An Ed25519 public key accepted by VES: 32 bytes that decompress to a curve point, are the
/// canonical encoding of that point, and the point is neither of small order nor carries a
/// torsion component. (Honest keys, `a·B`, always satisfy this.) JSON form: `0x` + hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ed25519PublicKey(VerifyingKey);

impl Ed25519PublicKey {
    /// Parses and validates 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let raw: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::Length(bytes.len()))?;
        let point = CompressedEdwardsY(raw)
            .decompress()
            .ok_or(KeyError::NotOnCurve)?;
        if point.compress().to_bytes() != raw {
            return Err(KeyError::NonCanonical);
        }
        if point.is_small_order() {
            return Err(KeyError::SmallOrder);
        }
        if !point.is_torsion_free() {
            return Err(KeyError::Torsion);
        }
        VerifyingKey::from_bytes(&raw)
            .map(Self)
            .map_err(|_| KeyError::NotOnCurve)
    }

    /// Parses hex (optional `0x`, any case) and validates.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let raw = parse_hex_array::<32>(text, HexMode::Lenient)?;
        Self::from_bytes(&raw)
    }

    /// The public key of a signing key.
    pub fn from_signing_key(sk: &SigningKey) -> Self {
        Self(sk.verifying_key())
    }

    /// Raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The underlying `ed25519-dalek` key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }

    /// Verifies `signature` over `message` with `verify_strict` (rejects small-order `R`,
    /// non-canonical `s` and `R` encodings; cofactorless equation).
    pub fn verify_strict(&self, message: &[u8], signature: &Sig64) -> Result<(), SignatureError> {
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(message, &sig)
            .map_err(|_| SignatureError::Invalid)
    }
}

impl fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519PublicKey(0x{})", hex::encode(self.to_bytes()))
    }
}

impl fmt::Display for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.to_bytes()))
    }
}

impl Serialize for Ed25519PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ed25519PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Signs a 32-byte digest (the digest bytes are the Ed25519 message).
pub fn sign_digest(sk: &SigningKey, digest: &Hash32) -> Sig64 {
    Sig64(sk.sign(&digest.0).to_bytes())
}

/// A registered agent key, keyed by `(tenant_id, agent_id, key_id)`.
///
/// `valid_from` and `valid_to` are inclusive; `valid_to = None` means no expiry. A key with
/// `revoked_at` set is unusable from then on (revocation is checked before the window).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentKeyRecord {
    /// Tenant.
    #[serde(with = "serde_uuid")]
    pub tenant_id: Uuid,
    /// Agent.
    #[serde(with = "serde_uuid")]
    pub agent_id: Uuid,
    /// Key id; rotation registers `key_id + 1`.
    pub key_id: u32,
    /// The Ed25519 public key.
    pub public_key: Ed25519PublicKey,
    /// First instant the key is valid (inclusive).
    pub valid_from: DateTime<Utc>,
    /// Last instant the key is valid (inclusive); `None` = no expiry.
    #[serde(default)]
    pub valid_to: Option<DateTime<Utc>>,
    /// When the key was revoked; `Some` = revoked.
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl AgentKeyRecord {
    /// Whether the key may sign an event received at `at`.
    pub fn check_valid_at(&self, at: DateTime<Utc>) -> Result<(), KeyValidityError> {
        if self.revoked_at.is_some() {
            return Err(KeyValidityError::Revoked);
        }
        if at < self.valid_from {
            return Err(KeyValidityError::NotYetValid);
        }
        if self.valid_to.is_some_and(|to| at > to) {
            return Err(KeyValidityError::Expired);
        }
        Ok(())
    }

    /// Whether this record is the key `(tenant_id, agent_id, key_id)`.
    pub fn matches(&self, tenant_id: &Uuid, agent_id: &Uuid, key_id: u32) -> bool {
        self.tenant_id == *tenant_id && self.agent_id == *agent_id && self.key_id == key_id
    }
}

/// Proof-of-possession challenge: `SHA256("VES_POP_V1" || public_key)`.
pub fn pop_challenge(public_key: &Ed25519PublicKey) -> Hash32 {
    domain_hash(domain::POP, &[&public_key.to_bytes()])
}

/// Proof of possession: `Ed25519.sign(sk, pop_challenge(pk))`.
pub fn sign_pop(sk: &SigningKey) -> Sig64 {
    sign_digest(sk, &pop_challenge(&Ed25519PublicKey::from_signing_key(sk)))
}

/// Verifies a proof of possession (strictly).
pub fn verify_pop(public_key: &Ed25519PublicKey, signature: &Sig64) -> Result<(), SignatureError> {
    public_key.verify_strict(&pop_challenge(public_key).0, signature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Little-endian encoding of p + k, where p = 2^255 − 19.
    fn p_plus(k: u8) -> [u8; 32] {
        let mut b = [0xffu8; 32];
        b[31] = 0x7f;
        b[0] = 0xed;
        let (v, carry) = b[0].overflowing_add(k);
        assert!(!carry);
        b[0] = v;
        b
    }

    #[test]
    fn non_canonical_public_keys_rejected() {
        let mut decompressing = 0;
        let mut dalek_accepts = 0;
        for k in 0..19u8 {
            let bytes = p_plus(k);
            if CompressedEdwardsY(bytes).decompress().is_some() {
                decompressing += 1;
                assert_eq!(
                    Ed25519PublicKey::from_bytes(&bytes),
                    Err(KeyError::NonCanonical),
                    "y = p + {k}"
                );
                if VerifyingKey::from_bytes(&bytes).is_ok() {
                    dalek_accepts += 1;
                }
            }
        }
        assert!(decompressing > 0);
        // ed25519-dalek alone accepts these encodings; the extra check is what rejects them.
        assert!(dalek_accepts > 0);
        // x = 0 with the sign bit set ("negative zero"): y = 1 is the identity.
        let mut neg_zero = [0u8; 32];
        neg_zero[0] = 1;
        neg_zero[31] = 0x80;
        assert!(Ed25519PublicKey::from_bytes(&neg_zero).is_err());
    }

    #[test]
    fn weak_and_malformed_keys_rejected() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            Ed25519PublicKey::from_bytes(&identity),
            Err(KeyError::SmallOrder)
        );
        assert_eq!(
            Ed25519PublicKey::from_bytes(&[0u8; 31]),
            Err(KeyError::Length(31))
        );
        // y = 2 is not on the curve.
        let mut two = [0u8; 32];
        two[0] = 2;
        assert_eq!(
            Ed25519PublicKey::from_bytes(&two),
            Err(KeyError::NotOnCurve)
        );
        // A valid key plus an order-2 point (0, -1) has a torsion component.
        let sk = SigningKey::from_bytes(&[7u8; 32]);
        let a = sk.verifying_key().to_edwards();
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        let t = CompressedEdwardsY(minus_one).decompress().unwrap();
        let mixed = (a + t).compress().to_bytes();
        assert_eq!(Ed25519PublicKey::from_bytes(&mixed), Err(KeyError::Torsion));
    }

    #[test]
    fn validity_window_inclusive_and_revocation() {
        let sk = SigningKey::from_bytes(&[1u8; 32]);
        let t = |s| Utc.timestamp_opt(s, 0).single().unwrap();
        let mut rec = AgentKeyRecord {
            tenant_id: Uuid::nil(),
            agent_id: Uuid::nil(),
            key_id: 1,
            public_key: Ed25519PublicKey::from_signing_key(&sk),
            valid_from: t(100),
            valid_to: Some(t(200)),
            revoked_at: None,
        };
        assert_eq!(
            rec.check_valid_at(t(99)),
            Err(KeyValidityError::NotYetValid)
        );
        assert_eq!(rec.check_valid_at(t(100)), Ok(()));
        assert_eq!(rec.check_valid_at(t(200)), Ok(()));
        assert_eq!(rec.check_valid_at(t(201)), Err(KeyValidityError::Expired));
        rec.revoked_at = Some(t(150));
        assert_eq!(rec.check_valid_at(t(120)), Err(KeyValidityError::Revoked));
        let json = serde_json::to_string(&rec).unwrap();
        assert_eq!(serde_json::from_str::<AgentKeyRecord>(&json).unwrap(), rec);
    }

    #[test]
    fn pop_round_trip() {
        let sk = SigningKey::from_bytes(&[9u8; 32]);
        let pk = Ed25519PublicKey::from_signing_key(&sk);
        let sig = sign_pop(&sk);
        assert_eq!(verify_pop(&pk, &sig), Ok(()));
        let other = Ed25519PublicKey::from_signing_key(&SigningKey::from_bytes(&[8u8; 32]));
        assert!(verify_pop(&other, &sig).is_err());
    }
}
