//! A private anvil loaded with the SDK's seeded Tangle core snapshot (the real Tangle core
//! contracts, DESIGN decision 8), killed when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use blueprint_sdk::alloy::providers::{Provider, ProviderBuilder};
use tokio::process::{Child, Command};

use crate::{free_port, DevnetError};

pub struct Anvil {
    child: Child,
    pub port: u16,
    pub http: String,
    pub ws: String,
}

/// The seeded snapshot that ships with blueprint-sdk's chain-setup crate (or `TANGLE_SNAPSHOT`).
pub fn snapshot_path() -> Result<PathBuf, DevnetError> {
    if let Some(p) = std::env::var_os("TANGLE_SNAPSHOT") {
        return Ok(PathBuf::from(p));
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    let registry = home.join("registry/src");
    let entries = std::fs::read_dir(&registry)
        .map_err(|e| DevnetError::Setup(format!("{}: {e}", registry.display())))?;
    for index in entries.flatten() {
        let p = index
            .path()
            .join("blueprint-chain-setup-anvil-0.2.0-alpha.23/snapshots/localtestnet-state.json");
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(DevnetError::Setup(
        "the seeded Tangle snapshot was not found in the cargo registry (set TANGLE_SNAPSHOT)"
            .into(),
    ))
}

impl Anvil {
    /// Starts `anvil` (from `tools_bin`) on a free loopback port and waits for it to answer.
    pub async fn start(tools_bin: &Path, log: &Path) -> Result<Self, DevnetError> {
        let snapshot = snapshot_path()?;
        let port = free_port()?;
        let log_file = std::fs::File::create(log)
            .map_err(|e| DevnetError::Setup(format!("{}: {e}", log.display())))?;
        let child = Command::new(tools_bin.join("anvil"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--load-state",
            ])
            .arg(&snapshot)
            .args([
                "--base-fee",
                "0",
                "--gas-price",
                "0",
                "--gas-limit",
                "100000000",
            ])
            .args(["--code-size-limit", "100000", "--block-time", "1"])
            .stdout(Stdio::from(
                log_file
                    .try_clone()
                    .map_err(|e| DevnetError::Setup(e.to_string()))?,
            ))
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| DevnetError::Setup(format!("anvil ({}): {e}", tools_bin.display())))?;
        let anvil = Self {
            child,
            port,
            http: format!("http://127.0.0.1:{port}"),
            ws: format!("ws://127.0.0.1:{port}"),
        };
        let url = anvil
            .http
            .parse()
            .map_err(|e| DevnetError::Setup(format!("{e}")))?;
        let provider = ProviderBuilder::new().connect_http(url);
        let start = Instant::now();
        loop {
            if provider.get_chain_id().await.is_ok() {
                return Ok(anvil);
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(DevnetError::Setup(format!(
                    "anvil did not answer within 60 s (log: {})",
                    log.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
