//! The operator's own settings (beyond blueprint-sdk's environment): which image sandboxes
//! run, where their ports are published, limits, timeouts and the attestation provider.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use blueprint_sdk::alloy::primitives::Address;

/// LLM provider settings handed to every sandbox's sidecar (OpenAI-compatible).
#[derive(Clone, Debug, Default)]
pub struct LlmSettings {
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// Secret: passed to the container's environment only, never logged or put on chain.
    pub api_key: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// This operator's address (names and labels of its containers, sealing info).
    pub operator: Address,
    /// Where records live (`<data_dir>/sandboxes`).
    pub data_dir: PathBuf,
    /// The sandbox image used when a PROVISION request names none.
    pub default_image: String,
    /// Images a PROVISION request may name (the default image is always allowed).
    pub allowed_images: Vec<String>,
    /// Host the sandbox ports are published on (loopback by default).
    pub public_host: IpAddr,
    /// Host name or address put into the sidecar URL (defaults to `public_host`).
    pub advertise_host: String,
    /// Attestation provider name: `none`, `configfs-tsm` or `development`.
    pub attestation: String,
    pub tsm_root: PathBuf,
    pub llm: LlmSettings,
    /// Every Docker API call's timeout.
    pub docker_timeout: Duration,
    /// How long a new or restarted sandbox may take to answer `/health`.
    pub health_timeout: Duration,
    /// Job timeout when the request gives none, and the largest one accepted.
    pub default_job_timeout: Duration,
    pub max_job_timeout: Duration,
    /// Slack on top of a job's own timeout for the HTTP call that carries it.
    pub call_grace: Duration,
    /// Largest lifetime a PROVISION may ask for (0 in the request = this maximum).
    pub max_lifetime: Duration,
    /// Reconciliation and idle/lifetime sweep period.
    pub sweep_interval: Duration,
    /// Stopped (idle) sandboxes are also stopped gracefully within this period.
    pub stop_grace: Duration,
    /// Let sandboxes upload snapshots to private addresses (tests, private networks).
    pub snapshot_allow_private: bool,
    /// The `AgentRegistry` each sandbox's agent is announced in (none: not announced).
    pub agent_registry: Option<Address>,
    /// Registry record lifetime; heartbeats renew it.
    pub agent_ttl: Duration,
    pub agent_region: String,
}

impl Settings {
    /// Defaults for an operator with `operator` address, data in `data_dir`, running `image`.
    pub fn new(operator: Address, data_dir: PathBuf, image: String) -> Self {
        Self {
            operator,
            data_dir,
            default_image: image,
            allowed_images: Vec::new(),
            public_host: IpAddr::from([127, 0, 0, 1]),
            advertise_host: "127.0.0.1".into(),
            attestation: "none".into(),
            tsm_root: PathBuf::from("/sys/kernel/config/tsm/report"),
            llm: LlmSettings::default(),
            docker_timeout: Duration::from_secs(30),
            health_timeout: Duration::from_secs(30),
            default_job_timeout: Duration::from_secs(120),
            max_job_timeout: Duration::from_secs(3600),
            call_grace: Duration::from_secs(15),
            max_lifetime: Duration::from_secs(30 * 24 * 3600),
            sweep_interval: Duration::from_secs(30),
            stop_grace: Duration::from_secs(10),
            snapshot_allow_private: false,
            agent_registry: None,
            agent_ttl: Duration::from_secs(3600),
            agent_region: String::new(),
        }
    }

    /// The job's own timeout: the request's (milliseconds; 0 = default), capped.
    pub fn job_timeout(&self, requested_ms: u64) -> Duration {
        if requested_ms == 0 {
            self.default_job_timeout
        } else {
            Duration::from_millis(requested_ms).min(self.max_job_timeout)
        }
    }

    /// Whether a PROVISION may use `image` (empty = the default image).
    pub fn resolve_image(&self, requested: &str) -> Option<String> {
        if requested.is_empty() || requested == self.default_image {
            return Some(self.default_image.clone());
        }
        self.allowed_images
            .iter()
            .find(|i| i.as_str() == requested)
            .cloned()
    }

    /// The operator address as lowercase 0x-hex (container labels).
    pub fn operator_hex(&self) -> String {
        format!("{:#x}", self.operator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::new(Address::repeat_byte(0xab), "/tmp/x".into(), "img:1".into())
    }

    #[test]
    fn job_timeout_defaults_and_caps() {
        let s = settings();
        assert_eq!(s.job_timeout(0), s.default_job_timeout);
        assert_eq!(s.job_timeout(1500), Duration::from_millis(1500));
        assert_eq!(s.job_timeout(u64::MAX), s.max_job_timeout);
    }

    #[test]
    fn only_allowed_images_resolve() {
        let mut s = settings();
        assert_eq!(s.resolve_image("").as_deref(), Some("img:1"));
        assert_eq!(s.resolve_image("img:1").as_deref(), Some("img:1"));
        assert_eq!(s.resolve_image("evil:latest"), None);
        s.allowed_images.push("other:2".into());
        assert_eq!(s.resolve_image("other:2").as_deref(), Some("other:2"));
        assert_eq!(s.operator_hex(), format!("0x{}", "ab".repeat(20)));
    }
}
