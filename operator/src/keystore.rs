//! `operator import-key`: puts the operator's ECDSA key into a blueprint-sdk keystore
//! directory (the layout the runner and blueprint-manager read). The key is read from stdin,
//! never from the command line, so it does not show in a process list.

use std::path::Path;

use blueprint_sdk::alloy::primitives::Address;
use blueprint_sdk::crypto::k256::{K256Ecdsa, K256SigningKey};
use blueprint_sdk::crypto::{BytesEncoding, KeyType};
use blueprint_sdk::keystore::backends::Backend;
use blueprint_sdk::keystore::{Keystore, KeystoreConfig};

#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    #[error("the private key must be 32 bytes of hex (64 digits, optional 0x)")]
    BadKey,
    #[error("keystore {0}: {1}")]
    Keystore(String, String),
}

/// Imports `hex_key` into the keystore at `dir` (created if missing); returns the address.
/// Refuses a keystore that already holds a different ECDSA key: the runner needs exactly one.
pub fn import_key(dir: &Path, hex_key: &str) -> Result<Address, KeystoreError> {
    let text = hex_key.trim();
    let text = text.strip_prefix("0x").unwrap_or(text);
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text, &mut bytes).map_err(|_| KeystoreError::BadKey)?;
    let key = K256SigningKey::from_bytes(&bytes).map_err(|_| KeystoreError::BadKey)?;
    let address = key.alloy_address().map_err(|_| KeystoreError::BadKey)?;
    let ks_err = |e: &dyn std::fmt::Display| {
        KeystoreError::Keystore(dir.display().to_string(), e.to_string())
    };
    let keystore = Keystore::new(KeystoreConfig::new().fs_root(dir)).map_err(|e| ks_err(&e))?;
    let existing = keystore.list_local::<K256Ecdsa>().map_err(|e| ks_err(&e))?;
    let public = K256Ecdsa::public_from_secret(&key);
    if existing.iter().any(|k| *k != public) {
        return Err(ks_err(
            &"already holds a different ECDSA key (the runner needs exactly one)",
        ));
    }
    if existing.is_empty() {
        keystore.insert::<K256Ecdsa>(&key).map_err(|e| ks_err(&e))?;
    }
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    #[test]
    fn imports_once_and_refuses_a_second_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = import_key(dir.path(), &format!("0x{KEY}")).expect("import");
        assert_eq!(
            format!("{a:#x}"),
            "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
        );
        assert_eq!(import_key(dir.path(), KEY).expect("idempotent"), a);
        let other = "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
        assert!(matches!(
            import_key(dir.path(), other),
            Err(KeystoreError::Keystore(..))
        ));
        assert!(matches!(
            import_key(dir.path(), "zz"),
            Err(KeystoreError::BadKey)
        ));
    }
}
