//! A clearly named development provider for tests and local devnets: JSON evidence signed by
//! an ephemeral Ed25519 key, labelled `"provider": "development"`. It proves nothing about
//! hardware; it exercises the same code paths (report data binding, hashing on chain).

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};

use super::{AttestationError, AttestationProvider, Evidence};

pub const PROVIDER: &str = "development";

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct DevEvidence {
    pub provider: String,
    pub warning: String,
    pub report_data: String,
    pub key: String,
    pub signature: String,
}

pub struct DevelopmentAttestation {
    key: SigningKey,
}

impl DevelopmentAttestation {
    pub fn generate() -> Self {
        Self {
            key: SigningKey::generate(&mut OsRng),
        }
    }

    /// Checks evidence made by this provider: the signature over the report data, and that the
    /// report data is the expected one.
    pub fn verify(bytes: &[u8], expected_report_data: &[u8; 64]) -> bool {
        let Ok(ev) = serde_json::from_slice::<DevEvidence>(bytes) else {
            return false;
        };
        let (Ok(key), Ok(sig), Ok(rd)) = (
            hex::decode(&ev.key),
            hex::decode(&ev.signature),
            hex::decode(&ev.report_data),
        ) else {
            return false;
        };
        let (Ok(key), Ok(sig)) = (<[u8; 32]>::try_from(key), <[u8; 64]>::try_from(sig)) else {
            return false;
        };
        let Ok(vk) = VerifyingKey::from_bytes(&key) else {
            return false;
        };
        ev.provider == PROVIDER
            && rd == expected_report_data.as_slice()
            && vk
                .verify(&rd, &ed25519_dalek::Signature::from_bytes(&sig))
                .is_ok()
    }
}

impl AttestationProvider for DevelopmentAttestation {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn attest(&self, report_data: &[u8; 64]) -> Result<Evidence, AttestationError> {
        let ev = DevEvidence {
            provider: PROVIDER.into(),
            warning: "development evidence: not produced by a TEE".into(),
            report_data: hex::encode(report_data),
            key: hex::encode(self.key.verifying_key().to_bytes()),
            signature: hex::encode(self.key.sign(report_data).to_bytes()),
        };
        Ok(Evidence {
            provider: PROVIDER.into(),
            bytes: serde_json::to_vec(&ev).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_binds_the_report_data() {
        let p = DevelopmentAttestation::generate();
        let rd = super::super::report_data(&[1; 32], &[2; 32]);
        let ev = p.attest(&rd).expect("evidence");
        assert!(DevelopmentAttestation::verify(&ev.bytes, &rd));
        let other = super::super::report_data(&[1; 32], &[3; 32]);
        assert!(!DevelopmentAttestation::verify(&ev.bytes, &other));
        let mut tampered = ev.bytes.clone();
        let n = tampered.len() - 5;
        tampered[n] ^= 1;
        assert!(!DevelopmentAttestation::verify(&tampered, &rd));
        assert!(String::from_utf8_lossy(&ev.bytes).contains("not produced by a TEE"));
    }
}
