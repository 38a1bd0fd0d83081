//! Connection to the Docker engine, with API-version negotiation and a timeout on every call.
//!
//! Debian's `docker.io` (20.10, API 1.41) is older than bollard's default API version; without
//! negotiation every call fails with "client version is too new".

use std::time::Duration;

use bollard::Docker;

/// Default timeout of a single Docker API call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot reach the Docker engine ({context}): {source}. Is dockerd running? (script/setup.sh starts it)")]
    Unreachable {
        context: &'static str,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("Docker call `{call}` timed out after {timeout:?}")]
    Timeout {
        call: &'static str,
        timeout: Duration,
    },
    #[error("Docker call `{call}` failed: {source}")]
    Call {
        call: &'static str,
        #[source]
        source: bollard::errors::Error,
    },
}

/// Connects to the local engine (DOCKER_HOST or the default socket), negotiates the API
/// version down to what the daemon speaks and checks that it answers.
pub async fn connect(timeout: Duration) -> Result<Docker, DockerError> {
    let docker = Docker::connect_with_local_defaults()
        .map_err(|source| DockerError::Unreachable {
            context: "connect",
            source,
        })?
        .with_timeout(timeout);
    let docker = with_timeout("negotiate_version", timeout, docker.negotiate_version())
        .await?
        .map_err(|source| DockerError::Unreachable {
            context: "version",
            source,
        })?;
    with_timeout("ping", timeout, docker.ping())
        .await?
        .map_err(|source| DockerError::Unreachable {
            context: "ping",
            source,
        })?;
    Ok(docker)
}

/// Runs one Docker call with a deadline.
pub async fn with_timeout<T>(
    call: &'static str,
    timeout: Duration,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, DockerError> {
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| DockerError::Timeout { call, timeout })
}

/// Maps a bollard error of `call` into a [`DockerError`].
pub fn call_error(call: &'static str) -> impl FnOnce(bollard::errors::Error) -> DockerError {
    move |source| DockerError::Call { call, source }
}
