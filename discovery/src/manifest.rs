//! The signed tool manifest an agent publishes, and its verification against the registry.
//!
//! **Hashing.** The manifest's bytes are its RFC 8785 (JCS) canonical JSON, produced by the
//! sequencer's canonicaliser ([`ves::canonicalize`]): object keys sorted, no whitespace,
//! numbers in ECMAScript form. So the bytes — and therefore the hash and the signature — do
//! not depend on key order or formatting of the document as sent.
//!
//! * manifest hash = `sha256(canonical_json(manifest))` (the value stored on chain);
//! * signature = Ed25519 by the agent's key over the same canonical bytes.
//!
//! The `manifest` object is parsed strictly (duplicate keys and unknown fields are refused)
//! so that nothing the signer wrote is silently dropped before hashing.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::ids::{agent_id_from_key, Bytes32};

/// The only manifest format version understood.
pub const MANIFEST_VERSION: u32 = 1;

/// Price of one call of a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    /// What is charged for, e.g. `"call"` or `"1k_tokens"`.
    pub unit: String,
    /// Amount as a decimal string in the smallest currency unit (no floats in signed data).
    pub amount: String,
}

/// One tool the agent offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// Stable tool id, e.g. `"build.deploy"`.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// What the tool does.
    pub description: String,
    /// Category used for exact-match filtering, e.g. `"devops"`.
    pub category: String,
    /// JSON Schema of the input.
    pub input_schema: Value,
    /// JSON Schema of the output.
    pub output_schema: Value,
    /// Price.
    pub pricing: Pricing,
}

/// The manifest document (the signed part).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolManifest {
    /// Always [`MANIFEST_VERSION`].
    pub manifest_version: u32,
    /// `0x` + lowercase hex of `keccak256(public_key)`.
    pub agent_id: String,
    /// `0x` + lowercase hex of the 32-byte Ed25519 public key.
    pub public_key: String,
    /// Offered tools (ids unique).
    pub tools: Vec<Tool>,
    /// Unix seconds when the manifest was issued.
    pub issued_at: u64,
}

/// A manifest and the agent's signature over its canonical bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedManifest {
    /// The signed document.
    pub manifest: ToolManifest,
    /// `0x` + hex of the 64-byte Ed25519 signature.
    pub signature: String,
}

/// Why a manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not a well-formed manifest (bad JSON, field, version, key or signature encoding).
    #[error("malformed manifest: {0}")]
    Malformed(String),
    /// The manifest's public key is not the registered one.
    #[error("public key mismatch: manifest has {found}, registry has {expected}")]
    KeyMismatch {
        /// Registered key.
        expected: Bytes32,
        /// Key in the manifest.
        found: String,
    },
    /// The manifest's hash is not the registered one.
    #[error("manifest hash mismatch: computed {computed}, registry has {expected}")]
    HashMismatch {
        /// Registered hash.
        expected: Bytes32,
        /// Hash of the canonical manifest bytes.
        computed: Bytes32,
    },
    /// The signature does not verify under the manifest's key.
    #[error("bad manifest signature")]
    BadSignature,
}

fn malformed(e: impl std::fmt::Display) -> ManifestError {
    ManifestError::Malformed(e.to_string())
}

/// Canonical (RFC 8785) JSON bytes of a manifest: what is hashed and signed.
pub fn canonical_bytes(manifest: &ToolManifest) -> Result<Vec<u8>, ManifestError> {
    let value = serde_json::to_value(manifest).map_err(malformed)?;
    ves::canonical::canonicalize_to_vec(&value).map_err(malformed)
}

/// `sha256` of the canonical manifest bytes.
pub fn manifest_hash(manifest: &ToolManifest) -> Result<Bytes32, ManifestError> {
    let digest = Sha256::digest(canonical_bytes(manifest)?);
    let mut out = [0u8; 32];
    out.copy_from_slice(&digest);
    Ok(Bytes32(out))
}

/// Parses `0x` + exactly lowercase hex (the only form accepted inside the signed document,
/// so that one key has one spelling and one hash).
fn strict_bytes32(field: &str, text: &str) -> Result<Bytes32, ManifestError> {
    let ok = text.len() == 66
        && text.starts_with("0x")
        && text[2..]
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !ok {
        return Err(ManifestError::Malformed(format!(
            "{field} must be 0x + 64 lowercase hex digits"
        )));
    }
    text.parse().map_err(malformed)
}

