use super::*;
use serde_json::json;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn tool(id: &str) -> Tool {
    Tool {
        id: id.into(),
        name: format!("{id} tool"),
        description: "Deploys a build to staging".into(),
        category: "devops".into(),
        input_schema: json!({"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "integer"}}}),
        output_schema: json!({"type": "string"}),
        pricing: Pricing {
            unit: "call".into(),
            amount: "1000".into(),
        },
    }
}

fn signed(seed: u8) -> SignedManifest {
    let k = key(seed);
    let m = ToolManifest::new(
        &k.verifying_key().to_bytes(),
        vec![tool("build.deploy")],
        1_700_000_000,
    );
    SignedManifest::sign(m, &k).expect("sign")
}

fn pk(seed: u8) -> Bytes32 {
    Bytes32(key(seed).verifying_key().to_bytes())
}

#[test]
fn signed_manifest_verifies() {
    let s = signed(1);
    let hash = s.hash().expect("hash");
    assert_eq!(verify(&s, &hash, &pk(1)), Ok(hash));
}

#[test]
fn hash_is_sha256_of_canonical_json() {
    let s = signed(1);
    let bytes = canonical_bytes(&s.manifest).expect("bytes");
    let text = String::from_utf8(bytes.clone()).expect("utf8");
    assert!(
        text.starts_with("{\"agent_id\":\"0x"),
        "keys sorted, no spaces: {text}"
    );
    assert!(!text.contains(": "));
    let mut want = [0u8; 32];
    want.copy_from_slice(&Sha256::digest(&bytes));
    assert_eq!(s.hash().expect("hash"), Bytes32(want));
}

#[test]
fn key_order_and_whitespace_do_not_change_hash_or_signature() {
    let s = signed(2);
    let hash = s.hash().expect("hash");
    let m = &s.manifest;
    // Same document, keys written in a different order, nested schema keys reversed,
    // extra whitespace, and a float written as 1.0 inside a schema.
    let text = format!(
        r#"{{ "signature": "{sig}",
             "manifest": {{ "tools": [ {{ "pricing": {{"amount": "1000", "unit": "call"}},
                 "output_schema": {{"type": "string"}},
                 "input_schema": {{"properties": {{"a": {{"type": "integer"}}, "b": {{"type": "string"}}}}, "type": "object"}},
                 "category": "devops", "description": "Deploys a build to staging",
                 "name": "build.deploy tool", "id": "build.deploy" }} ],
               "issued_at": 1700000000, "public_key": "{pk}", "agent_id": "{id}",
               "manifest_version": 1 }} }}"#,
        sig = s.signature,
        pk = m.public_key,
        id = m.agent_id
    );
    let parsed = SignedManifest::from_json(&text).expect("parse");
    assert_eq!(parsed.hash().expect("hash"), hash);
    assert_eq!(verify(&parsed, &hash, &pk(2)), Ok(hash));
}

#[test]
fn tampered_manifest_is_refused() {
    let s = signed(3);
    let hash = s.hash().expect("hash");

    // Changing a field changes the hash: the registry's hash no longer matches.
    let mut t = s.clone();
    t.manifest.tools[0].pricing.amount = "1".into();
    assert!(matches!(
        verify(&t, &hash, &pk(3)),
        Err(ManifestError::HashMismatch { .. })
    ));
    // Even if the attacker also gets its new hash accepted, the signature fails.
    let new_hash = t.hash().expect("hash");
    assert_eq!(
        verify(&t, &new_hash, &pk(3)),
        Err(ManifestError::BadSignature)
    );

    // A flipped signature bit.
    let mut t = s.clone();
    let last = if t.signature.ends_with('0') { "1" } else { "0" };
    t.signature.replace_range(t.signature.len() - 1.., last);
    assert_eq!(verify(&t, &hash, &pk(3)), Err(ManifestError::BadSignature));
}

#[test]
fn other_key_is_refused() {
    // A manifest validly signed by agent 4 offered for agent 3's record.
    let s = signed(4);
    let hash = s.hash().expect("hash");
    assert!(matches!(
        verify(&s, &hash, &pk(3)),
        Err(ManifestError::KeyMismatch { .. })
    ));
}

#[test]
fn malformed_manifests_are_refused() {
    let s = signed(5);
    let hash = s.hash().expect("hash");
    type Mutation = Box<dyn Fn(&mut SignedManifest)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("version", Box::new(|m| m.manifest.manifest_version = 2)),
        (
            "agent id",
            Box::new(|m| m.manifest.agent_id = Bytes32([7; 32]).to_string()),
        ),
        (
            "upper hex",
            Box::new(|m| {
                m.manifest.public_key = m.manifest.public_key.to_uppercase().replacen("0X", "0x", 1)
            }),
        ),
        ("sig hex", Box::new(|m| m.signature = "0xzz".into())),
        (
            "sig prefix",
            Box::new(|m| m.signature = m.signature[2..].to_string()),
        ),
        (
            "dup tool",
            Box::new(|m| {
                let t = m.manifest.tools[0].clone();
                m.manifest.tools.push(t)
            }),
        ),
    ];
    for (name, mutate) in cases {
        let mut t = s.clone();
        mutate(&mut t);
        assert!(
            matches!(verify(&t, &hash, &pk(5)), Err(ManifestError::Malformed(_))),
            "{name}"
        );
    }
}

#[test]
fn strict_parsing_refuses_duplicates_and_unknown_fields() {
    let s = signed(6);
    let mut value = serde_json::to_value(&s).expect("value");
    value["manifest"]["extra"] = json!(1);
    assert!(matches!(
        SignedManifest::from_json(&value.to_string()),
        Err(ManifestError::Malformed(_))
    ));
    let text = serde_json::to_string(&s).expect("text");
    let dup = text.replacen("{", "{\"signature\":\"0x00\",", 1);
    assert!(matches!(
        SignedManifest::from_json(&dup),
        Err(ManifestError::Malformed(_))
    ));
    assert!(SignedManifest::from_json(&text).is_ok());
    assert!(matches!(
        SignedManifest::from_json("{"),
        Err(ManifestError::Malformed(_))
    ));
}

#[test]
fn signing_with_the_wrong_key_is_refused() {
    let m = ToolManifest::new(&pk(7).0, vec![], 1);
    assert!(SignedManifest::sign(m, &key(8)).is_err());
}
