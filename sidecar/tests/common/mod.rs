//! Shared test harness: a sidecar served on a loopback port over a fresh temp workspace.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use sidecar::Config;

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

/// Starts a sidecar; `extra` adds or overrides environment settings.
pub async fn start(extra: &[(&str, &str)]) -> Harness {
    let workspace = tempfile::tempdir().expect("workspace");
    let data = tempfile::tempdir().expect("data");
    let homes = tempfile::tempdir().expect("homes");
    let mut env: HashMap<String, String> = HashMap::from([
        ("SIDECAR_TOKEN".to_string(), TOKEN.to_string()),
        ("SIDECAR_LISTEN".to_string(), "127.0.0.1:0".to_string()),
        (
            "SIDECAR_WORKSPACE".to_string(),
            workspace.path().display().to_string(),
        ),
        (
            "SIDECAR_DATA_DIR".to_string(),
            data.path().display().to_string(),
        ),
        (
            "SIDECAR_SSH_HOME_ROOT".to_string(),
            homes.path().display().to_string(),
        ),
    ]);
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = sidecar::router(config).await.expect("sidecar starts");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    Harness {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        workspace,
        data,
        homes,
    }
}