impl ToolManifest {
    /// A version-1 manifest for `public_key`, with the agent id derived from it.
    pub fn new(public_key: &[u8; 32], tools: Vec<Tool>, issued_at: u64) -> Self {
        Self {
            manifest_version: MANIFEST_VERSION,
            agent_id: agent_id_from_key(public_key).to_string(),
            public_key: Bytes32(*public_key).to_string(),
            tools,
            issued_at,
        }
    }

    /// Checks the document on its own: version, key and id encodings, id = keccak256(key),
    /// tool ids present and unique. Returns the public key.
    pub fn validate(&self) -> Result<[u8; 32], ManifestError> {
        if self.manifest_version != MANIFEST_VERSION {
            return Err(ManifestError::Malformed(format!(
                "unsupported manifest_version {}",
                self.manifest_version
            )));
        }
        let key = strict_bytes32("public_key", &self.public_key)?;
        let id = strict_bytes32("agent_id", &self.agent_id)?;
        if agent_id_from_key(&key.0) != id {
            return Err(ManifestError::Malformed(
                "agent_id is not keccak256(public_key)".into(),
            ));
        }
        let mut ids = std::collections::BTreeSet::new();
        for tool in &self.tools {
            if tool.id.is_empty() || !ids.insert(tool.id.as_str()) {
                return Err(ManifestError::Malformed(format!(
                    "tool id {:?} empty or duplicated",
                    tool.id
                )));
            }
        }
        Ok(key.0)
    }
}

impl SignedManifest {
    /// Signs `manifest` with the agent's key (the manifest must carry that key).
    pub fn sign(manifest: ToolManifest, key: &SigningKey) -> Result<Self, ManifestError> {
        let public = manifest.validate()?;
        if public != key.verifying_key().to_bytes() {
            return Err(ManifestError::Malformed(
                "signing key is not the manifest's public_key".into(),
            ));
        }
        let signature = key.sign(&canonical_bytes(&manifest)?);
        Ok(Self {
            manifest,
            signature: format!("0x{}", hex::encode(signature.to_bytes())),
        })
    }

    /// Parses a signed manifest strictly (no duplicate keys, no unknown fields).
    pub fn from_json(text: &str) -> Result<Self, ManifestError> {
        let value = ves::canonical::parse_strict(text).map_err(malformed)?;
        Self::from_value(value)
    }

    /// Converts an already parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, ManifestError> {
        serde_json::from_value(value).map_err(malformed)
    }

    /// Hash of the signed manifest (see module docs).
    pub fn hash(&self) -> Result<Bytes32, ManifestError> {
        manifest_hash(&self.manifest)
    }
}

/// Verifies `signed` against the registry record: well-formed, the manifest's key is
/// `expected_key`, its hash is `expected_hash`, and the signature verifies. Returns the hash.
pub fn verify(
    signed: &SignedManifest,
    expected_hash: &Bytes32,
    expected_key: &Bytes32,
) -> Result<Bytes32, ManifestError> {
    let key = signed.manifest.validate()?;
    let sig_hex = signed
        .signature
        .strip_prefix("0x")
        .ok_or_else(|| ManifestError::Malformed("signature must be 0x-prefixed hex".into()))?;
    let mut sig = [0u8; 64];
    hex::decode_to_slice(sig_hex, &mut sig)
        .map_err(|e| ManifestError::Malformed(format!("signature: {e}")))?;
    if key != expected_key.0 {
        return Err(ManifestError::KeyMismatch {
            expected: *expected_key,
            found: signed.manifest.public_key.clone(),
        });
    }
    let bytes = canonical_bytes(&signed.manifest)?;
    let mut computed = [0u8; 32];
    computed.copy_from_slice(&Sha256::digest(&bytes));
    let computed = Bytes32(computed);
    if computed != *expected_hash {
        return Err(ManifestError::HashMismatch {
            expected: *expected_hash,
            computed,
        });
    }
    let verifying = VerifyingKey::from_bytes(&key).map_err(|_| ManifestError::BadSignature)?;
    // `verify_strict` also rejects malleable signatures and weak keys.
    verifying
        .verify_strict(&bytes, &Signature::from_bytes(&sig))
        .map_err(|_| ManifestError::BadSignature)?;
    Ok(computed)
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
