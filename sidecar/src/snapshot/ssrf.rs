//! Upload destinations: only http(s), and no private, loopback, link-local, CGNAT, unique-local
//! or metadata addresses (every resolved address is checked) unless explicitly allowed.
//!
//! The address classification is shared with the workflow `http` steps
//! ([`agent_orchestrator::ssrf`]).

use std::net::SocketAddr;

use agent_orchestrator::ssrf;
use reqwest::Url;

pub use agent_orchestrator::ssrf::{is_forbidden, DestinationError};

/// Parses and checks `url`; returns it with the addresses the upload must connect to.
pub async fn check_destination(
    url: &str,
    allow_private: bool,
) -> Result<(Url, Vec<SocketAddr>), DestinationError> {
    let url = Url::parse(url).map_err(|e| DestinationError::Invalid(e.to_string()))?;
    let policy = ssrf::Policy::new(allow_private);
    ssrf::check_url(&url, &policy)?;
    let host = url.host_str().ok_or(DestinationError::NoHost)?.to_string();
    let port = url
        .port_or_known_default()
        .ok_or(DestinationError::NoHost)?;
    let addrs = ssrf::resolve_checked(&host, port, &policy).await?;
    Ok((url, addrs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rejects_before_connecting() {
        for url in [
            "http://127.0.0.1:9/x",
            "http://10.0.0.1/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/x",
            "http://localhost/x",
        ] {
            assert!(
                matches!(
                    check_destination(url, false).await,
                    Err(DestinationError::Forbidden(_))
                ),
                "{url}"
            );
        }
        assert!(matches!(
            check_destination("file:///etc/passwd", false).await,
            Err(DestinationError::Scheme(_))
        ));
        assert!(check_destination("http://127.0.0.1:9/x", true)
            .await
            .is_ok());
    }
}
