//! Start a container from the sandbox image for a test, and remove it afterwards.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use bollard::Docker;

/// A running sandbox container with its published sidecar URL. Removed on [`Self::remove`].
pub struct TestSandbox {
    pub docker: Docker,
    pub id: String,
    pub url: String,
    pub token: String,
}

impl TestSandbox {
    /// Creates and starts a container from `image` with `env`, publishing the sidecar port on
    /// loopback only.
    pub async fn start(image: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let docker = operator::docker::connect(operator::docker::DEFAULT_TIMEOUT).await?;
        let token = env
            .iter()
            .find(|(k, _)| *k == "SIDECAR_TOKEN")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        let ports = HashMap::from([(
            "8080/tcp".to_string(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(String::new()),
            }]),
        )]);
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(HashMap::from([(
                "agent-instance.test".to_string(),
                "1".to_string(),
            )])),
            host_config: Some(HostConfig {
                port_bindings: Some(ports),
                ..Default::default()
            }),
            ..Default::default()
        };
        let name = format!("agent-test-{}", uuid_like());
        let created = docker
            .create_container(
                Some(CreateContainerOptionsBuilder::new().name(&name).build()),
                body,
            )
            .await
            .context("create container")?;
        let id = created.id;
        docker
            .start_container(&id, None)
            .await
            .context("start container")?;
        let info = docker
            .inspect_container(&id, None)
            .await
            .context("inspect")?;
        let port = info
            .network_settings
            .and_then(|n| n.ports)
            .and_then(|p| p.get("8080/tcp").cloned().flatten())
            .and_then(|b| b.into_iter().find_map(|b| b.host_port))
            .context("sidecar port not published")?;
        Ok(Self {
            docker,
            id,
            url: format!("http://127.0.0.1:{port}"),
            token,
        })
    }

    /// Polls `/health` until it answers 200; returns how long that took.
    pub async fn wait_healthy(&self, within: Duration) -> anyhow::Result<Duration> {
        let start = Instant::now();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        loop {
            if let Ok(r) = http.get(format!("{}/health", self.url)).send().await {
                if r.status().is_success() {
                    return Ok(start.elapsed());
                }
            }
            if start.elapsed() > within {
                anyhow::bail!("sidecar at {} not healthy within {within:?}", self.url);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Container logs (stdout and stderr), for assertions and failure messages.
    pub async fn logs(&self) -> anyhow::Result<String> {
        use futures_util::StreamExt;
        let opts = bollard::query_parameters::LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .build();
        let mut s = self.docker.logs(&self.id, Some(opts));
        let mut out = String::new();
        while let Some(chunk) = s.next().await {
            out.push_str(&chunk?.to_string());
        }
        Ok(out)
    }

    /// Force-removes the container and its anonymous volumes.
    pub async fn remove(self) -> anyhow::Result<()> {
        self.docker
            .remove_container(
                &self.id,
                Some(
                    RemoveContainerOptionsBuilder::new()
                        .force(true)
                        .v(true)
                        .build(),
                ),
            )
            .await
            .context("remove container")
    }
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}-{}", nanos, std::process::id())
}
