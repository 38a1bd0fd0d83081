//! `operator run`: the blueprint runner with our sandbox manager behind the eight jobs.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use blueprint_sdk::contexts::tangle::TangleClientContext;
use blueprint_sdk::runner::config::BlueprintEnvironment;
use blueprint_sdk::runner::tangle::config::TangleConfig;
use blueprint_sdk::runner::BlueprintRunner;
use blueprint_sdk::tangle::{TangleConsumer, TangleProducer};

use crate::attestation::provider_from_name;
use crate::consumer::ResilientConsumer;
use crate::cursor::{Cursor, CursorStream};
use crate::jobs::{router, OperatorContext};
use crate::manager::SandboxManager;
use crate::metrics::Metrics;
use crate::registry::RegistryClient;
use crate::sandbox::DockerRuntime;
use crate::settings::{LlmSettings, Settings};

/// The operator's own options of `operator run` (blueprint-sdk's are flattened beside them).
#[derive(Clone, Debug, clap::Args)]
pub struct OperatorArgs {
    /// Sandbox image (built locally, never pulled). Default: the tag script/build-image.sh
    /// recorded in ~/.cache/agent-instance/sandbox-image.
    #[arg(long, env = "AGENT_SANDBOX_IMAGE")]
    pub sandbox_image: Option<String>,
    /// Further images a PROVISION request may name (comma separated).
    #[arg(long, env = "AGENT_ALLOWED_IMAGES", value_delimiter = ',')]
    pub allowed_images: Vec<String>,
    /// Host address sandbox ports are published on.
    #[arg(long, env = "AGENT_PUBLIC_HOST", default_value = "127.0.0.1")]
    pub public_host: IpAddr,
    /// Host name put into sidecar URLs (default: the public host).
    #[arg(long, env = "AGENT_ADVERTISE_HOST")]
    pub advertise_host: Option<String>,
    /// Attestation provider: none, configfs-tsm or development.
    #[arg(long, env = "AGENT_ATTESTATION", default_value = "none")]
    pub attestation: String,
    #[arg(
        long,
        env = "AGENT_TSM_ROOT",
        default_value = "/sys/kernel/config/tsm/report"
    )]
    pub tsm_root: PathBuf,
    /// OpenAI-compatible endpoint for the sandboxes' agents (the API key is read from
    /// AGENT_LLM_API_KEY only, so it never shows in a process list).
    #[arg(long, env = "AGENT_LLM_BASE_URL")]
    pub llm_base_url: Option<String>,
    #[arg(long, env = "AGENT_LLM_MODEL")]
    pub llm_model: Option<String>,
    /// Prometheus metrics and /health.
    #[arg(long, env = "AGENT_METRICS_ADDR", default_value = "127.0.0.1:9615")]
    pub metrics_addr: SocketAddr,
    /// Reconciliation and idle/lifetime sweep period.
    #[arg(long, env = "AGENT_SWEEP_INTERVAL_SECS", default_value_t = 30)]
    pub sweep_interval_secs: u64,
    #[arg(long, env = "AGENT_DEFAULT_JOB_TIMEOUT_SECS", default_value_t = 120)]
    pub default_job_timeout_secs: u64,
    #[arg(long, env = "AGENT_MAX_JOB_TIMEOUT_SECS", default_value_t = 3600)]
    pub max_job_timeout_secs: u64,
    #[arg(long, env = "AGENT_MAX_LIFETIME_SECS", default_value_t = 30 * 24 * 3600)]
    pub max_lifetime_secs: u64,
    /// Let sandboxes upload snapshots to private/loopback addresses.
    #[arg(long, env = "AGENT_SNAPSHOT_ALLOW_PRIVATE")]
    pub snapshot_allow_private: bool,
    /// First block to read job calls from (default: the latest blocks only).
    #[arg(long, env = "AGENT_FROM_BLOCK")]
    pub from_block: Option<u64>,
    /// The AgentRegistry to announce every sandbox's agent in (none: not announced).
    #[arg(long, env = "AGENT_REGISTRY")]
    pub agent_registry: Option<blueprint_sdk::alloy::primitives::Address>,
    /// Registry record lifetime (seconds; heartbeats renew it; the registry caps it at a day).
    #[arg(long, env = "AGENT_TTL_SECS", default_value_t = 3600)]
    pub agent_ttl_secs: u64,
    /// Region label put into registry records.
    #[arg(long, env = "AGENT_REGION", default_value = "")]
    pub agent_region: String,
    /// Chain polling period.
    #[arg(long, env = "AGENT_POLL_INTERVAL_MS", default_value_t = 1000)]
    pub poll_interval_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Docker(#[from] crate::docker::DockerError),
    #[error(transparent)]
    Manager(#[from] crate::manager::ManagerError),
    #[error("blueprint runner: {0}")]
    Runner(String),
    #[error("metrics server: {0}")]
    Metrics(String),
}

/// The sandbox image tag `script/build-image.sh` recorded
/// (`$AGENT_CACHE_DIR/sandbox-image`, default `~/.cache/agent-instance/sandbox-image`).
pub fn recorded_sandbox_image() -> Result<String, RunError> {
    let cache = std::env::var_os("AGENT_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(".cache/agent-instance")
        });
    let recorded = cache.join("sandbox-image");
    std::fs::read_to_string(&recorded)
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            RunError::Config(format!(
                "no sandbox image: pass --sandbox-image or build one with script/setup.sh ({} is missing)",
                recorded.display()
            ))
        })
}

