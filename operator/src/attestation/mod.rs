//! TEE attestation providers (DESIGN "Verifiability chain").
//!
//! A provider turns 64 bytes of report data into evidence. The report data binds the
//! customer's nonce and the sidecar's public key: `SHA-256(nonce || sidecar_public_key)` in the
//! first 32 bytes, zeros after. The chain stores `keccak256(evidence)` (the BSM does that from
//! the PROVISION result's `attestation` bytes).
//!
//! Providers: [`NoAttestation`] (no evidence), [`configfs_tsm::ConfigfsTsm`] (Linux
//! configfs-tsm, for TDX / SEV-SNP guests) and [`development::DevelopmentAttestation`]
//! (clearly labelled development evidence for tests — not a TEE quote).

pub mod configfs_tsm;
pub mod development;

use sha2::{Digest, Sha256};

/// Evidence returned by a provider: which provider made it, and the raw bytes that go into the
/// PROVISION result (empty for `none`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub provider: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum AttestationError {
    #[error(
        "configfs-tsm is not available at {0} (not a TDX/SEV-SNP guest, or configfs not mounted)"
    )]
    Unavailable(String),
    #[error("configfs-tsm I/O on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the TSM report changed while it was read (generation {before} -> {after}); retry")]
    Raced { before: u64, after: u64 },
    #[error("the TSM produced an empty quote")]
    EmptyQuote,
    #[error("unknown attestation provider {0:?} (expected none, configfs-tsm or development)")]
    UnknownProvider(String),
}

/// Something that produces attestation evidence for given report data.
pub trait AttestationProvider: Send + Sync {
    fn name(&self) -> &'static str;
    fn attest(&self, report_data: &[u8; 64]) -> Result<Evidence, AttestationError>;
}

/// The report data binding a customer's nonce and the sidecar's public key.
pub fn report_data(nonce: &[u8; 32], sidecar_public_key: &[u8; 32]) -> [u8; 64] {
    let mut h = Sha256::new();
    h.update(nonce);
    h.update(sidecar_public_key);
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&h.finalize());
    out
}

/// No TEE: no evidence. The chain then records a zero attestation hash.
pub struct NoAttestation;

impl AttestationProvider for NoAttestation {
    fn name(&self) -> &'static str {
        "none"
    }
    fn attest(&self, _report_data: &[u8; 64]) -> Result<Evidence, AttestationError> {
        Ok(Evidence {
            provider: "none".into(),
            bytes: Vec::new(),
        })
    }
}

/// Builds the provider named in the operator's configuration.
pub fn provider_from_name(
    name: &str,
    tsm_root: &std::path::Path,
) -> Result<Box<dyn AttestationProvider>, AttestationError> {
    match name {
        "none" => Ok(Box::new(NoAttestation)),
        "configfs-tsm" => Ok(Box::new(configfs_tsm::ConfigfsTsm::new(tsm_root)?)),
        "development" => Ok(Box::new(development::DevelopmentAttestation::generate())),
        other => Err(AttestationError::UnknownProvider(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_data_binds_nonce_and_key() {
        let a = report_data(&[1; 32], &[2; 32]);
        assert_ne!(a, report_data(&[1; 32], &[3; 32]));
        assert_ne!(a, report_data(&[9; 32], &[2; 32]));
        assert_eq!(&a[32..], &[0u8; 32]);
    }

    #[test]
    fn unknown_provider_is_refused() {
        let err = provider_from_name("sgx-magic", std::path::Path::new("/nonexistent"));
        assert!(matches!(err, Err(AttestationError::UnknownProvider(_))));
        assert_eq!(
            NoAttestation.attest(&[0; 64]).expect("none").bytes,
            Vec::<u8>::new()
        );
    }
}
