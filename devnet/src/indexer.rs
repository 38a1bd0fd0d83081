//! The discovery index process of the devnet (`agent-indexer`), following the registry.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use blueprint_sdk::alloy::primitives::Address;
use tokio::process::{Child, Command};

use crate::{free_port, DevnetError};

pub struct IndexerProcess {
    pub url: String,
    pub log: PathBuf,
    binary: PathBuf,
    rpc: String,
    registry: Address,
    port: u16,
    child: Option<Child>,
}

impl IndexerProcess {
    pub async fn start(
        binary: &Path,
        rpc: &str,
        registry: Address,
        log: &Path,
    ) -> Result<Self, DevnetError> {
        let port = free_port()?;
        let mut p = Self {
            url: format!("http://127.0.0.1:{port}"),
            log: log.to_path_buf(),
            binary: binary.to_path_buf(),
            rpc: rpc.to_string(),
            registry,
            port,
            child: None,
        };
        p.spawn().await?;
        Ok(p)
    }

    async fn spawn(&mut self) -> Result<(), DevnetError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| DevnetError::Setup(format!("{}: {e}", self.log.display())))?;
        let err = log
            .try_clone()
            .map_err(|e| DevnetError::Setup(e.to_string()))?;
        let child = Command::new(&self.binary)
            .args([
                "--rpc-url",
                &self.rpc,
                "--registry",
                &format!("{:#x}", self.registry),
            ])
            .args(["--confirmations", "1", "--poll-ms", "500"])
            // Verified manifests survive a restart (the index still checks each one).
            .arg("--cache-dir")
            .arg(self.log.with_file_name("index-manifests"))
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                DevnetError::Setup(format!("agent-indexer ({}): {e}", self.binary.display()))
            })?;
        self.child = Some(child);
        let http = reqwest::Client::new();
        let start = Instant::now();
        let probe = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "discover_query", "params": [{}]});
        loop {
            if http.post(&self.url).json(&probe).send().await.is_ok() {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(30) {
                return Err(DevnetError::Setup(format!(
                    "the discovery index did not answer (log: {})",
                    self.log.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Restarts it: the index is rebuilt from the chain history.
    pub async fn restart(&mut self) -> Result<(), DevnetError> {
        self.stop().await;
        self.spawn().await
    }

    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
    }
}
