//! The sandbox image under the real Docker engine: the sidecar starts, answers /health,
//! enforces its token, and refuses to start without one.

use std::time::Duration;

use agent_e2e_tests::{sandbox::TestSandbox, sandbox_image};

const TOKEN: &str = "e2e-token-0123456789abcdef";

#[tokio::test]
async fn sidecar_in_the_image_serves_health_and_enforces_the_token() -> anyhow::Result<()> {
    let image = sandbox_image()?;
    let sb = TestSandbox::start(&image, &[("SIDECAR_TOKEN", TOKEN)]).await?;
    let result = async {
        let took = sb.wait_healthy(Duration::from_secs(30)).await?;
        println!("sandbox {image}: start -> /health in {took:?}");
        let http = reqwest::Client::new();
        let anon = http.get(format!("{}/v1/info", sb.url)).send().await?;
        anyhow::ensure!(anon.status() == 401, "expected 401, got {}", anon.status());
        let ok = http
            .get(format!("{}/v1/info", sb.url))
            .bearer_auth(&sb.token)
            .send()
            .await?;
        anyhow::ensure!(ok.status() == 200, "expected 200, got {}", ok.status());
        let info: serde_json::Value = ok.json().await?;
        anyhow::ensure!(info["workspace"] == "/workspace", "info: {info}");
        Ok(())
    }
    .await;
    let logs = sb.logs().await.unwrap_or_default();
    sb.remove().await?;
    result.map_err(|e| e.context(format!("container logs:\n{logs}")))
}

#[tokio::test]
async fn sidecar_refuses_to_start_without_a_token() -> anyhow::Result<()> {
    let image = sandbox_image()?;
    let sb = TestSandbox::start(&image, &[]).await?;
    let mut exited = None;
    for _ in 0..100 {
        let info = sb.docker.inspect_container(&sb.id, None).await?;
        let state = info.state.unwrap_or_default();
        if state.running != Some(true) {
            exited = state.exit_code;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logs = sb.logs().await.unwrap_or_default();
    sb.remove().await?;
    let code = exited.ok_or_else(|| anyhow::anyhow!("sidecar kept running without a token"))?;
    anyhow::ensure!(code != 0, "exit code {code}");
    anyhow::ensure!(logs.contains("SIDECAR_TOKEN is not set"), "logs: {logs}");
    Ok(())
}
