//! Envelope parsing, V1/V2 signing, and the per-event checks in spec order.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use uuid::Uuid;
use ves::error::CanonicalError;
use ves::validate::{check_batch, BatchError};
use ves::*;

fn agent_key() -> SigningKey {
    SigningKey::from_bytes(&[0x42; 32])
}

fn new_event(version: u32) -> NewEvent {
    NewEvent {
        ves_version: version,
        event_id: Uuid::from_u128(0x1111),
        tenant_id: Uuid::from_u128(1),
        store_id: Uuid::from_u128(2),
        source_agent_id: Uuid::from_u128(0x2222),
        agent_key_id: 1,
        entity_type: "InventoryItem".into(),
        entity_id: "WIDGET-001".into(),
        event_type: "Adjusted".into(),
        created_at: "2025-01-01T00:00:00Z".into(),
        command_id: None,
        base_version: None,
    }
}

fn key_record() -> AgentKeyRecord {
    AgentKeyRecord {
        tenant_id: Uuid::from_u128(1),
        agent_id: Uuid::from_u128(0x2222),
        key_id: 1,
        public_key: Ed25519PublicKey::from_signing_key(&agent_key()),
        valid_from: Utc.timestamp_opt(0, 0).unwrap(),
        valid_to: None,
        revoked_at: None,
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn signed(version: u32) -> EventEnvelope {
    new_event(version)
        .sign_plain(json!({"delta": 1}), &agent_key())
        .unwrap()
}

fn check(env: &EventEnvelope) -> Result<CheckedEvent, Rejection> {
    check_event(
        env,
        &ValidationPolicy::default(),
        Some(&key_record()),
        now(),
    )
}

fn reason(env: &EventEnvelope) -> RejectionReason {
    check(env).unwrap_err().reason
}

fn resign(env: &mut EventEnvelope) {
    env.agent_signature = sign_event(&agent_key(), &env.event_signing_hash().unwrap());
}

#[test]
fn payload_null_rejected() {
    let mut wire = serde_json::to_value(signed(1)).unwrap();
    wire["payload"] = Value::Null;
    let env = EventEnvelope::from_json_str(&wire.to_string()).unwrap();
    assert_eq!(env.payload, Some(Value::Null));
    let rejection = check(&env).unwrap_err();
    assert_eq!(rejection.reason, RejectionReason::SchemaValidation);
    assert!(rejection.message.contains("null"), "{rejection}");
    assert!(new_event(1).sign_plain(Value::Null, &agent_key()).is_err());
    wire.as_object_mut().unwrap().remove("payload");
    let env = EventEnvelope::from_json_str(&wire.to_string()).unwrap();
    assert_eq!(reason(&env), RejectionReason::SchemaValidation);
}

#[test]
fn integer_beyond_2_pow_53_rejected_in_envelope() {
    let mut wire = serde_json::to_value(signed(1)).unwrap();
    wire["payload"] = json!({"n": 1});
    let text = wire
        .to_string()
        .replace("\"n\":1", "\"n\":9007199254740993");
    assert!(matches!(
        EventEnvelope::from_json_str(&text),
        Err(VesError::Canonical(CanonicalError::IntegerOutOfRange(_)))
    ));
    let text = wire
        .to_string()
        .replace("\"n\":1", "\"n\":123456789012345678901234567890");
    assert!(matches!(
        EventEnvelope::from_json_str(&text),
        Err(VesError::Canonical(CanonicalError::IntegerOutOfRange(_)))
    ));
    // A value built in code is caught by JCS.
    let mut env = signed(1);
    env.payload = Some(json!({"n": 9_007_199_254_740_993u64}));
    assert_eq!(reason(&env), RejectionReason::SchemaValidation);
}

#[test]
fn strict_envelope_parsing() {
    let wire = serde_json::to_value(signed(1)).unwrap();
    let mut extra = wire.clone();
    extra["unsigned_note"] = json!("x");
    assert!(matches!(
        EventEnvelope::from_json_str(&extra.to_string()),
        Err(VesError::Envelope(_))
    ));
    let text = wire.to_string();
    let dup = text.replacen('{', "{\"ves_version\":1,", 1);
    assert!(EventEnvelope::from_json_str(&dup).is_err());
    // Hashes accepted without 0x and in upper case; written canonically.
    let mut loose = wire.clone();
    let h = wire["payload_plain_hash"].as_str().unwrap();
    loose["payload_plain_hash"] = json!(h.trim_start_matches("0x").to_uppercase());
    let env = EventEnvelope::from_json_str(&loose.to_string()).unwrap();
    assert_eq!(serde_json::to_value(&env).unwrap(), wire);
    let mut short = wire.clone();
    short["agent_signature"] = json!("0x1234");
    assert!(EventEnvelope::from_json_str(&short.to_string()).is_err());
    let mut bad_uuid = wire;
    bad_uuid["event_id"] = json!("00000000000000000000000000001111");
    assert!(EventEnvelope::from_json_str(&bad_uuid.to_string()).is_err());
}

#[test]
fn v1_does_not_sign_command_id_or_base_version() {
    let env = signed(1);
    let mut with = env.clone();
    with.command_id = Some(Uuid::from_u128(7));
    with.base_version = Some(3);
    assert_eq!(with.event_signing_hash(), env.event_signing_hash());
    assert!(check(&with).is_ok());
}

#[test]
fn v2_signs_command_id_and_base_version() {
    let base = signed(2);
    let mut variants = Vec::new();
    for cmd in [None, Some(Uuid::from_u128(7)), Some(Uuid::from_u128(8))] {
        for bv in [None, Some(0u64), Some(5)] {
            let mut ev = new_event(2);
            ev.command_id = cmd;
            ev.base_version = bv;
            let env = ev.sign_plain(json!({"delta": 1}), &agent_key()).unwrap();
            assert!(check(&env).is_ok(), "{cmd:?} {bv:?}");
            let text = serde_json::to_string(&env).unwrap();
            assert_eq!(text.contains("command_id"), cmd.is_some());
            assert_eq!(text.contains("base_version"), bv.is_some());
            assert_eq!(EventEnvelope::from_json_str(&text).unwrap(), env);
            variants.push(env.event_signing_hash().unwrap());
        }
    }
    variants.sort();
    variants.dedup();
    assert_eq!(variants.len(), 9, "every combination hashes differently");
    assert_eq!(base.event_signing_hash().unwrap(), {
        let mut ev = new_event(2);
        ev.command_id = None;
        ev.sign_plain(json!({"delta": 1}), &agent_key())
            .unwrap()
            .event_signing_hash()
            .unwrap()
    });
    // V2 differs from V1 over the same fields.
    assert_ne!(signed(1).event_signing_hash(), base.event_signing_hash());
    // Stripping a signed command_id breaks the signature.
    let mut ev = new_event(2);
    ev.command_id = Some(Uuid::from_u128(7));
    let mut env = ev.sign_plain(json!({"delta": 1}), &agent_key()).unwrap();
    env.command_id = None;
    assert_eq!(reason(&env), RejectionReason::InvalidSignature);
}

#[test]
fn versions_and_policy() {
    let v1 = signed(1);
    let strict = ValidationPolicy { require_v2: true };
    let r = check_event(&v1, &strict, Some(&key_record()), now()).unwrap_err();
    assert_eq!(r.reason, RejectionReason::UnsupportedVersion);
    assert!(check_event(&signed(2), &strict, Some(&key_record()), now()).is_ok());
    let mut v3 = v1.clone();
    v3.ves_version = 3;
    assert_eq!(reason(&v3), RejectionReason::UnsupportedVersion);
    assert!(v3.event_signing_hash().is_err());
}

#[test]
fn checks_run_in_spec_order() {
    // Field limits before payload problems.
    let mut env = signed(1);
    env.entity_type = "x".repeat(129);
    env.payload = None;
    assert_eq!(reason(&env), RejectionReason::SchemaValidation);
    let mut env = signed(1);
    env.entity_id = String::new();
    assert_eq!(reason(&env), RejectionReason::SchemaValidation);
    let mut env = signed(1);
    env.event_type = "é".repeat(128); // 256 bytes: allowed
    resign(&mut env);
    assert!(check(&env).is_ok());
    env.event_type.push('a');
    assert_eq!(reason(&env), RejectionReason::SchemaValidation);
    // Kind consistency.
    let mut env = signed(1);
    env.payload_kind = 1;
    assert_eq!(reason(&env), RejectionReason::SchemaValidation);
    let mut env = signed(1);
    env.payload_cipher_hash = Hash32([1; 32]);
    assert_eq!(reason(&env), RejectionReason::SchemaValidation);
    // created_at must parse, but before hash checks.
    let mut env = signed(1);
    env.created_at = "yesterday".into();
    env.payload_plain_hash = Hash32([9; 32]);
    assert_eq!(reason(&env), RejectionReason::SchemaValidation);
    // Payload hash before key and signature.
    let mut env = signed(1);
    env.payload = Some(json!({"delta": 2}));
    let r = check_event(&env, &ValidationPolicy::default(), None, now()).unwrap_err();
    assert_eq!(r.reason, RejectionReason::InvalidPayloadHash);
    // Key before signature.
    let mut env = signed(1);
    env.agent_signature = Sig64([0; 64]);
    let mut revoked = key_record();
    revoked.revoked_at = Some(now());
    let r = check_event(&env, &ValidationPolicy::default(), Some(&revoked), now()).unwrap_err();
    assert_eq!(r.reason, RejectionReason::AgentKeyInvalid);
    let r = check_event(&env, &ValidationPolicy::default(), None, now()).unwrap_err();
    assert_eq!(r.reason, RejectionReason::AgentKeyInvalid);
    let mut expired = key_record();
    expired.valid_to = Some(now() - chrono::Duration::seconds(1));
    let r = check_event(
        &signed(1),
        &ValidationPolicy::default(),
        Some(&expired),
        now(),
    );
    assert_eq!(r.unwrap_err().reason, RejectionReason::AgentKeyInvalid);
    let mut other_key = key_record();
    other_key.key_id = 2;
    let r = check_event(
        &signed(1),
        &ValidationPolicy::default(),
        Some(&other_key),
        now(),
    );
    assert_eq!(r.unwrap_err().reason, RejectionReason::AgentKeyInvalid);
    assert_eq!(reason(&env), RejectionReason::InvalidSignature);
    // Any change to a signed field breaks the signature.
    let mut env = signed(1);
    env.created_at = "2025-01-01T00:00:00.000Z".into();
    assert_eq!(reason(&env), RejectionReason::InvalidSignature);
    assert_eq!(
        serde_json::to_value(RejectionReason::AgentKeyInvalid).unwrap(),
        json!("agent_key_invalid")
    );
}

#[test]
fn batch_shape() {
    let agent = Uuid::from_u128(0x2222);
    assert_eq!(check_batch(&[], &agent), Err(BatchError::Empty));
    let a = signed(1);
    assert_eq!(
        check_batch(std::slice::from_ref(&a), &agent),
        Ok((a.tenant_id, a.store_id))
    );
    let mut b = a.clone();
    b.store_id = Uuid::from_u128(3);
    assert_eq!(
        check_batch(&[a.clone(), b], &agent),
        Err(BatchError::MixedStreams)
    );
    assert_eq!(
        check_batch(std::slice::from_ref(&a), &Uuid::from_u128(9)),
        Err(BatchError::WrongAgent { index: 0 })
    );
    let many = vec![a; 1001];
    assert_eq!(
        check_batch(&many, &agent),
        Err(BatchError::TooManyEvents(1001))
    );
}
