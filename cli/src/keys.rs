//! The customer's X25519 key pair: PROVISION carries the public key, the operators seal the
//! sidecar access token to it, and `open-access` opens the tokens with the secret key.
//!
//! File format (JSON, mode 0600):
//! `{"kind": "agent-instance/customer-x25519/v1", "public_key": "0x…", "secret_key": "0x…"}`.

use std::fmt;
use std::io::Write;
use std::path::Path;

use agent_types::sealing::generate_customer_keypair;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The `kind` tag of a key file.
pub const KEY_FILE_KIND: &str = "agent-instance/customer-x25519/v1";

/// A customer key pair. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct CustomerKey {
    secret: [u8; 32],
    public: [u8; 32],
}

impl fmt::Debug for CustomerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CustomerKey(public 0x{}, secret <redacted>)",
            hex::encode(self.public)
        )
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    kind: String,
    public_key: String,
    secret_key: String,
}

/// Parses exactly 32 bytes of hex (optional `0x`).
pub fn parse_hex32(text: &str, what: &str) -> Result<[u8; 32]> {
    let digits = text.trim();
    let digits = digits.strip_prefix("0x").unwrap_or(digits);
    let bytes = hex::decode(digits).map_err(|e| Error::input(format!("{what}: not hex: {e}")))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| Error::input(format!("{what}: expected 32 bytes, got {}", bytes.len())))
}

impl CustomerKey {
    /// A fresh key pair.
    pub fn generate() -> Self {
        let (secret, public) = generate_customer_keypair();
        Self { secret, public }
    }

    /// The public key (goes into PROVISION).
    pub fn public(&self) -> [u8; 32] {
        self.public
    }

    /// The secret key (opens sealed tokens).
    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// Writes the key file with mode 0600; refuses to overwrite unless `force`.
    pub fn write(&self, path: &Path, force: bool) -> Result<()> {
        let doc = KeyFile {
            kind: KEY_FILE_KIND.into(),
            public_key: format!("0x{}", hex::encode(self.public)),
            secret_key: format!("0x{}", hex::encode(self.secret)),
        };
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::Inconsistent(format!("key file does not serialise: {e}")))?;
        write_private(path, text.as_bytes(), force)
    }

    /// Reads a key file written by [`CustomerKey::write`].
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let doc: KeyFile = serde_json::from_str(&text).map_err(|e| {
            Error::input(format!("{}: not a customer key file: {e}", path.display()))
        })?;
        if doc.kind != KEY_FILE_KIND {
            return Err(Error::input(format!(
                "{}: unknown key file kind {:?}",
                path.display(),
                doc.kind
            )));
        }
        let secret = parse_hex32(&doc.secret_key, "secret_key")?;
        let public = parse_hex32(&doc.public_key, "public_key")?;
        let key = Self { secret, public };
        key.check()?;
        Ok(key)
    }

    /// Checks that the public key belongs to the secret key (a seal/open round trip).
    fn check(&self) -> Result<()> {
        use agent_types::sealing::{open_access, seal_access};
        let probe = b"key-check";
        let sealed = seal_access(&self.public, 0, &[0u8; 20], probe)
            .map_err(|e| Error::input(format!("public key: {e}")))?;
        match open_access(&self.secret, 0, &[0u8; 20], &sealed) {
            Ok(opened) if opened == probe => Ok(()),
            _ => Err(Error::input(
                "the key file's public key does not belong to its secret key",
            )),
        }
    }
}

/// Writes `bytes` to a new file readable only by the owner (mode 0600 on Unix).
pub fn write_private(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::input(format!(
                "{} exists; use --force to overwrite",
                path.display()
            ))
        } else {
            Error::io(path, e)
        }
    })?;
    #[cfg(unix)]
    {
        // An existing file keeps its mode on truncate: tighten it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(path, e))?;
    }
    file.write_all(bytes).map_err(|e| Error::io(path, e))?;
    file.write_all(b"\n").map_err(|e| Error::io(path, e))?;
    Ok(())
}