/// The sandbox image: the flag, or the tag the image build recorded.
fn sandbox_image(args: &OperatorArgs) -> Result<String, RunError> {
    match &args.sandbox_image {
        Some(i) => Ok(i.clone()),
        None => recorded_sandbox_image(),
    }
}

pub fn settings_from(
    args: &OperatorArgs,
    operator: blueprint_sdk::alloy::primitives::Address,
    data_dir: PathBuf,
) -> Result<Settings, RunError> {
    let mut s = Settings::new(operator, data_dir, sandbox_image(args)?);
    s.allowed_images = args.allowed_images.clone();
    s.public_host = args.public_host;
    s.advertise_host = args
        .advertise_host
        .clone()
        .unwrap_or_else(|| args.public_host.to_string());
    s.attestation = args.attestation.clone();
    s.tsm_root = args.tsm_root.clone();
    s.llm = LlmSettings {
        base_url: args.llm_base_url.clone(),
        model: args.llm_model.clone(),
        api_key: std::env::var("AGENT_LLM_API_KEY")
            .ok()
            .filter(|k| !k.is_empty()),
    };
    s.sweep_interval = Duration::from_secs(args.sweep_interval_secs.max(1));
    s.default_job_timeout = Duration::from_secs(args.default_job_timeout_secs.max(1));
    s.max_job_timeout = Duration::from_secs(args.max_job_timeout_secs.max(1));
    s.max_lifetime = Duration::from_secs(args.max_lifetime_secs.max(60));
    s.snapshot_allow_private = args.snapshot_allow_private;
    s.agent_registry = args.agent_registry;
    s.agent_ttl = Duration::from_secs(args.agent_ttl_secs.max(60));
    s.agent_region = args.agent_region.clone();
    Ok(s)
}

/// Builds the manager (Docker, store, attestation).
pub async fn open_manager(settings: Settings) -> Result<Arc<SandboxManager>, RunError> {
    open_manager_with(settings, None).await
}

/// [`open_manager`] with the agent registry the sandboxes' agents are announced in.
pub async fn open_manager_with(
    settings: Settings,
    registry: Option<RegistryClient>,
) -> Result<Arc<SandboxManager>, RunError> {
    let docker = crate::docker::connect(settings.docker_timeout).await?;
    let runtime = DockerRuntime::new(docker, settings.docker_timeout);
    runtime
        .ensure_image(&settings.default_image)
        .await
        .map_err(|e| RunError::Config(e.to_string()))?;
    let provider = provider_from_name(&settings.attestation, &settings.tsm_root)
        .map_err(|e| RunError::Config(e.to_string()))?;
    let mut manager = SandboxManager::new(Arc::new(settings), runtime, provider)?;
    if let Some(r) = registry {
        manager = manager.with_registry(r);
    }
    Ok(Arc::new(manager))
}

/// Reconciles and sweeps on a timer, forever.
pub fn spawn_maintenance(ctx: OperatorContext) {
    let interval = ctx.manager.settings().sweep_interval;
    tokio::spawn(async move {
        loop {
            maintain(&ctx).await;
            tokio::time::sleep(interval).await;
        }
    });
}

