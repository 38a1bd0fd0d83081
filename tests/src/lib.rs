//! Shared helpers for the end-to-end tests: locating the sandbox image, making the SDK's
//! anvil harness work with the local Docker engine, and small HTTP waits.

pub mod docker_shim;
pub mod sandbox;

use std::path::PathBuf;

/// The sandbox image the tests run: `SANDBOX_IMAGE`, else the tag `script/build-image.sh`
/// recorded. Fails with a clear message when neither exists.
pub fn sandbox_image() -> anyhow::Result<String> {
    if let Ok(tag) = std::env::var("SANDBOX_IMAGE") {
        if !tag.is_empty() {
            return Ok(tag);
        }
    }
    let file = cache_dir().join("sandbox-image");
    match std::fs::read_to_string(&file) {
        Ok(tag) if !tag.trim().is_empty() => Ok(tag.trim().to_string()),
        _ => anyhow::bail!(
            "no sandbox image: set SANDBOX_IMAGE or run script/setup.sh (expected {})",
            file.display()
        ),
    }
}

/// `$AGENT_CACHE_DIR`, else `~/.cache/agent-instance` (as in script/lib/common.sh).
pub fn cache_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("AGENT_CACHE_DIR") {
        return dir.into();
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/agent-instance")
}
