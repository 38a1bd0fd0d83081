//! The sandbox image under the real Docker engine, with the operator's least-privilege flags:
//! a key added through `POST /v1/ssh/keys` logs in with a real `ssh` client as `agent`, a
//! revoked key is refused, host keys survive a restart, and a snapshot restores the workspace.
//!
//! Needs `docker`, `ssh` and `ssh-keygen` on the host and the sandbox image (`SANDBOX_IMAGE`,
//! or the tag `script/build-image.sh` records); fails, never skips, without them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TOKEN: &str = "image-ssh-token-0123456789abcdef";

/// The capabilities `operator/src/sandbox/spec.rs` keeps after `--cap-drop ALL`.
const KEPT_CAPABILITIES: [&str; 9] = [
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

fn sandbox_image() -> String {
    if let Ok(tag) = std::env::var("SANDBOX_IMAGE") {
        if !tag.is_empty() {
            return tag;
        }
    }
    let cache = std::env::var("AGENT_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/agent-instance")
        });
    let file = cache.join("sandbox-image");
    let tag = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!("no sandbox image recorded at {file:?} ({e}); run script/build-image.sh")
    });
    tag.trim().to_string()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn docker(args: &[&str]) -> String {
    let out = run(Command::new("docker").args(args));
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A container started like the operator starts sandboxes; force-removed on drop.
struct Sandbox {
    id: String,
    http: reqwest::Client,
}

impl Sandbox {
    fn start(image: &str) -> Self {
        let mut args: Vec<String> = [
            "run",
            "-d",
            "--label",
            "agent-instance.test=1",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges:true",
            "-p",
            "127.0.0.1::8080",
            "-p",
            "127.0.0.1::22",
            "-e",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("SIDECAR_TOKEN={TOKEN}"));
        for cap in KEPT_CAPABILITIES {
            args.push("--cap-add".into());
            args.push(cap.into());
        }
        args.push(image.into());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        Self {
            id: docker(&refs),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    fn port(&self, inner: &str) -> u16 {
        let mapping = docker(&["port", &self.id, inner]);
        let first = mapping.lines().next().unwrap_or_default();
        first
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no host port for {inner}: {mapping:?}"))
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port("8080/tcp"))
    }

    async fn wait_healthy(&self) -> Duration {
        let start = Instant::now();
        let url = self.url("/health");
        loop {
            if let Ok(r) = self.http.get(&url).send().await {
                if r.status().is_success() {
                    return start.elapsed();
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "sidecar not healthy; logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let r = self
            .http
            .request(method.clone(), self.url(path))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .expect("send");
        let status = r.status();
        let body: Value = r.json().await.expect("json");
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    async fn exec(&self, command: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/v1/exec",
            json!({ "command": command }),
        )
        .await
    }

    fn logs(&self) -> String {
        let out = run(Command::new("docker").args(["logs", &self.id]));
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.id])
            .output();
    }
}

/// `ssh -i key agent@127.0.0.1 -p port command`, batch mode, no host-key prompts.
fn ssh(key: &Path, port: u16, user: &str, command: &str) -> Output {
    run(Command::new("ssh").arg("-i").arg(key).args([
        "-p",
        &port.to_string(),
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=5",
        "-F",
        "/dev/null",
        &format!("{user}@127.0.0.1"),
        command,
    ]))
}

/// Retries the login until sshd answers (it starts after `/health`, once host keys exist).
async fn ssh_when_up(sb: &Sandbox, key: &Path, port: u16, command: &str) -> Output {
    let start = Instant::now();
    loop {
        let out = ssh(key, port, "agent", command);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let not_up = stderr.contains("Connection refused")
            || stderr.contains("Connection reset")
            || stderr.contains("Connection closed")
            || stderr.contains("kex_exchange_identification");
        if !not_up || start.elapsed() > Duration::from_secs(20) {
            if not_up {
                panic!("sshd never answered: {stderr}\nlogs:\n{}", sb.logs());
            }
            return out;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn host_key(sb: &Sandbox) -> String {
    docker(&[
        "exec",
        &sb.id,
        "cat",
        "/var/lib/sidecar/ssh/ssh_host_ed25519_key.pub",
    ])
}

#[tokio::test]
async fn ssh_login_with_a_key_added_through_the_api() {
    let image = sandbox_image();
    let sb = Sandbox::start(&image);
    let took = sb.wait_healthy().await;
    println!("sandbox {image}: start -> /health in {took:?}");
    let ssh_port = sb.port("22/tcp");

    let dir = tempfile::tempdir().expect("tmp");
    let key = dir.path().join("id_ed25519");
    let out = run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "image-test", "-f"])
        .arg(&key));
    assert!(out.status.success(), "ssh-keygen: {out:?}");
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");

    // Before the key is added, the login is refused (and only public keys are offered).
    let out = ssh_when_up(&sb, &key, ssh_port, "id -un").await;
    assert!(!out.status.success(), "login without a key: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Permission denied (publickey)"),
        "{stderr}\nlogs:\n{}",
        sb.logs()
    );

    let added = sb
        .call(
            reqwest::Method::POST,
            "/v1/ssh/keys",
            json!({ "public_key": public.trim() }),
        )
        .await;
    assert_eq!(added["username"], "agent", "{added}");
    assert_eq!(added["changed"], true, "{added}");

    let out = ssh(&key, ssh_port, "agent", "id -un");
    assert!(
        out.status.success(),
        "login failed: {}\nlogs:\n{}",
        String::from_utf8_lossy(&out.stderr),
        sb.logs()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "agent");

    // Root cannot log in.
    let out = ssh(&key, ssh_port, "root", "id -un");
    assert!(!out.status.success(), "root login: {out:?}");

    let revoked = sb
        .call(
            reqwest::Method::DELETE,
            "/v1/ssh/keys",
            json!({ "public_key": public.trim() }),
        )
        .await;
    assert_eq!(revoked["changed"], true, "{revoked}");
    let out = ssh(&key, ssh_port, "agent", "id -un");
    assert!(!out.status.success(), "revoked key still logs in");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied (publickey)"),
        "{out:?}"
    );

    // Host keys live on the state volume: a restarted container keeps its identity.
    let before = host_key(&sb);
    assert!(before.starts_with("ssh-ed25519 "), "{before}");
    docker(&["restart", "-t", "2", &sb.id]);
    sb.wait_healthy().await;
    let out = ssh_when_up(&sb, &key, sb.port("22/tcp"), "true").await;
    assert!(!out.status.success(), "revoked key logs in after restart");
    assert_eq!(host_key(&sb), before, "host key changed across a restart");

    let logs = sb.logs();
    assert!(logs.contains("sshd started"), "logs:\n{logs}");
}

#[tokio::test]
async fn snapshot_and_restore_through_the_image() {
    let sb = Sandbox::start(&sandbox_image());
    sb.wait_healthy().await;
    let r = sb
        .exec("mkdir -p d && echo v1 > d/a.txt && id -un > who")
        .await;
    assert_eq!(r["exit_code"], 0, "{r}");

    let snap = sb
        .call(reqwest::Method::POST, "/v1/snapshots", json!({}))
        .await;
    let id = snap["snapshot_id"]
        .as_str()
        .expect("snapshot_id")
        .to_string();
    assert!(snap["size_bytes"].as_u64().unwrap_or(0) > 0, "{snap}");
    assert!(
        snap["sha256"].as_str().is_some_and(|s| s.len() == 66),
        "{snap}"
    );

    let r = sb.exec("echo v2 > d/a.txt && rm who").await;
    assert_eq!(r["exit_code"], 0, "{r}");
    let restored = sb
        .call(
            reqwest::Method::POST,
            "/v1/snapshots/restore",
            json!({ "snapshot_id": id }),
        )
        .await;
    assert!(restored["entries"].as_u64().unwrap_or(0) >= 3, "{restored}");

    let r = sb.exec("cat d/a.txt who && stat -c %U d/a.txt").await;
    assert_eq!(r["exit_code"], 0, "{r}");
    assert_eq!(r["stdout"], "v1\nagent\nagent\n", "{r}");
}
