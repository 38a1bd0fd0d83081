//! The local devnet: anvil with the SDK's seeded Tangle core, our BSM deployed by the forge
//! scripts, N operator processes (each its own keystore, data directory and Docker sandbox),
//! an optional canned LLM stand-in, and the customer's flow through real on-chain jobs.
//! The `devnet` binary is the README's main job; `tests/tests/devnet_e2e.rs` runs the same
//! flow with assertions.

pub mod accounts;
pub mod anvil;
pub mod contracts;
pub mod demo;
pub mod indexer;
pub mod llm;
pub mod operators;
pub mod service;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use blueprint_sdk::alloy::providers::{Provider, ProviderBuilder};

use crate::accounts::{DEPLOYER_KEY, OPERATORS, TANGLE};
use crate::anvil::Anvil;
use crate::contracts::Deployment;
use crate::operators::{OperatorEnv, OperatorProcess};
use crate::service::Account;

#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    #[error("set-up: {0}")]
    Setup(String),
    #[error("chain: {0}")]
    Chain(String),
    #[error("operator: {0}")]
    Operator(String),
}

/// A free TCP port on loopback (the operator's own helper).
pub fn free_port() -> Result<u16, DevnetError> {
    operator::sandbox::runtime::free_port(IpAddr::from([127, 0, 0, 1]))
        .map_err(|e| DevnetError::Setup(e.to_string()))
}

/// Where the devnet finds things.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// The repository root (forge scripts, foundry.toml).
    pub root: PathBuf,
    /// `.tools/bin` (anvil, forge).
    pub tools_bin: PathBuf,
    /// The `operator` binary.
    pub operator_binary: PathBuf,
    /// The customer CLI binary (`agentctl`).
    pub cli_binary: PathBuf,
    /// The discovery index binary (`agent-indexer`).
    pub indexer_binary: PathBuf,
    pub sandbox_image: String,
    /// Working directory for keystores, data dirs and logs.
    pub work_dir: PathBuf,
    pub operators: usize,
    /// An OpenAI-compatible endpoint (as reachable from inside the sandboxes); `None` starts
    /// the canned stand-in.
    pub llm_base_url: Option<String>,
    pub llm_model: Option<String>,
}

/// A running devnet. Drop or [`Devnet::down`] stops everything it started.
pub struct Devnet {
    pub config: DevnetConfig,
    pub anvil: Anvil,
    pub deployment: Deployment,
    pub customer: Account,
    pub service_id: u64,
    pub operators: Vec<OperatorProcess>,
    pub operator_env: OperatorEnv,
    /// Set when the canned stand-in answers for the LLM.
    pub canned_llm: Option<SocketAddr>,
    /// The discovery index following the agent registry.
    pub indexer: indexer::IndexerProcess,
}

/// The address containers reach the host on (the default bridge's gateway).
pub fn docker_host_gateway() -> Result<IpAddr, DevnetError> {
    let out = std::process::Command::new("docker")
        .args([
            "network",
            "inspect",
            "bridge",
            "-f",
            "{{(index .IPAM.Config 0).Gateway}}",
        ])
        .output()
        .map_err(|e| DevnetError::Setup(format!("docker network inspect: {e}")))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| DevnetError::Setup("cannot read the Docker bridge gateway address".into()))
}

