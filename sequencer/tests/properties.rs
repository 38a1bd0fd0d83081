//! Property tests: Merkle proofs, tamper detection, JCS order independence, no panics on
//! arbitrary input.

use proptest::prelude::*;
use serde_json::{Map, Value};
use ves::canonical::{format_double, parse_strict_slice};
use ves::encoding::Hash32;
use ves::*;

fn leaves(n: usize, salt: u8) -> Vec<Hash32> {
    (0..n)
        .map(|i| {
            let mut b = [salt; 32];
            b[..8].copy_from_slice(&(i as u64).to_be_bytes());
            node_hash(&Hash32(b), &Hash32([salt; 32]))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn merkle_proof_round_trip(n in 1usize..300, idx in any::<prop::sample::Index>(), salt in any::<u8>()) {
        let l = leaves(n, salt);
        let i = idx.index(n);
        let root = merkle_root(&l);
        let proof = inclusion_proof(&l, i).unwrap();
        // The kept tree answers exactly the same.
        let tree = MerkleTree::build(l.clone()).unwrap();
        prop_assert_eq!(tree.root(), root);
        prop_assert_eq!(&tree.proof(i).unwrap(), &proof);
        prop_assert!(tree.proof(n).is_err());
        prop_assert_eq!(proof.siblings.len(), n.next_power_of_two().trailing_zeros() as usize);
        prop_assert_eq!(verify_inclusion(&l[i], &proof, &root), Ok(()));
        // Wrong index fails (the same leaf cannot be proven at another position).
        if n > 1 {
            let mut moved = proof.clone();
            moved.leaf_index = ((i + 1) % n) as u32;
            prop_assert!(verify_inclusion(&l[i], &moved, &root).is_err());
        }
    }

    #[test]
    fn tampering_any_byte_fails(
        n in 1usize..300,
        idx in any::<prop::sample::Index>(),
        target in any::<prop::sample::Index>(),
        byte in 0usize..32,
        mask in 1u8..=255,
    ) {
        let l = leaves(n, 0);
        let i = idx.index(n);
        let root = merkle_root(&l);
        let proof = inclusion_proof(&l, i).unwrap();
        let mut leaf = l[i];
        let mut root2 = root;
        let mut proof2 = proof.clone();
        // Targets: 0 = leaf, 1 = root, 2.. = siblings.
        match target.index(2 + proof.siblings.len()) {
            0 => leaf.0[byte] ^= mask,
            1 => root2.0[byte] ^= mask,
            k => proof2.siblings[k - 2].0[byte] ^= mask,
        }
        prop_assert!(verify_inclusion(&leaf, &proof2, &root2).is_err());
    }

    #[test]
    fn jcs_independent_of_key_order(value in json_value(), seed in any::<u64>()) {
        let a = write_shuffled(&value, seed);
        let b = write_shuffled(&value, seed.wrapping_mul(6364136223846793005).wrapping_add(1));
        let ca = canonicalize(&parse_strict(&a).unwrap()).unwrap();
        let cb = canonicalize(&parse_strict(&b).unwrap()).unwrap();
        prop_assert_eq!(&ca, &cb);
        // Idempotent, and equal to canonicalising the value directly.
        prop_assert_eq!(&canonicalize(&parse_strict(&ca).unwrap()).unwrap(), &ca);
        prop_assert_eq!(&canonicalize(&value).unwrap(), &ca);
    }

    #[test]
    fn doubles_round_trip(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let text = format_double(f).unwrap();
        let back: f64 = text.parse().unwrap();
        prop_assert!(back == f || (f == 0.0 && back == 0.0));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(v) = parse_strict_slice(&bytes) {
            let _ = canonicalize(&v);
        }
        let _ = EventEnvelope::from_json_slice(&bytes);
    }

    #[test]
    fn json_like_strings_never_panic(text in "[\\[\\]{}:,\"\\\\0-9eE.+\\-a-z \u{e9}\u{1F600}]{0,200}") {
        if let Ok(v) = parse_strict(&text) {
            let c = canonicalize(&v);
            if let Ok(c) = c {
                prop_assert!(parse_strict(&c).is_ok());
            }
        }
        let _ = EventEnvelope::from_json_str(&text);
    }

    #[test]
    fn mutated_envelopes_never_panic(pos in any::<prop::sample::Index>(), ch in any::<char>()) {
        let text = serde_json::json!({
            "ves_version": 2, "event_id": "11111111-1111-1111-1111-111111111111",
            "tenant_id": "00000000-0000-0000-0000-000000000001",
            "store_id": "00000000-0000-0000-0000-000000000002",
            "source_agent_id": "22222222-2222-2222-2222-222222222222",
            "agent_key_id": 1, "entity_type": "a", "entity_id": "b", "event_type": "c",
            "created_at": "2025-01-01T00:00:00Z", "payload_kind": 0, "payload": {"x": 1},
            "payload_plain_hash": format!("0x{}", "00".repeat(32)),
            "payload_cipher_hash": format!("0x{}", "00".repeat(32)),
            "agent_signature": format!("0x{}", "00".repeat(64)),
            "command_id": "33333333-3333-3333-3333-333333333333", "base_version": 0
        }).to_string();
        let mut chars: Vec<char> = text.chars().collect();
        let i = pos.index(chars.len());
        chars[i] = ch;
        let mutated: String = chars.into_iter().collect();
        if let Ok(env) = EventEnvelope::from_json_str(&mutated) {
            let _ = check_event_structure(&env, &ValidationPolicy::default());
        }
    }
}

/// Arbitrary JSON within what JCS accepts (safe integers, finite doubles).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(MAX_SAFE_INTEGER as i64)..=MAX_SAFE_INTEGER as i64).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite, canonical form not an unsafe integer", |f| {
                f.is_finite() && !(f.abs() > MAX_SAFE_INTEGER as f64 && f.abs() < 1e21)
            })
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// Serialises `value` with object keys in a pseudo-random order and random whitespace.
fn write_shuffled(value: &Value, seed: u64) -> String {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    fn go(v: &Value, out: &mut String, next: &mut dyn FnMut() -> u64) {
        match v {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                for i in (1..entries.len()).rev() {
                    let j = (next() % (i as u64 + 1)) as usize;
                    entries.swap(i, j);
                }
                out.push('{');
                for (k, (key, item)) in entries.into_iter().enumerate() {
                    if k > 0 {
                        out.push_str(if next().is_multiple_of(2) {
                            ","
                        } else {
                            " ,\n "
                        });
                    }
                    out.push_str(&serde_json::to_string(key).unwrap_or_default());
                    out.push_str(" : ");
                    go(item, out, next);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push_str("[ ");
                for (k, item) in items.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    go(item, out, next);
                }
                out.push(']');
            }
            other => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
        }
    }
    let mut out = String::new();
    go(value, &mut out, &mut next);
    out
}
