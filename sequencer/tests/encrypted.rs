//! VES-ENC-1: seal → open round trip, cipher-hash checks, tampering.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{TimeZone, Utc};
use rand::rngs::OsRng;
use serde_json::json;
use uuid::Uuid;
use ves::encrypted::{payload_aad, PayloadEncrypted};
use ves::error::PayloadError;
use ves::*;

fn ctx() -> EventContext<'static> {
    EventContext {
        tenant_id: Uuid::from_u128(1),
        store_id: Uuid::from_u128(2),
        event_id: Uuid::from_u128(3),
        source_agent_id: Uuid::from_u128(4),
        agent_key_id: 1,
        entity_type: "order",
        entity_id: "ORD-1",
        event_type: "order.created",
        created_at: "2025-01-01T00:00:00Z",
    }
}

fn flip_b64(text: &str, byte: usize) -> String {
    let mut raw = URL_SAFE_NO_PAD.decode(text).unwrap();
    raw[byte] ^= 0x01;
    URL_SAFE_NO_PAD.encode(raw)
}

#[test]
fn seal_open_round_trip_multiple_recipients() {
    let payload = json!({"total": 99.99, "items": [1, 2, 3], "note": "café"});
    let (sk_a, pk_a) = generate_recipient_keypair(&mut OsRng);
    let (sk_b, pk_b) = generate_recipient_keypair(&mut OsRng);
    let sealed = seal_payload(&payload, &ctx(), &[(7, pk_b), (3, pk_a)]).unwrap();
    let enc = &sealed.payload_encrypted;
    assert_eq!(
        enc.recipients
            .iter()
            .map(|r| r.recipient_kid)
            .collect::<Vec<_>>(),
        vec![3, 7]
    );
    assert_eq!(sk_a.public_key().unwrap(), pk_a);
    for (kid, sk) in [(3, &sk_a), (7, &sk_b)] {
        let opened = open_payload(enc, &ctx(), &sealed.payload_plain_hash, kid, sk).unwrap();
        assert_eq!(opened, payload);
    }
    assert_eq!(
        open_payload(enc, &ctx(), &sealed.payload_plain_hash, 9, &sk_a),
        Err(PayloadError::RecipientNotFound(9))
    );
    assert_eq!(
        open_payload(enc, &ctx(), &sealed.payload_plain_hash, 7, &sk_a),
        Err(PayloadError::DecryptionFailed)
    );
    // Salted: the plain hash is not the unsalted one, and differs on every seal.
    assert_ne!(
        sealed.payload_plain_hash,
        payload_plain_hash(&payload).unwrap()
    );
    let again = seal_payload(&payload, &ctx(), &[(3, pk_a)]).unwrap();
    assert_ne!(again.payload_plain_hash, sealed.payload_plain_hash);
    assert_eq!(
        verify_cipher_hash(
            enc,
            &ctx(),
            &sealed.payload_plain_hash,
            &sealed.payload_cipher_hash
        ),
        Ok(())
    );
    // JSON round trip of the wire form.
    let text = serde_json::to_string(enc).unwrap();
    assert_eq!(
        serde_json::from_str::<PayloadEncrypted>(&text).unwrap(),
        *enc
    );
}

#[test]
fn tampered_ciphertext_fails_cipher_hash_check_and_open() {
    let payload = json!({"secret": true});
    let (sk, pk) = generate_recipient_keypair(&mut OsRng);
    let sealed = seal_payload(&payload, &ctx(), &[(1, pk)]).unwrap();
    let check = |enc: &PayloadEncrypted| {
        verify_cipher_hash(
            enc,
            &ctx(),
            &sealed.payload_plain_hash,
            &sealed.payload_cipher_hash,
        )
    };

    let mut enc = sealed.payload_encrypted.clone();
    enc.ciphertext_b64u = flip_b64(&enc.ciphertext_b64u, 0);
    assert_eq!(check(&enc), Err(PayloadError::CipherHashMismatch));
    assert_eq!(
        open_payload(&enc, &ctx(), &sealed.payload_plain_hash, 1, &sk),
        Err(PayloadError::DecryptionFailed)
    );

    let mut enc = sealed.payload_encrypted.clone();
    enc.tag_b64u = flip_b64(&enc.tag_b64u, 15);
    assert_eq!(check(&enc), Err(PayloadError::CipherHashMismatch));

    let mut enc = sealed.payload_encrypted.clone();
    enc.nonce_b64u = flip_b64(&enc.nonce_b64u, 11);
    assert_eq!(check(&enc), Err(PayloadError::CipherHashMismatch));

    let mut enc = sealed.payload_encrypted.clone();
    enc.recipients[0].ct_b64u = flip_b64(&enc.recipients[0].ct_b64u, 0);
    assert_eq!(check(&enc), Err(PayloadError::CipherHashMismatch));

    let mut enc = sealed.payload_encrypted.clone();
    enc.recipients[0].recipient_kid = 2;
    assert_eq!(check(&enc), Err(PayloadError::CipherHashMismatch));

    // The context is bound through the AAD.
    let mut other = ctx();
    other.entity_id = "ORD-2";
    assert_eq!(
        verify_cipher_hash(
            &sealed.payload_encrypted,
            &other,
            &sealed.payload_plain_hash,
            &sealed.payload_cipher_hash
        ),
        Err(PayloadError::CipherHashMismatch)
    );
    assert_eq!(
        open_payload(
            &sealed.payload_encrypted,
            &other,
            &sealed.payload_plain_hash,
            1,
            &sk
        ),
        Err(PayloadError::DecryptionFailed)
    );
    assert_ne!(
        payload_aad(&ctx(), &sealed.payload_plain_hash).unwrap(),
        payload_aad(&other, &sealed.payload_plain_hash).unwrap()
    );
}

