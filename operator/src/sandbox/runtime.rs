//! The Docker side of a sandbox's life: create (volumes, container), start, stop, remove,
//! inspect, list ours, commit. Every call has a timeout and a clear error.

use std::collections::HashMap;
use std::net::{IpAddr, TcpListener};
use std::time::{Duration, Instant};

use bollard::models::{ContainerConfig, VolumeCreateRequest};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, CreateContainerOptionsBuilder, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;

use super::spec::{SandboxSpec, SpecError, LABEL_MANAGED, LABEL_OPERATOR, LABEL_SERVICE};
use crate::docker::{with_timeout, DockerError};

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(
        "image {0} is not present locally (images are built, never pulled: run script/setup.sh)"
    )]
    ImageMissing(String),
    #[error("a container named {0} already exists")]
    AlreadyExists(String),
    #[error("no free port on {0}: {1}")]
    NoPort(IpAddr, std::io::Error),
    #[error("sidecar at {url} did not answer /health within {within:?}")]
    NotHealthy { url: String, within: Duration },
}

/// Coarse state of a sandbox container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxState {
    Running,
    Stopped,
    /// Created, restarting, paused, dead, removing: neither usable nor cleanly stopped.
    Other,
}

#[derive(Clone, Debug)]
pub struct SandboxStatus {
    pub id: String,
    pub name: String,
    pub state: SandboxState,
    pub service_id: Option<u64>,
    pub operator: Option<String>,
}

/// The operator's handle on the Docker engine.
#[derive(Clone)]
pub struct DockerRuntime {
    docker: Docker,
    timeout: Duration,
}

