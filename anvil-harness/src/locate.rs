//! Where the anvil binary and the SDK's seeded Tangle snapshot are found.

use std::path::{Path, PathBuf};

use crate::HarnessError;

/// The crate that ships the seeded Tangle core snapshot, at the version `Cargo.lock` pins
/// (a unit test keeps the two in step).
pub const SNAPSHOT_CRATE: &str = "blueprint-chain-setup-anvil-0.2.0-alpha.23";

/// Path of the snapshot inside [`SNAPSHOT_CRATE`].
const SNAPSHOT_FILE: &str = "snapshots/localtestnet-state.json";

/// The repository's `.tools/bin` (anvil, forge, cast; installed by `script/setup.sh`).
pub fn tools_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|root| root.join(".tools/bin"))
        .unwrap_or_else(|| PathBuf::from(".tools/bin"))
}

/// The anvil binary: `$ANVIL`, else `.tools/bin/anvil` of the repository, else `anvil` on
/// `PATH`.
pub fn anvil_binary() -> Result<PathBuf, HarnessError> {
    if let Some(p) = std::env::var_os("ANVIL") {
        return Ok(PathBuf::from(p));
    }
    let local = tools_bin().join("anvil");
    if local.is_file() {
        return Ok(local);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("anvil"))
                .find(|p| p.is_file())
        })
        .ok_or_else(|| {
            HarnessError::NoBinary(format!(
                "not in $ANVIL, {} or PATH (run script/setup.sh)",
                local.display()
            ))
        })
}

/// The seeded Tangle core snapshot: `$TANGLE_SNAPSHOT`, else the copy in the cargo registry's
/// source of [`SNAPSHOT_CRATE`] (present once blueprint-sdk was built).
pub fn seeded_snapshot() -> Result<PathBuf, HarnessError> {
    if let Some(p) = std::env::var_os("TANGLE_SNAPSHOT") {
        return Ok(PathBuf::from(p));
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    let registry = home.join("registry/src");
    let entries = std::fs::read_dir(&registry).map_err(|e| HarnessError::Io {
        context: registry.display().to_string(),
        source: e,
    })?;
    for index in entries.flatten() {
        let p = index.path().join(SNAPSHOT_CRATE).join(SNAPSHOT_FILE);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(HarnessError::NoSnapshot(format!(
        "{SNAPSHOT_CRATE}/{SNAPSHOT_FILE} was not found in {} (build blueprint-sdk, or set \
         TANGLE_SNAPSHOT)",
        registry.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_crate_is_the_locked_version() {
        let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
        let text = std::fs::read_to_string(&lock).expect("Cargo.lock is readable");
        let mut lines = text.lines();
        let mut locked = None;
        while let Some(line) = lines.next() {
            if line == "name = \"blueprint-chain-setup-anvil\"" {
                locked = lines
                    .next()
                    .and_then(|v| v.strip_prefix("version = \""))
                    .and_then(|v| v.strip_suffix('"'));
                break;
            }
        }
        let locked = locked.expect("Cargo.lock pins blueprint-chain-setup-anvil");
        assert_eq!(
            SNAPSHOT_CRATE,
            format!("blueprint-chain-setup-anvil-{locked}")
        );
    }

    #[test]
    fn tools_bin_is_under_the_repository_root() {
        assert!(tools_bin().ends_with(".tools/bin"));
        assert!(tools_bin()
            .parent()
            .and_then(Path::parent)
            .is_some_and(|root| root.join("Cargo.toml").is_file()));
    }
}