#[test]
fn malformed_structure_rejected() {
    let (_, pk) = generate_recipient_keypair(&mut OsRng);
    let (_, pk2) = generate_recipient_keypair(&mut OsRng);
    let sealed = seal_payload(&json!([1]), &ctx(), &[(1, pk), (2, pk2)]).unwrap();
    let structure = |f: &dyn Fn(&mut PayloadEncrypted)| {
        let mut enc = sealed.payload_encrypted.clone();
        f(&mut enc);
        matches!(enc.decode(), Err(PayloadError::Structure(_)))
    };
    assert!(structure(&|e| e.enc_version = 2));
    assert!(structure(&|e| e.aead = "AES-128-GCM".into()));
    assert!(structure(&|e| e.hpke.kem = "P256".into()));
    assert!(structure(
        &|e| e.nonce_b64u = URL_SAFE_NO_PAD.encode([0u8; 11])
    ));
    assert!(structure(&|e| e.tag_b64u.push('=')));
    assert!(structure(
        &|e| e.ciphertext_b64u = URL_SAFE_NO_PAD.encode([0u8; 16])
    ));
    assert!(structure(&|e| e.recipients.clear()));
    assert!(structure(&|e| e.recipients.swap(0, 1)));
    assert!(structure(&|e| e.recipients[1].recipient_kid = 1));
    assert!(structure(
        &|e| e.recipients[0].enc_b64u = URL_SAFE_NO_PAD.encode([0u8; 31])
    ));
    assert!(seal_payload(&json!(1), &ctx(), &[]).is_err());
    assert!(seal_payload(&json!(1), &ctx(), &[(1, pk), (1, pk2)]).is_err());
    assert_eq!(
        seal_payload(&serde_json::Value::Null, &ctx(), &[(1, pk)]),
        Err(PayloadError::NullPayload)
    );
}

#[test]
fn encrypted_envelope_validates() {
    let agent = SigningKey::from_bytes(&[5; 32]);
    let (sk, pk) = generate_recipient_keypair(&mut OsRng);
    let event = NewEvent {
        ves_version: 2,
        event_id: Uuid::from_u128(3),
        tenant_id: Uuid::from_u128(1),
        store_id: Uuid::from_u128(2),
        source_agent_id: Uuid::from_u128(4),
        agent_key_id: 1,
        entity_type: "order".into(),
        entity_id: "ORD-1".into(),
        event_type: "order.created".into(),
        created_at: "2025-01-01T00:00:00Z".into(),
        command_id: Some(Uuid::from_u128(10)),
        base_version: Some(0),
    };
    let payload = json!({"amount": 12});
    let env = event
        .sign_encrypted(&payload, &[(1, pk)], &agent, &mut OsRng)
        .unwrap();
    let key = AgentKeyRecord {
        tenant_id: env.tenant_id,
        agent_id: env.source_agent_id,
        key_id: 1,
        public_key: Ed25519PublicKey::from_signing_key(&agent),
        valid_from: Utc.timestamp_opt(0, 0).unwrap(),
        valid_to: None,
        revoked_at: None,
    };
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let text = serde_json::to_string(&env).unwrap();
    assert!(!text.contains("\"payload\""));
    let parsed = EventEnvelope::from_json_str(&text).unwrap();
    assert!(check_event(&parsed, &ValidationPolicy::default(), Some(&key), now).is_ok());
    let enc = parsed.payload_encrypted.as_ref().unwrap();
    assert_eq!(
        open_payload(enc, &parsed.context(), &parsed.payload_plain_hash, 1, &sk).unwrap(),
        payload
    );

    let mut tampered = parsed.clone();
    if let Some(enc) = tampered.payload_encrypted.as_mut() {
        enc.ciphertext_b64u = flip_b64(&enc.ciphertext_b64u, 3);
    }
    let r = check_event(&tampered, &ValidationPolicy::default(), Some(&key), now).unwrap_err();
    assert_eq!(r.reason, RejectionReason::InvalidCipherHash);

    let mut leaked = parsed.clone();
    leaked.payload = Some(payload.clone());
    let r = check_event(&leaked, &ValidationPolicy::default(), Some(&key), now).unwrap_err();
    assert_eq!(r.reason, RejectionReason::SchemaValidation);

    let mut broken = parsed;
    if let Some(enc) = broken.payload_encrypted.as_mut() {
        enc.recipients.clear();
    }
    let r = check_event(&broken, &ValidationPolicy::default(), Some(&key), now).unwrap_err();
    assert_eq!(r.reason, RejectionReason::SchemaValidation);
}
