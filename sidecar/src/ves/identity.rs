//! The sidecar's Ed25519 identity, persisted at `<data_dir>/sidecar.key`.
//!
//! One key, three uses, each over a domain-separated SHA-256 digest so that no signature can
//! be replayed in another role:
//!
//! * VES receipts (the sidecar *is* the sequencer): `SHA256("VES_RECEIPT_V1" || …)`;
//! * VES events of the sidecar's own actions (the sidecar is also the signing agent, key id 1
//!   registered in the embedded store): `SHA256("VES_EVENTSIG_V2" || …)`;
//! * development attestation evidence: `SHA256("AGENT_SIDECAR_DEV_ATTESTATION_V1" || JCS)`.
//!
//! A single key keeps the verifiability chain short: a TEE quote that binds this one public
//! key covers every receipt and every recorded action.
//!
//! File format: the 32-byte Ed25519 seed as 64 lowercase hex digits and a newline, mode 0600.
//! It is created atomically on first start (written to a temporary file, fsynced, then
//! hard-linked into place, which fails instead of replacing a file another process created)
//! and reused afterwards. A file that does not parse, or that other users may read, is a
//! startup error; it is never silently replaced.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use ves::Ed25519PublicKey;
use zeroize::Zeroizing;

/// File name of the key inside the data directory.
pub const KEY_FILE: &str = "sidecar.key";

/// Why the identity could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot create data directory {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    #[error("cannot read sidecar key {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("cannot create sidecar key {0}: {1}")]
    Create(PathBuf, std::io::Error),
    #[error(
        "sidecar key {0} is corrupt ({1}); refusing to start (it is never replaced automatically: \
         restore it from a backup or remove it deliberately to create a new identity)"
    )]
    Corrupt(PathBuf, String),
    #[error("sidecar key {0} is accessible by other users (mode {1:o}); expected 0600")]
    Permissions(PathBuf, u32),
}

/// The sidecar's signing key and the identifiers derived from it.
#[derive(Clone)]
pub struct Identity {
    key: SigningKey,
    path: PathBuf,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("path", &self.path)
            .field("public_key", &self.public_key())
            .finish()
    }
}

impl Identity {
    /// Loads `<data_dir>/sidecar.key`, creating it (and the directory) on first start.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, IdentityError> {
        fs::create_dir_all(data_dir).map_err(|e| IdentityError::DataDir(data_dir.into(), e))?;
        let path = data_dir.join(KEY_FILE);
        match read_key(&path)? {
            Some(key) => Ok(Self { key, path }),
            None => {
                let key = SigningKey::generate(&mut OsRng);
                match create_key(&path, &key) {
                    Ok(()) => Ok(Self { key, path }),
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let key = read_key(&path)?.ok_or_else(|| {
                            IdentityError::Corrupt(path.clone(), "vanished".into())
                        })?;
                        Ok(Self { key, path })
                    }
                    Err(e) => Err(IdentityError::Create(path, e)),
                }
            }
        }
    }

    /// The signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The public key.
    pub fn public_key(&self) -> Ed25519PublicKey {
        Ed25519PublicKey::from_signing_key(&self.key)
    }

    /// Where the key is stored.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The agent id of the sidecar in its VES stream (derived from the public key).
    pub fn agent_id(&self) -> Uuid {
        derived_uuid(
            b"agent-instance/ves/agent/v1",
            &self.public_key().to_bytes(),
        )
    }
}

/// The default tenant of every sandbox stream (a constant: "agent-instance").
pub fn default_tenant() -> Uuid {
    derived_uuid(b"agent-instance/ves/tenant/v1", b"agent-instance")
}

/// The default store of a sandbox: derived from the sidecar's public key.
pub fn default_store(public_key: &Ed25519PublicKey) -> Uuid {
    derived_uuid(b"agent-instance/ves/store/v1", &public_key.to_bytes())
}

/// A deterministic UUID (version 8, RFC 9562 "custom"): the first 16 bytes of
/// `SHA256(domain || 0x00 || data)` with the version and variant bits set.
pub fn derived_uuid(domain: &[u8], data: &[u8]) -> Uuid {
    let digest = Sha256::new()
        .chain_update(domain)
        .chain_update([0u8])
        .chain_update(data)
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

fn read_key(path: &Path) -> Result<Option<SigningKey>, IdentityError> {
    let mut file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(IdentityError::Read(path.into(), e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| IdentityError::Read(path.into(), e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(IdentityError::Permissions(path.into(), mode));
    }
    if meta.len() > 256 {
        return Err(IdentityError::Corrupt(path.into(), "file too large".into()));
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text)
        .map_err(|e| IdentityError::Corrupt(path.into(), e.to_string()))?;
    let hex_text = text.trim_end_matches('\n');
    if hex_text.len() != 64 {
        return Err(IdentityError::Corrupt(
            path.into(),
            format!("expected 64 hex digits, found {} bytes", hex_text.len()),
        ));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(hex_text, seed.as_mut())
        .map_err(|e| IdentityError::Corrupt(path.into(), e.to_string()))?;
    Ok(Some(SigningKey::from_bytes(&seed)))
}

fn create_key(path: &Path, key: &SigningKey) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let tmp = dir.join(format!(".{KEY_FILE}.{}.tmp", Uuid::new_v4().simple()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        let text = Zeroizing::new(format!("{}\n", hex::encode(key.to_bytes())));
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        drop(file);
        // `link` fails with AlreadyExists instead of replacing an existing key.
        fs::hard_link(&tmp, path)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    let _ = fs::remove_file(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = Identity::load_or_create(dir.path()).expect("create");
        let mode = fs::metadata(dir.path().join(KEY_FILE))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = Identity::load_or_create(dir.path()).expect("reload");
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(a.agent_id(), b.agent_id());
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn corrupt_key_is_an_error_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(KEY_FILE);
        for bad in ["", "zz", &"g".repeat(64), &"ab".repeat(33)] {
            fs::write(&path, bad).expect("write");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
            let err = Identity::load_or_create(dir.path()).expect_err("corrupt");
            assert!(matches!(err, IdentityError::Corrupt(..)), "{err}");
            assert_eq!(fs::read_to_string(&path).expect("read"), bad);
        }
        fs::write(&path, "ab".repeat(32)).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            Identity::load_or_create(dir.path()),
            Err(IdentityError::Permissions(..))
        ));
    }

    #[test]
    fn derived_ids_are_stable_uuids() {
        let t = default_tenant();
        assert_eq!(t, default_tenant());
        assert_eq!(t.get_version_num(), 8);
        assert_eq!(t.get_variant(), uuid::Variant::RFC4122);
    }
}
