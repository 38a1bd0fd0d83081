use blueprint_sdk::runner::config::{
    BlueprintCliCoreSettings, BlueprintEnvironment, BlueprintSettings, ContextConfig,
};
use clap::{Parser, Subcommand};
use operator::runner::OperatorArgs;

/// The agent-instance operator: one Docker sandbox per Tangle service, eight jobs.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the blueprint (standalone with --test-mode, or under blueprint-manager).
    Run {
        #[command(flatten)]
        sdk: Box<BlueprintSettings>,
        #[command(flatten)]
        operator: Box<OperatorArgs>,
    },
    /// Check that the Docker engine answers, then exit.
    CheckDocker,
    /// Import the operator's ECDSA private key (hex, read from stdin) into a keystore dir.
    ImportKey {
        #[arg(long)]
        keystore: std::path::PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match Cli::parse().command {
        Command::CheckDocker => {
            let docker = operator::docker::connect(operator::docker::DEFAULT_TIMEOUT).await?;
            let v = docker.version().await?;
            println!(
                "docker engine {} (API {})",
                v.version.unwrap_or_default(),
                v.api_version.unwrap_or_default()
            );
            Ok(())
        }
        Command::ImportKey { keystore } => {
            let mut key = String::new();
            std::io::stdin().read_line(&mut key)?;
            let address = operator::keystore::import_key(&keystore, &key)?;
            println!("{address:#x}");
            Ok(())
        }
        Command::Run { sdk, operator } => {
            let env = BlueprintEnvironment::load_with_config(ContextConfig {
                blueprint_core_settings: BlueprintCliCoreSettings::Run(*sdk),
            })?;
            operator::runner::run(env, *operator).await?;
            Ok(())
        }
    }
}
