//! `devnet`: the README's main job. Brings up anvil with the seeded Tangle core, our BSM,
//! three operator processes with their sandboxes, then runs the customer's flow through real
//! on-chain jobs, prints what happened, and cleans up. Exits non-zero on any failure.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use devnet::{Devnet, DevnetConfig};

#[derive(Parser)]
#[command(about)]
struct Args {
    /// Number of operators (the seeded chain stakes three).
    #[arg(long, default_value_t = 3)]
    operators: usize,
    /// The repository root.
    #[arg(long, env = "AGENT_ROOT", default_value = ".")]
    root: PathBuf,
    /// The operator binary (default: next to this binary).
    #[arg(long, env = "AGENT_OPERATOR_BIN")]
    operator_bin: Option<PathBuf>,
    /// The customer CLI (default: next to this binary).
    #[arg(long, env = "AGENT_CLI_BIN")]
    cli_bin: Option<PathBuf>,
    /// Sandbox image (default: the tag recorded by script/build-image.sh).
    #[arg(long, env = "SANDBOX_IMAGE")]
    sandbox_image: Option<String>,
    /// An OpenAI-compatible endpoint reachable from inside the sandboxes; without it a canned
    /// stand-in answers (and the output says so).
    #[arg(long, env = "DEVNET_LLM_BASE_URL")]
    llm_base_url: Option<String>,
    #[arg(long, env = "DEVNET_LLM_MODEL")]
    llm_model: Option<String>,
    /// Working directory for keystores, data and logs (default: a fresh temporary one).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep everything running after the demo until Ctrl-C.
    #[arg(long)]
    keep: bool,
}

fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    Ok(me.with_file_name(name))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_target(false)
        .init();
    let args = Args::parse();
    let started = Instant::now();
    let root = args.root.canonicalize().context("repository root")?;
    let work_dir = match &args.work_dir {
        Some(d) => d.clone(),
        None => tempfile::Builder::new()
            .prefix("agent-devnet-")
            .tempdir()?
            .keep(),
    };
    let sandbox_image = match args.sandbox_image.clone() {
        Some(i) => i,
        None => operator::runner::recorded_sandbox_image()?,
    };
    let config = DevnetConfig {
        tools_bin: root.join(".tools/bin"),
        root,
        operator_binary: args
            .operator_bin
            .clone()
            .map_or_else(|| sibling("operator"), Ok)?,
        indexer_binary: sibling("agent-indexer")?,
        cli_binary: args
            .cli_bin
            .clone()
            .map_or_else(|| sibling("agentctl"), Ok)?,
        sandbox_image,
        work_dir: work_dir.clone(),
        operators: args.operators,
        llm_base_url: args.llm_base_url.clone(),
        llm_model: args.llm_model.clone(),
    };
    println!(
        "devnet working directory (logs, keystores): {}",
        work_dir.display()
    );
    let net = Devnet::up(config, |stage| println!("==> {stage}")).await?;
    println!(
        "up in {:.1} s: anvil {} · BSM {:#x} · blueprint {} · service {} · {} operators",
        started.elapsed().as_secs_f64(),
        net.anvil.http,
        net.deployment.bsm,
        net.deployment.blueprint_id,
        net.service_id,
        net.operators.len()
    );
    let outcome = devnet::demo::run(&net, true).await.map(|_| ());
    if args.keep {
        println!("kept running; Ctrl-C to stop and clean up");
        let _ = tokio::signal::ctrl_c().await;
    }
    net.down().await;
    println!(
        "cleaned up (operators, anvil, sandboxes); total {:.1} s",
        started.elapsed().as_secs_f64()
    );
    outcome
}
