//! Strict Ed25519 verification of many signatures by one key, with the verdict of
//! `ed25519_dalek::VerifyingKey::verify_strict` on each but less work.
//!
//! `verify_strict` accepts `(R, s)` on `M` under `A` when `s` is canonical, `R` decodes and
//! is not of small order, `A` is not of small order, and the encoding of
//! `[s]B - [k]A` (with `k = SHA-512(R || A || M) mod ℓ`) equals `R`'s bytes. Here `A` is
//! decoded, checked and negated once for all signatures, and `R` is not decoded (a field
//! exponentiation per signature): when the encodings match, `R` decodes to the computed
//! point, so checking that point's order is the same test. (`verify_strict` compares points,
//! this compares encodings: they could differ only for a non-canonical encoding of a valid
//! `R`, i.e. a point of the prime-order subgroup with `y < 19`, which no signer can produce
//! without a discrete logarithm.)
//!
//! Ed25519 *batch* verification does not pay here. Its equation is satisfied, with
//! probability up to 1/2 over its random weights, by a signature whose `R` carries a small
//! torsion component, which `verify_strict` always refuses; making the batch verdict equal the
//! strict one needs a torsion check per `R` (a scalar multiplication), and the two together
//! cost more than this (measured in `examples/ingest_bench.rs`: 14.5k/s vs 23k/s per core).

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

use crate::encoding::Sig64;
use crate::keys::Ed25519PublicKey;

/// One key, prepared for verifying many signatures.
pub struct KeyVerifier {
    compressed: [u8; 32],
    /// `None` when the key is of small order (`verify_strict` refuses everything then).
    minus_a: Option<EdwardsPoint>,
}

impl KeyVerifier {
    /// Prepares `key` (decoded, checked and negated once).
    pub fn new(key: &Ed25519PublicKey) -> Self {
        let compressed = key.to_bytes();
        let minus_a = CompressedEdwardsY(compressed)
            .decompress()
            .filter(|a| !a.is_small_order())
            .map(|a| -a);
        Self {
            compressed,
            minus_a,
        }
    }

    /// Whether `signature` over `message` is valid under `verify_strict`.
    pub fn verify(&self, message: &[u8], signature: &Sig64) -> bool {
        let Some(minus_a) = &self.minus_a else {
            return false;
        };
        let mut r_bytes = [0u8; 32];
        r_bytes.copy_from_slice(&signature.0[..32]);
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&signature.0[32..]);
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
            return false;
        };
        let mut h = Sha512::new();
        h.update(r_bytes);
        h.update(self.compressed);
        h.update(message);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let r = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, minus_a, &s);
        !r.is_small_order() && r.compress().to_bytes() == r_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Hash32;
    use crate::keys::sign_digest;
    use curve25519_dalek::constants::EIGHT_TORSION;
    use ed25519_dalek::SigningKey;

    fn strict(key: &Ed25519PublicKey, m: &[u8], sig: &Sig64) -> bool {
        key.verify_strict(m, sig).is_ok()
    }

    #[test]
    fn same_verdicts_as_verify_strict() {
        let sk = SigningKey::from_bytes(&[9; 32]);
        let pk = Ed25519PublicKey::from_signing_key(&sk);
        let v = KeyVerifier::new(&pk);
        let mut cases: Vec<(Vec<u8>, Sig64)> = Vec::new();
        for i in 0..40u8 {
            let m = Hash32([i; 32]);
            let sig = sign_digest(&sk, &m);
            cases.push((m.0.to_vec(), sig));
            // Wrong message, flipped bits in R and in s.
            cases.push((vec![i ^ 1; 32], sig));
            let mut bad = sig;
            bad.0[usize::from(i % 32)] ^= 1 << (i % 8);
            cases.push((m.0.to_vec(), bad));
            let mut bad = sig;
            bad.0[32 + usize::from(i % 32)] ^= 1 << (i % 8);
            cases.push((m.0.to_vec(), bad));
        }
        // s + ℓ (non-canonical), R with a torsion component, small-order R, R = garbage.
        let m = Hash32([1; 32]);
        let sig = sign_digest(&sk, &m);
        let s = Scalar::from_canonical_bytes(sig.0[32..].try_into().expect("32")).unwrap();
        let l_bytes: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        let mut sum = [0u8; 32];
        for (j, out) in sum.iter_mut().enumerate() {
            let t = u16::from(s.as_bytes()[j]) + u16::from(l_bytes[j]) + carry;
            *out = t as u8;
            carry = t >> 8;
        }
        let mut bad = sig;
        bad.0[32..].copy_from_slice(&sum);
        cases.push((m.0.to_vec(), bad));
        for t in EIGHT_TORSION.iter() {
            let r = CompressedEdwardsY(sig.0[..32].try_into().expect("32"))
                .decompress()
                .expect("R");
            let mut bad = sig;
            bad.0[..32].copy_from_slice(&(r + t).compress().to_bytes());
            cases.push((m.0.to_vec(), bad));
            let mut bad = sig;
            bad.0[..32].copy_from_slice(&t.compress().to_bytes());
            cases.push((m.0.to_vec(), bad));
        }
        let mut bad = sig;
        bad.0[..32].copy_from_slice(&[0xff; 32]);
        cases.push((m.0.to_vec(), bad));
        let mut accepted = 0;
        for (m, sig) in &cases {
            assert_eq!(v.verify(m, sig), strict(&pk, m, sig), "{sig:?}");
            accepted += usize::from(v.verify(m, sig));
        }
        // The 40 honest signatures (and R + identity, the same signature).
        assert!(accepted >= 40, "{accepted}");
        // A small-order key: everything refused, as verify_strict does.
        for t in EIGHT_TORSION.iter() {
            let Ok(weak) = Ed25519PublicKey::from_bytes(&t.compress().to_bytes()) else {
                continue;
            };
            let wv = KeyVerifier::new(&weak);
            for (m, sig) in &cases {
                assert_eq!(wv.verify(m, sig), strict(&weak, m, sig));
            }
        }
    }
}
