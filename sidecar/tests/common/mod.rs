//! Shared test harness: a sidecar served on a loopback port over a fresh temp workspace.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sidecar::{AppState, Config};

pub const TOKEN: &str = "test-token-0123456789abcdef";

pub struct Harness {
    pub base: String,
    pub http: reqwest::Client,
    pub workspace: tempfile::TempDir,
    pub data: tempfile::TempDir,
    pub homes: tempfile::TempDir,
}

impl Harness {
    pub fn ws(&self) -> PathBuf {
        self.workspace.path().to_path_buf()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        (status, r.json().await.expect("json body"))
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        (status, r.json().await.expect("json body"))
    }
}

/// The test configuration over `workspace` and `data`; `extra` adds or overrides settings.
pub fn config_on(data: &Path, workspace: &Path, extra: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = HashMap::from([
        ("SIDECAR_TOKEN".to_string(), TOKEN.to_string()),
        ("SIDECAR_LISTEN".to_string(), "127.0.0.1:0".to_string()),
        (
            "SIDECAR_WORKSPACE".to_string(),
            workspace.display().to_string(),
        ),
        ("SIDECAR_DATA_DIR".to_string(), data.display().to_string()),
    ]);
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    Config::from_lookup(|k| env.get(k).cloned()).expect("config")
}

/// Serves a sidecar with `config` on a loopback port; returns its base URL, its state and the
/// server task (abort it to simulate a crash).
pub async fn serve(config: Config) -> (String, AppState, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = AppState::open(config).await.expect("sidecar starts");
    let app = sidecar::router_with_state(state.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), state, task)
}

/// Serves a sidecar over existing directories (for restarts).
pub async fn serve_on(
    data: &Path,
    workspace: &Path,
) -> (String, AppState, tokio::task::JoinHandle<()>) {
    serve(config_on(data, workspace, &[])).await
}

/// Starts a sidecar over fresh temp directories; `extra` adds or overrides settings.
pub async fn start(extra: &[(&str, &str)]) -> Harness {
    let workspace = tempfile::tempdir().expect("workspace");
    let data = tempfile::tempdir().expect("data");
    let homes = tempfile::tempdir().expect("homes");
    let home_root = homes.path().display().to_string();
    let mut settings = vec![("SIDECAR_SSH_HOME_ROOT", home_root.as_str())];
    settings.extend_from_slice(extra);
    let config = config_on(data.path(), workspace.path(), &settings);
    let (base, _state, _task) = serve(config).await;
    Harness {
        base,
        http: reqwest::Client::new(),
        workspace,
        data,
        homes,
    }
}
