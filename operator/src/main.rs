use clap::Parser;

/// The agent-instance operator.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Check that the Docker engine answers, then exit.
    #[arg(long)]
    check_docker: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let cli = Cli::parse();
    if cli.check_docker {
        let docker = operator::docker::connect(operator::docker::DEFAULT_TIMEOUT).await?;
        let v = docker.version().await?;
        println!(
            "docker engine {} (API {})",
            v.version.unwrap_or_default(),
            v.api_version.unwrap_or_default()
        );
        return Ok(());
    }
    anyhow::bail!("no command given; see --help")
}
