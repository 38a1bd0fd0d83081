//! The operator processes of the devnet: one `operator run --test-mode` each, with its own
//! keystore, data directory, metrics port and log file, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::accounts::{STAKING, STATUS_REGISTRY, TANGLE};
use crate::service::Account;
use crate::{free_port, DevnetError};

pub struct OperatorProcess {
    pub account: Account,
    pub data_dir: PathBuf,
    pub metrics: String,
    pub log: PathBuf,
    child: Option<Child>,
}

/// What every operator of the devnet shares.
#[derive(Clone, Debug)]
pub struct OperatorEnv {
    pub binary: PathBuf,
    pub rpc: String,
    pub ws: String,
    pub blueprint_id: u64,
    pub service_id: u64,
    pub sandbox_image: String,
    pub llm_base_url: Option<String>,
    pub llm_model: Option<String>,
    pub from_block: u64,
    pub agent_registry: Option<blueprint_sdk::alloy::primitives::Address>,
}

impl OperatorProcess {
    /// Starts the operator and waits until its metrics endpoint answers (it has reconciled and
    /// is polling the chain).
    pub async fn start(
        env: &OperatorEnv,
        account: Account,
        dir: &Path,
    ) -> Result<Self, DevnetError> {
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir).map_err(|e| DevnetError::Setup(e.to_string()))?;
        let log = dir.join("operator.log");
        let metrics_port = free_port()?;
        let metrics = format!("127.0.0.1:{metrics_port}");
        let mut p = Self {
            account,
            data_dir,
            metrics,
            log,
            child: None,
        };
        p.spawn(env)?;
        p.wait_ready(Duration::from_secs(60)).await?;
        Ok(p)
    }

    fn spawn(&mut self, env: &OperatorEnv) -> Result<(), DevnetError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| DevnetError::Setup(format!("{}: {e}", self.log.display())))?;
        let err_log = log
            .try_clone()
            .map_err(|e| DevnetError::Setup(e.to_string()))?;
        let mut cmd = Command::new(&env.binary);
        cmd.args(["run", "--test-mode", "--protocol", "tangle"])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--keystore-uri")
            .arg(&self.account.keystore)
            .args(["--http-rpc-url", &env.rpc, "--ws-rpc-url", &env.ws])
            .args(["--sandbox-image", &env.sandbox_image])
            .args(["--metrics-addr", &self.metrics])
            .args(["--attestation", "development"])
            .args(["--from-block", &env.from_block.to_string()])
            .args(["--poll-interval-ms", "500"])
            .env("BLUEPRINT_ID", env.blueprint_id.to_string())
            .env("SERVICE_ID", env.service_id.to_string())
            .env("TANGLE_CONTRACT", format!("{TANGLE:#x}"))
            .env("STAKING_CONTRACT", format!("{STAKING:#x}"))
            .env("RESTAKING_CONTRACT", format!("{STAKING:#x}"))
            .env("STATUS_REGISTRY_CONTRACT", format!("{STATUS_REGISTRY:#x}"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err_log))
            .kill_on_drop(true);
        if let Some(url) = &env.llm_base_url {
            cmd.args(["--llm-base-url", url]);
        }
        if let Some(registry) = env.agent_registry {
            cmd.args(["--agent-registry", &format!("{registry:#x}")]);
            cmd.args(["--sweep-interval-secs", "5"]);
        }
        if let Some(model) = &env.llm_model {
            cmd.args(["--llm-model", model]);
        }
        let child = cmd
            .spawn()
            .map_err(|e| DevnetError::Setup(format!("operator ({}): {e}", env.binary.display())))?;
        self.child = Some(child);
        Ok(())
    }

    async fn wait_ready(&mut self, within: Duration) -> Result<(), DevnetError> {
        let http = reqwest::Client::new();
        let url = format!("http://{}/health", self.metrics);
        let start = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(DevnetError::Operator(format!(
                        "{} exited ({status}) during start-up (log: {})",
                        self.account.name,
                        self.log.display()
                    )));
                }
            }
            if http
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            if start.elapsed() > within {
                return Err(DevnetError::Operator(format!(
                    "{} not ready within {within:?} (log: {})",
                    self.account.name,
                    self.log.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the process (its sandbox keeps running, as with a real operator restart).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it again with the same keystore, data directory and ports.
    pub async fn restart(&mut self, env: &OperatorEnv) -> Result<(), DevnetError> {
        self.stop().await;
        self.spawn(env)?;
        self.wait_ready(Duration::from_secs(60)).await
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}
