//! Attestation evidence binding a customer's nonce to the sidecar's public key.
//!
//! `report_data = SHA256(nonce[32] || sidecar_public_key[32])` — what a TEE quote's report
//! data must contain. Providers (`SIDECAR_ATTESTATION`):
//!
//! * `none` (default): no evidence, only the key and `report_data`;
//! * `dev`: **development evidence, not a TEE quote** — a JSON object labelled
//!   `"provider":"development"` signed by the sidecar key itself over
//!   `SHA256("AGENT_SIDECAR_DEV_ATTESTATION_V1" || JCS(evidence))`. It proves only that the
//!   holder of the key answered this nonce; use it in tests.
//!
//! Real TEE evidence (configfs-tsm TDX/SEV-SNP quotes) is produced by the operator.

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use ves::encoding::serde_uuid;
use ves::{Ed25519PublicKey, Hash32, Sig64};

/// Domain prefix of development evidence signatures.
pub const DEV_EVIDENCE_DOMAIN: &[u8] = b"AGENT_SIDECAR_DEV_ATTESTATION_V1";

/// Label of development evidence.
pub const DEV_PROVIDER: &str = "development";

/// Which attestation provider the sidecar uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttestationProvider {
    /// No evidence.
    #[default]
    None,
    /// Self-signed development evidence (not a TEE quote).
    Dev,
}

impl AttestationProvider {
    /// Parses `none` / `dev`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(Self::None),
            "dev" | "development" => Ok(Self::Dev),
            other => Err(format!("unknown provider {other:?} (expected none or dev)")),
        }
    }

    /// Name shown in responses.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Dev => DEV_PROVIDER,
        }
    }
}

/// `SHA256(nonce || public_key)`.
pub fn report_data(nonce: &[u8; 32], public_key: &Ed25519PublicKey) -> Hash32 {
    Hash32(
        Sha256::new()
            .chain_update(nonce)
            .chain_update(public_key.to_bytes())
            .finalize()
            .into(),
    )
}

/// The signed body of development evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevEvidenceBody {
    /// Always `"development"`.
    pub provider: String,
    /// Reminder that this is not hardware evidence.
    pub notice: String,
    /// The customer's nonce.
    pub nonce: Hash32,
    /// The sidecar's public key.
    pub public_key: Ed25519PublicKey,
    /// `SHA256(nonce || public_key)`.
    pub report_data: Hash32,
    /// VES tenant of the sandbox stream.
    #[serde(with = "serde_uuid")]
    pub tenant_id: Uuid,
    /// VES store of the sandbox stream.
    #[serde(with = "serde_uuid")]
    pub store_id: Uuid,
    /// RFC 3339 issue time.
    pub issued_at: String,
}

/// Development evidence: body plus the sidecar key's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevEvidence {
    /// What is signed.
    pub body: DevEvidenceBody,
    /// `Ed25519(sk, SHA256(DEV_EVIDENCE_DOMAIN || JCS(body)))`.
    pub signature: Sig64,
}

/// Why development evidence does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EvidenceError {
    #[error("evidence is not labelled as development evidence")]
    Provider,
    #[error("evidence names another key or nonce")]
    Binding,
    #[error("report_data is not SHA256(nonce || public_key)")]
    ReportData,
    #[error("cannot canonicalise the evidence: {0}")]
    Canonical(String),
    #[error("signature does not verify")]
    Signature,
}

fn digest(body: &DevEvidenceBody) -> Result<Hash32, EvidenceError> {
    let value: Value =
        serde_json::to_value(body).map_err(|e| EvidenceError::Canonical(e.to_string()))?;
    let jcs = ves::canonicalize(&value).map_err(|e| EvidenceError::Canonical(e.to_string()))?;
    Ok(Hash32(
        Sha256::new()
            .chain_update(DEV_EVIDENCE_DOMAIN)
            .chain_update(jcs.as_bytes())
            .finalize()
            .into(),
    ))
}

/// Issues development evidence for `nonce`.
pub fn issue_dev(
    key: &SigningKey,
    nonce: &[u8; 32],
    tenant_id: Uuid,
    store_id: Uuid,
) -> Result<DevEvidence, EvidenceError> {
    let public_key = Ed25519PublicKey::from_signing_key(key);
    let body = DevEvidenceBody {
        provider: DEV_PROVIDER.to_owned(),
        notice: "development evidence signed by the sidecar key itself; NOT a TEE quote".into(),
        nonce: Hash32(*nonce),
        public_key,
        report_data: report_data(nonce, &public_key),
        tenant_id,
        store_id,
        issued_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let signature = ves::keys::sign_digest(key, &digest(&body)?);
    Ok(DevEvidence { body, signature })
}

/// Verifies development evidence against the expected nonce and public key.
pub fn verify_dev(
    evidence: &DevEvidence,
    nonce: &[u8; 32],
    public_key: &Ed25519PublicKey,
) -> Result<(), EvidenceError> {
    let body = &evidence.body;
    if body.provider != DEV_PROVIDER {
        return Err(EvidenceError::Provider);
    }
    if body.nonce.0 != *nonce || body.public_key != *public_key {
        return Err(EvidenceError::Binding);
    }
    if body.report_data != report_data(nonce, public_key) {
        return Err(EvidenceError::ReportData);
    }
    public_key
        .verify_strict(digest(body)?.as_bytes(), &evidence.signature)
        .map_err(|_| EvidenceError::Signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_evidence_round_trip() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let pk = Ed25519PublicKey::from_signing_key(&key);
        let nonce = [9u8; 32];
        let ev = issue_dev(&key, &nonce, Uuid::nil(), Uuid::nil()).expect("issue");
        verify_dev(&ev, &nonce, &pk).expect("verifies");
        assert_eq!(verify_dev(&ev, &[8; 32], &pk), Err(EvidenceError::Binding));
        let mut forged = ev.clone();
        forged.body.issued_at = "2000-01-01T00:00:00Z".into();
        assert_eq!(
            verify_dev(&forged, &nonce, &pk),
            Err(EvidenceError::Signature)
        );
        assert_eq!(
            AttestationProvider::parse("dev"),
            Ok(AttestationProvider::Dev)
        );
        assert!(AttestationProvider::parse("tdx").is_err());
    }
}
