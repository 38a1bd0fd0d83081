//! Batch signature verification with strict semantics and per-index fallback.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};
use ves::encoding::{Hash32, Sig64};
use ves::error::BatchVerifyError;
use ves::*;

fn keys(n: u8) -> Vec<SigningKey> {
    (0..n)
        .map(|i| SigningKey::from_bytes(&[i + 1; 32]))
        .collect()
}

#[test]
fn batch_names_bad_indices() {
    let sks = keys(6);
    let pks: Vec<Ed25519PublicKey> = sks.iter().map(Ed25519PublicKey::from_signing_key).collect();
    let msgs: Vec<Hash32> = (0..6u8).map(|i| Hash32([i; 32])).collect();
    let mut items: Vec<BatchItem> = (0..6)
        .map(|i| BatchItem {
            public_key: &pks[i],
            message: msgs[i],
            signature: sign_event(&sks[i], &msgs[i]),
        })
        .collect();
    assert_eq!(verify_batch(&items), Ok(()));
    assert_eq!(verify_batch(&[]), Ok(()));
    items[4].message = Hash32([0xee; 32]);
    items[1].signature.0[40] ^= 1;
    let err = verify_batch(&items).unwrap_err();
    assert_eq!(
        err,
        BatchVerifyError::Invalid {
            indices: vec![1, 4]
        }
    );
    assert_eq!(err.to_string(), "invalid signature at index 1");
}

/// A signature whose R carries an order-2 torsion component: `verify_strict` rejects it, so
/// the batch must too, whatever its random weights.
#[test]
fn torsioned_r_rejected_like_verify_strict() {
    let sk = SigningKey::from_bytes(&[3; 32]);
    let pk = Ed25519PublicKey::from_signing_key(&sk);
    let msg = Hash32([7; 32]);
    let a = pk.verifying_key().to_edwards();
    // Expanded secret scalar and a nonce.
    let h = Sha512::digest(sk.to_bytes());
    let mut lower = [0u8; 32];
    lower.copy_from_slice(&h[..32]);
    let s_key = Scalar::from_bytes_mod_order(curve25519_dalek::scalar::clamp_integer(lower));
    let r = Scalar::from_bytes_mod_order([9; 32]);
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    let t2 = CompressedEdwardsY(minus_one).decompress().unwrap();
    let big_r = (ED25519_BASEPOINT_POINT * r + t2).compress();
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(big_r.as_bytes())
            .chain_update(pk.to_bytes())
            .chain_update(msg.0),
    );
    let s = r + k * s_key;
    assert_eq!(
        ED25519_BASEPOINT_POINT * s,
        ED25519_BASEPOINT_POINT * r + a * k
    );
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    let sig = Sig64(sig);
    assert!(verify_event_signature(&pk, &msg, &sig).is_err());
    // Try many batch compositions (the batch weights depend on the inputs).
    let good_sk = SigningKey::from_bytes(&[4; 32]);
    let good_pk = Ed25519PublicKey::from_signing_key(&good_sk);
    let mut plain_batch_accepted = 0;
    for i in 0..16u8 {
        let m = Hash32([i; 32]);
        let items = [
            BatchItem {
                public_key: &good_pk,
                message: m,
                signature: sign_event(&good_sk, &m),
            },
            BatchItem {
                public_key: &pk,
                message: msg,
                signature: sig,
            },
        ];
        assert_eq!(
            verify_batch(&items),
            Err(BatchVerifyError::Invalid { indices: vec![1] })
        );
        let raw: Vec<ed25519_dalek::Signature> = items
            .iter()
            .map(|it| ed25519_dalek::Signature::from_bytes(&it.signature.0))
            .collect();
        let msgs: Vec<&[u8]> = items.iter().map(|it| it.message.0.as_slice()).collect();
        let vks: Vec<_> = items
            .iter()
            .map(|it| *it.public_key.verifying_key())
            .collect();
        if ed25519_dalek::verify_batch(&msgs, &raw, &vks).is_ok() {
            plain_batch_accepted += 1;
        }
    }
    // Plain batch verification does accept some of these: the R check is needed.
    assert!(plain_batch_accepted > 0);
}
