//! A real sidecar (the `agent-sidecar` router) on a loopback port over temp directories.

#![allow(dead_code)]

use std::collections::HashMap;

use agent_cli::sidecar::Sidecar;

pub mod anvil;

/// Bearer token of the test sidecars.
pub const TOKEN: &str = "cli-test-token-0123456789";

/// A running sidecar; dropping it stops the server and removes its directories.
pub struct LiveSidecar {
    pub url: String,
    pub workspace: tempfile::TempDir,
    _data: tempfile::TempDir,
    _homes: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LiveSidecar {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LiveSidecar {
    /// A client with the right token.
    pub fn client(&self) -> Sidecar {
        Sidecar::new(&self.url, TOKEN).expect("client")
    }

    /// `POST path` with a JSON body and the token; returns the JSON answer.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let resp = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .expect("send");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.expect("json")
    }

    /// `GET path` with the token; returns the JSON answer.
    pub async fn get(&self, path: &str) -> serde_json::Value {
        let resp = reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("send");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.expect("json")
    }
}

/// Starts a sidecar with fresh directories.
pub async fn start_sidecar() -> LiveSidecar {
    let workspace = tempfile::tempdir().expect("workspace");
    let data = tempfile::tempdir().expect("data");
    let homes = tempfile::tempdir().expect("homes");
    let vars: HashMap<&str, String> = HashMap::from([
        ("SIDECAR_TOKEN", TOKEN.to_owned()),
        ("SIDECAR_LISTEN", "127.0.0.1:0".to_owned()),
        ("SIDECAR_WORKSPACE", workspace.path().display().to_string()),
        ("SIDECAR_DATA_DIR", data.path().display().to_string()),
        ("SIDECAR_SSH_HOME_ROOT", homes.path().display().to_string()),
    ]);
    let config = sidecar::Config::from_lookup(|k| vars.get(k).cloned()).expect("config");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = sidecar::AppState::open(config)
        .await
        .expect("sidecar starts");
    let app = sidecar::router_with_state(state);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    LiveSidecar {
        url: format!("http://{addr}"),
        workspace,
        _data: data,
        _homes: homes,
        task,
    }
}