impl Devnet {
    /// Brings the whole devnet up; `progress` is told about each stage.
    pub async fn up(
        config: DevnetConfig,
        mut progress: impl FnMut(&str),
    ) -> Result<Self, DevnetError> {
        let work = &config.work_dir;
        std::fs::create_dir_all(work).map_err(|e| DevnetError::Setup(e.to_string()))?;
        progress("starting anvil with the seeded Tangle core snapshot");
        let anvil = Anvil::start(&config.tools_bin, &work.join("anvil.log")).await?;
        progress("deploying the BSM, creating the blueprint, setting job rates (forge scripts)");
        let deployment =
            contracts::deploy(&config.root, &config.tools_bin, &anvil.http, TANGLE, work).await?;

        progress("starting the discovery index (follows the agent registry)");
        let indexer = indexer::IndexerProcess::start(
            &config.indexer_binary,
            &anvil.http,
            deployment.registry,
            &work.join("indexer.log"),
        )
        .await?;
        let customer = Account::create("customer", DEPLOYER_KEY, &work.join("customer"))?;
        let accounts = OPERATORS
            .iter()
            .take(config.operators)
            .map(|(name, key)| {
                Account::create(name, key, &work.join(name))
                    .map(|a| (a, format!("http://{name}.operator.local")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if accounts.len() < config.operators {
            return Err(DevnetError::Setup(format!(
                "the seeded chain has {} staked operators; {} requested",
                OPERATORS.len(),
                config.operators
            )));
        }
        progress("registering operators, requesting and approving the service");
        let service_id = service::create_service(
            &anvil.http,
            &anvil.ws,
            deployment.blueprint_id,
            &customer,
            &accounts,
        )
        .await?;

        let (llm_base_url, canned_llm) = match &config.llm_base_url {
            Some(url) => (Some(url.clone()), None),
            None => {
                progress("starting the canned LLM stand-in (offline demo)");
                let gateway = docker_host_gateway()?;
                let bound = llm::serve(SocketAddr::new(gateway, 0))
                    .await
                    .map_err(|e| DevnetError::Setup(format!("LLM stand-in on {gateway}: {e}")))?;
                (Some(format!("http://{bound}/v1")), Some(bound))
            }
        };
        let provider = ProviderBuilder::new().connect_http(
            anvil
                .http
                .parse()
                .map_err(|e| DevnetError::Setup(format!("{e}")))?,
        );
        let from_block = provider
            .get_block_number()
            .await
            .map_err(|e| DevnetError::Chain(e.to_string()))?;
        let operator_env = OperatorEnv {
            binary: config.operator_binary.clone(),
            rpc: anvil.http.clone(),
            ws: anvil.ws.clone(),
            blueprint_id: deployment.blueprint_id,
            service_id,
            sandbox_image: config.sandbox_image.clone(),
            llm_base_url,
            llm_model: config
                .llm_model
                .clone()
                .or_else(|| canned_llm.map(|_| llm::MODEL.to_string())),
            from_block,
            agent_registry: Some(deployment.registry),
        };
        let mut operators = Vec::new();
        for (account, _) in accounts {
            progress(&format!(
                "starting operator {} ({:#x})",
                account.name, account.address
            ));
            let dir = work.join(&account.name);
            operators.push(OperatorProcess::start(&operator_env, account, &dir).await?);
        }
        Ok(Self {
            config,
            anvil,
            deployment,
            customer,
            service_id,
            operators,
            operator_env,
            canned_llm,
            indexer,
        })
    }

    /// Stops the operators and anvil and removes every sandbox container and volume of this
    /// devnet's operators.
    pub async fn down(mut self) {
        for op in &mut self.operators {
            op.stop().await;
        }
        for op in &self.operators {
            remove_sandboxes(&format!("{:#x}", op.account.address));
        }
        self.indexer.stop().await;
        self.anvil.stop().await;
    }

    pub fn logs_dir(&self) -> &Path {
        &self.config.work_dir
    }
}

/// Removes the containers and volumes labelled with `operator` (best effort, for clean-up).
pub fn remove_sandboxes(operator: &str) {
    let label = format!("label=agent-instance.operator={operator}");
    for kind in [["ps", "-aq"], ["volume", "ls"]] {
        let mut args: Vec<&str> = kind.to_vec();
        if kind[0] == "volume" {
            args.push("-q");
        }
        args.extend(["--filter", &label]);
        let Ok(out) = std::process::Command::new("docker").args(&args).output() else {
            continue;
        };
        let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let rm: &[&str] = if kind[0] == "volume" {
            &["volume", "rm", "-f"]
        } else {
            &["rm", "-f", "-v"]
        };
        let _ = std::process::Command::new("docker")
            .args(rm)
            .args(&ids)
            .output();
    }
}