/// One reconciliation + sweep pass, reported in logs and metrics.
pub async fn maintain(ctx: &OperatorContext) {
    match ctx.manager.reconcile().await {
        Ok(r) => {
            ctx.metrics.reconcile_action("recreated", r.recreated.len());
            ctx.metrics.reconcile_action("restarted", r.restarted.len());
            ctx.metrics
                .reconcile_action("stale_removed", r.stale_removed.len());
            ctx.metrics
                .reconcile_action("orphan_removed", r.orphans_removed.len());
            ctx.metrics.reconcile_action("failed", r.failed.len());
            let acted = !(r.recreated.is_empty()
                && r.restarted.is_empty()
                && r.stale_removed.is_empty()
                && r.orphans_removed.is_empty()
                && r.failed.is_empty());
            if acted {
                tracing::info!(report = ?r, "reconciled");
            }
        }
        Err(e) => tracing::warn!(error = %e, "reconciliation failed"),
    }
    match ctx.manager.sweep().await {
        Ok(r) => ctx.metrics.sandboxes(r.running, r.stopped),
        Err(e) => tracing::warn!(error = %e, "idle/lifetime sweep failed"),
    }
}

/// Runs the operator until the runner stops or the process gets SIGTERM / Ctrl-C.
pub async fn run(env: BlueprintEnvironment, args: OperatorArgs) -> Result<(), RunError> {
    let tangle = env
        .protocol_settings
        .tangle()
        .map_err(|e| RunError::Config(format!("{e} (set PROTOCOL=tangle and BLUEPRINT_ID)")))?
        .clone();
    if tangle.tangle_contract.is_zero() {
        return Err(RunError::Config(
            "TANGLE_CONTRACT is unset or not an address: the operator would never see a job".into(),
        ));
    }
    let service_id = tangle.service_id.ok_or_else(|| {
        RunError::Config("SERVICE_ID is not set: the operator serves one service".into())
    })?;
    let client = env.tangle_client().await.map_err(|e| {
        RunError::Config(format!("Tangle client (keystore needs one ECDSA key): {e}"))
    })?;
    let operator = client.account();
    let settings = settings_from(&args, operator, env.data_dir.clone())?;
    let metrics = Arc::new(Metrics::new().map_err(|e| RunError::Metrics(e.to_string()))?);
    let bound = crate::metrics::serve(metrics.clone(), args.metrics_addr)
        .await
        .map_err(|e| RunError::Metrics(format!("{}: {e}", args.metrics_addr)))?;
    let registry = match settings.agent_registry {
        Some(address) => {
            let wallet = client
                .wallet()
                .map_err(|e| RunError::Config(format!("operator wallet: {e}")))?;
            Some(
                RegistryClient::new(
                    env.http_rpc_endpoint.as_str(),
                    wallet,
                    operator,
                    address,
                    settings.agent_ttl,
                    settings.agent_region.clone(),
                )
                .map_err(|e| RunError::Config(e.to_string()))?,
            )
        }
        None => None,
    };
    let manager = open_manager_with(settings, registry).await?;
    let ctx = OperatorContext {
        manager,
        metrics: metrics.clone(),
    };
    maintain(&ctx).await;
    spawn_maintenance(ctx.clone());
    tracing::info!(
        operator = %operator,
        blueprint_id = tangle.blueprint_id,
        service_id,
        metrics = %bound,
        image = %ctx.manager.settings().default_image,
        "operator starting"
    );

    let poll = Duration::from_millis(args.poll_interval_ms.max(50));
    // Resume at the recorded position after a restart (calls already taken are skipped).
    let cursor = Cursor::new(&env.data_dir);
    let start = match (cursor.load(), args.from_block) {
        (Some(p), Some(b)) => Some(p.block.min(b)),
        (Some(p), None) => Some(p.block),
        (None, b) => b,
    };
    let producer = match start {
        Some(b) => TangleProducer::from_block(client.clone(), service_id, b),
        None => TangleProducer::new(client.clone(), service_id),
    }
    .with_poll_interval(poll);
    let producer = CursorStream::new(producer, cursor);
    let consumer = ResilientConsumer::new(TangleConsumer::new(client), metrics);
    let config = TangleConfig::default().with_exit_after_register(false);
    BlueprintRunner::builder(config, env)
        .router(router(ctx))
        .producer(producer)
        .consumer(consumer)
        .with_shutdown_handler(shutdown_signal())
        .run()
        .await
        .map_err(|e| RunError::Runner(e.to_string()))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down (sandboxes keep running; the next start reconciles them)");
}
