//! What a sandbox container looks like, as a pure function of the request and the operator's
//! settings: name, labels, volumes, published ports, limits and privileges.

use std::collections::HashMap;
use std::net::IpAddr;

use bollard::models::{
    ContainerCreateBody, HostConfig, Mount, MountTypeEnum, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};

/// Label keys every sandbox container and volume carries; reconciliation finds ours by them.
pub const LABEL_MANAGED: &str = "agent-instance.managed";
pub const LABEL_SERVICE: &str = "agent-instance.service";
pub const LABEL_OPERATOR: &str = "agent-instance.operator";

/// Ports inside the container.
pub const SIDECAR_PORT: u16 = 8080;
pub const SSH_PORT: u16 = 22;

/// Capabilities the sandbox keeps after `--cap-drop ALL`: the sidecar (root, under tini)
/// chowns workspace files and drops to the workspace user for commands; sshd needs privilege
/// separation (setuid/setgid, chroot) and binds port 22.
pub const KEPT_CAPABILITIES: [&str; 9] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "SETUID",
    "SETGID",
    "KILL",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "AUDIT_WRITE",
];

/// Resource limits from the PROVISION request, already validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxResources {
    pub cpu_millis: u32,
    pub memory_mb: u64,
    pub pids_limit: i64,
}