impl DockerRuntime {
    pub fn new(docker: Docker, timeout: Duration) -> Self {
        Self { docker, timeout }
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    async fn call<T>(
        &self,
        call: &'static str,
        fut: impl std::future::Future<Output = Result<T, bollard::errors::Error>>,
    ) -> Result<T, RuntimeError> {
        with_timeout(call, self.timeout, fut)
            .await?
            .map_err(|source| RuntimeError::Docker(DockerError::Call { call, source }))
    }

    /// Fails unless `image` exists locally: nothing is ever pulled.
    pub async fn ensure_image(&self, image: &str) -> Result<(), RuntimeError> {
        match with_timeout(
            "inspect_image",
            self.timeout,
            self.docker.inspect_image(image),
        )
        .await?
        {
            Ok(_) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Err(RuntimeError::ImageMissing(image.to_string())),
            Err(source) => Err(RuntimeError::Docker(DockerError::Call {
                call: "inspect_image",
                source,
            })),
        }
    }

    /// Creates the sandbox's labelled volumes and container (not started). Returns the id.
    pub async fn create(&self, spec: &SandboxSpec) -> Result<String, RuntimeError> {
        spec.check()?;
        self.ensure_image(&spec.image).await?;
        let name = spec.container_name();
        if self.status(&name).await?.is_some() {
            return Err(RuntimeError::AlreadyExists(name));
        }
        for volume in [spec.workspace_volume(), spec.state_volume()] {
            let req = VolumeCreateRequest {
                name: Some(volume),
                labels: Some(spec.labels()),
                ..Default::default()
            };
            self.call("create_volume", self.docker.create_volume(req))
                .await?;
        }
        let opts = CreateContainerOptionsBuilder::new().name(&name).build();
        let created = self
            .call(
                "create_container",
                self.docker.create_container(Some(opts), spec.create_body()),
            )
            .await?;
        Ok(created.id)
    }

    pub async fn start(&self, id: &str) -> Result<(), RuntimeError> {
        self.call("start_container", self.docker.start_container(id, None))
            .await
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub async fn stop(&self, id: &str, grace: Duration) -> Result<(), RuntimeError> {
        let secs = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let opts = StopContainerOptionsBuilder::new().t(secs).build();
        let fut = self.docker.stop_container(id, Some(opts));
        // The stop itself may take the whole grace period.
        with_timeout("stop_container", self.timeout + grace, fut)
            .await?
            .or_else(|e| match e {
                // 304: already stopped.
                bollard::errors::Error::DockerResponseServerError {
                    status_code: 304, ..
                } => Ok(()),
                source => Err(DockerError::Call {
                    call: "stop_container",
                    source,
                }),
            })?;
        Ok(())
    }

    /// Removes the container (forcefully) and, when asked, its volumes. Missing pieces are
    /// not an error: removal is idempotent.
    pub async fn remove(&self, name_or_id: &str, volumes: &[String]) -> Result<(), RuntimeError> {
        let opts = RemoveContainerOptionsBuilder::new().force(true).build();
        let res = with_timeout(
            "remove_container",
            self.timeout,
            self.docker.remove_container(name_or_id, Some(opts)),
        )
        .await?;
        ignore_not_found("remove_container", res)?;
        for v in volumes {
            let opts = RemoveVolumeOptionsBuilder::new().force(true).build();
            let res = with_timeout(
                "remove_volume",
                self.timeout,
                self.docker.remove_volume(v, Some(opts)),
            )
            .await?;
            ignore_not_found("remove_volume", res)?;
        }
        Ok(())
    }

    /// The container's status, or `None` when it does not exist.
    pub async fn status(&self, name_or_id: &str) -> Result<Option<SandboxStatus>, RuntimeError> {
        let res = with_timeout(
            "inspect_container",
            self.timeout,
            self.docker.inspect_container(name_or_id, None),
        )
        .await?;
        let info = match res {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(None),
            Err(source) => {
                return Err(DockerError::Call {
                    call: "inspect_container",
                    source,
                }
                .into())
            }
        };
        let state = info.state.as_ref();
        let running = state.and_then(|s| s.running).unwrap_or(false);
        let status = state
            .and_then(|s| s.status)
            .map(|s| s.to_string())
            .unwrap_or_default();
        let labels = info
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default();
        Ok(Some(SandboxStatus {
            id: info.id.unwrap_or_default(),
            name: info
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            state: coarse_state(running, &status),
            service_id: labels.get(LABEL_SERVICE).and_then(|s| s.parse().ok()),
            operator: labels.get(LABEL_OPERATOR).cloned(),
        }))
    }

    /// Every container carrying our managed label (running or not).
    pub async fn list_managed(&self) -> Result<Vec<SandboxStatus>, RuntimeError> {
        let filters = HashMap::from([("label", vec![format!("{LABEL_MANAGED}=true")])]);
        let opts = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .call("list_containers", self.docker.list_containers(Some(opts)))
            .await?;
        Ok(list
            .into_iter()
            .map(|c| {
                let labels = c.labels.unwrap_or_default();
                let state = c.state.map(|s| s.to_string()).unwrap_or_default();
                SandboxStatus {
                    id: c.id.unwrap_or_default(),
                    name: c
                        .names
                        .and_then(|n| n.into_iter().next())
                        .unwrap_or_default()
                        .trim_start_matches('/')
                        .to_string(),
                    state: coarse_state(state == "running", &state),
                    service_id: labels.get(LABEL_SERVICE).and_then(|s| s.parse().ok()),
                    operator: labels.get(LABEL_OPERATOR).cloned(),
                }
            })
            .collect())
    }

    /// `docker commit` of the sandbox into `repo:tag`; returns the image id.
    pub async fn commit(&self, id: &str, repo: &str, tag: &str) -> Result<String, RuntimeError> {
        let opts = CommitContainerOptionsBuilder::new()
            .container(id)
            .repo(repo)
            .tag(tag)
            .comment("agent-instance snapshot")
            .build();
        let res = self
            .call(
                "commit_container",
                self.docker
                    .commit_container(opts, ContainerConfig::default()),
            )
            .await?;
        Ok(res.id)
    }
}

/// Treats Docker's 404 as success (the thing is already gone).
fn ignore_not_found(
    call: &'static str,
    res: Result<(), bollard::errors::Error>,
) -> Result<(), RuntimeError> {
    match res {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(source) => Err(DockerError::Call { call, source }.into()),
    }
}

fn coarse_state(running: bool, status: &str) -> SandboxState {
    if running {
        SandboxState::Running
    } else if status == "exited" || status == "created" {
        SandboxState::Stopped
    } else {
        SandboxState::Other
    }
}

/// A port on `host` that is free right now (the kernel picks it). Pinned into the container's
/// port bindings so that the sandbox keeps its URL across stop/start.
pub fn free_port(host: IpAddr) -> Result<u16, RuntimeError> {
    TcpListener::bind((host, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| RuntimeError::NoPort(host, e))
}

/// Polls `{url}/health` until it answers 200 or `within` passes.
pub async fn wait_healthy(url: &str, within: Duration) -> Result<Duration, RuntimeError> {
    let start = Instant::now();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .map_err(|_| RuntimeError::NotHealthy {
            url: url.to_string(),
            within,
        })?;
    let health = format!("{url}/health");
    loop {
        if let Ok(r) = http.get(&health).send().await {
            if r.status().is_success() {
                return Ok(start.elapsed());
            }
        }
        if start.elapsed() >= within {
            return Err(RuntimeError::NotHealthy {
                url: url.to_string(),
                within,
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
