//! Resolving configuration and key files.

use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use ed25519_dalek::SigningKey;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::Global;
use crate::client::outbox::Outbox;
use crate::client::VesClient;
use crate::store::StreamKey;

impl Global {
    /// The HTTP client (needs `--url` and `--api-key`).
    pub fn client(&self) -> Result<VesClient> {
        let url = self
            .url
            .as_deref()
            .ok_or_else(|| anyhow!("--url / VES_URL is required"))?;
        let key = self
            .api_key
            .as_deref()
            .ok_or_else(|| anyhow!("--api-key / VES_API_KEY is required"))?;
        Ok(VesClient::new(url, key)?)
    }

    /// `(tenant, store)`.
    pub fn stream(&self) -> Result<StreamKey> {
        Ok(StreamKey::new(
            self.tenant()?,
            self.store
                .ok_or_else(|| anyhow!("--store / VES_STORE is required"))?,
        ))
    }

    /// The tenant.
    pub fn tenant(&self) -> Result<Uuid> {
        self.tenant
            .ok_or_else(|| anyhow!("--tenant / VES_TENANT is required"))
    }

    /// The agent.
    pub fn agent(&self) -> Result<Uuid> {
        self.agent_id
            .ok_or_else(|| anyhow!("--agent-id / VES_AGENT_ID is required"))
    }

    /// The agent's signing key.
    pub fn signing_key(&self) -> Result<SigningKey> {
        read_key_file(&self.key_file)
    }

    /// The outbox.
    pub fn open_outbox(&self) -> Result<Outbox> {
        Outbox::open(&self.outbox)
            .with_context(|| format!("opening outbox {}", self.outbox.display()))
    }
}

/// Reads a seed file: 64 hex digits, optional `0x`, surrounding whitespace ignored.
pub fn read_key_file(path: &Path) -> Result<SigningKey> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("reading key file {}", path.display()))?,
    );
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix("0x").unwrap_or(trimmed);
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(digits, seed.as_mut()).with_context(|| {
        format!(
            "{}: expected 64 hex digits (an Ed25519 seed)",
            path.display()
        )
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Writes `key`'s seed to a new file with mode 0600 (refuses to overwrite unless `force`).
pub fn write_key_file(path: &Path, key: &SigningKey, force: bool) -> Result<()> {
    if force && path.exists() {
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{} exists (use --force to replace it)", path.display())
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    let text = Zeroizing::new(format!("{}\n", hex::encode(key.to_bytes())));
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}