impl SandboxResources {
    /// Bounds an operator accepts. A request outside them is refused with a clear error
    /// instead of being silently clamped.
    pub fn validate(cpu_millis: u32, memory_mb: u64) -> Result<Self, SpecError> {
        if !(100..=64_000).contains(&cpu_millis) {
            return Err(SpecError::Cpu(cpu_millis));
        }
        if !(128..=262_144).contains(&memory_mb) {
            return Err(SpecError::Memory(memory_mb));
        }
        Ok(Self {
            cpu_millis,
            memory_mb,
            pids_limit: 1024,
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    #[error("cpu_millis {0} out of range (100..=64000)")]
    Cpu(u32),
    #[error("memory_mb {0} out of range (128..=262144)")]
    Memory(u64),
    #[error("operator address {0:?} is not a 0x-prefixed 20-byte hex address")]
    Operator(String),
}

/// `agent-sbx-<service>-<first 10 hex digits of the operator>`.
pub fn container_name(service_id: u64, operator: &str) -> String {
    let short: String = operator.trim_start_matches("0x").chars().take(10).collect();
    format!("agent-sbx-{service_id}-{short}")
}

/// Everything needed to create the container of one service's sandbox.
#[derive(Clone, Debug)]
pub struct SandboxSpec {
    pub service_id: u64,
    /// The operator's address, lowercase 0x-hex.
    pub operator: String,
    pub image: String,
    pub resources: SandboxResources,
    /// Host address the ports are published on (loopback by default).
    pub public_host: IpAddr,
    /// Host ports, fixed at creation so that a restarted sandbox keeps its URL.
    pub sidecar_host_port: u16,
    pub ssh_host_port: u16,
    /// Environment of the sidecar (holds the access token: never logged).
    pub env: Vec<(String, String)>,
}

impl SandboxSpec {
    /// `agent-sbx-<service>-<first 10 hex digits of the operator>`: unique per service and
    /// operator on one Docker host, stable across operator restarts.
    pub fn container_name(&self) -> String {
        container_name(self.service_id, &self.operator)
    }

    pub fn workspace_volume(&self) -> String {
        format!("{}-workspace", self.container_name())
    }

    pub fn state_volume(&self) -> String {
        format!("{}-state", self.container_name())
    }

    pub fn labels(&self) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_SERVICE.to_string(), self.service_id.to_string()),
            (LABEL_OPERATOR.to_string(), self.operator.clone()),
        ])
    }

    /// Checks the operator address shape (used in names and labels).
    pub fn check(&self) -> Result<(), SpecError> {
        let hex = self.operator.strip_prefix("0x").unwrap_or("");
        if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(SpecError::Operator(self.operator.clone()));
        }
        Ok(())
    }

    /// The Docker create body: least privilege, limits, named volumes, loopback ports.
    pub fn create_body(&self) -> ContainerCreateBody {
        let host = self.public_host.to_string();
        let bind = |port: u16| {
            Some(vec![PortBinding {
                host_ip: Some(host.clone()),
                host_port: Some(port.to_string()),
            }])
        };
        let port_bindings = HashMap::from([
            (format!("{SIDECAR_PORT}/tcp"), bind(self.sidecar_host_port)),
            (format!("{SSH_PORT}/tcp"), bind(self.ssh_host_port)),
        ]);
        let volume = |source: String, target: &str| Mount {
            target: Some(target.to_string()),
            source: Some(source),
            typ: Some(MountTypeEnum::VOLUME),
            read_only: Some(false),
            ..Default::default()
        };
        let r = &self.resources;
        let memory = i64::try_from(r.memory_mb.saturating_mul(1024 * 1024)).unwrap_or(i64::MAX);
        ContainerCreateBody {
            image: Some(self.image.clone()),
            env: Some(self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(self.labels()),
            exposed_ports: Some(vec![
                format!("{SIDECAR_PORT}/tcp"),
                format!("{SSH_PORT}/tcp"),
            ]),
            host_config: Some(HostConfig {
                port_bindings: Some(port_bindings),
                mounts: Some(vec![
                    volume(self.workspace_volume(), "/workspace"),
                    volume(self.state_volume(), "/var/lib/sidecar"),
                ]),
                nano_cpus: Some(i64::from(r.cpu_millis) * 1_000_000),
                memory: Some(memory),
                memory_swap: Some(memory),
                pids_limit: Some(r.pids_limit),
                cap_drop: Some(vec!["ALL".to_string()]),
                cap_add: Some(KEPT_CAPABILITIES.iter().map(|c| c.to_string()).collect()),
                security_opt: Some(vec!["no-new-privileges:true".to_string()]),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::NO),
                    maximum_retry_count: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SandboxSpec {
        SandboxSpec {
            service_id: 7,
            operator: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".into(),
            image: "agent-sandbox:test".into(),
            resources: SandboxResources::validate(1500, 1024).expect("valid"),
            public_host: "127.0.0.1".parse().expect("ip"),
            sidecar_host_port: 41000,
            ssh_host_port: 41001,
            env: vec![("SIDECAR_TOKEN".into(), "t".repeat(32))],
        }
    }

    #[test]
    fn names_and_labels_identify_service_and_operator() {
        let s = spec();
        assert_eq!(s.container_name(), "agent-sbx-7-70997970c5");
        assert_eq!(s.labels()[LABEL_SERVICE], "7");
        assert_eq!(s.labels()[LABEL_OPERATOR], s.operator);
        assert!(s.check().is_ok());
        let mut bad = s.clone();
        bad.operator = "0x123".into();
        assert!(bad.check().is_err());
    }

    #[test]
    fn create_body_is_least_privilege_with_limits_on_loopback() {
        let body = spec().create_body();
        let hc = body.host_config.expect("host config");
        assert_eq!(hc.cap_drop, Some(vec!["ALL".to_string()]));
        assert!(!hc
            .cap_add
            .as_ref()
            .expect("caps")
            .iter()
            .any(|c| c == "SYS_ADMIN" || c == "NET_ADMIN"));
        assert_eq!(
            hc.security_opt,
            Some(vec!["no-new-privileges:true".to_string()])
        );
        assert_eq!(hc.nano_cpus, Some(1_500_000_000));
        assert_eq!(hc.memory, Some(1024 * 1024 * 1024));
        assert_eq!(hc.pids_limit, Some(1024));
        let ports = hc.port_bindings.expect("ports");
        let sidecar = ports["8080/tcp"].as_ref().expect("binding")[0].clone();
        assert_eq!(sidecar.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(sidecar.host_port.as_deref(), Some("41000"));
        assert_eq!(hc.mounts.expect("mounts").len(), 2);
    }

    #[test]
    fn resources_out_of_bounds_are_refused() {
        assert_eq!(
            SandboxResources::validate(50, 1024),
            Err(SpecError::Cpu(50))
        );
        assert_eq!(
            SandboxResources::validate(1000, 64),
            Err(SpecError::Memory(64))
        );
    }
}
