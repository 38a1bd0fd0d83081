use anyhow::Context;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("SIDECAR_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .json()
        .init();
    let config = sidecar::Config::from_env().context("invalid sidecar configuration")?;
    tracing::info!(?config, "starting");
    sidecar::serve(config)
        .await
        .context("sidecar server failed")
}
