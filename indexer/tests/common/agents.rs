//! Test agents (Ed25519 keys, manifests built and signed with `discovery::manifest`) and a
//! small HTTP server on 127.0.0.1 serving their manifests at `{endpoint}/v1/manifest`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use agent_types::IAgentRegistry::AgentParams;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use blueprint_sdk::alloy::primitives::B256;
use discovery::ids::{agent_id_from_key, AgentId};
use discovery::manifest::{Pricing, SignedManifest, Tool, ToolManifest};
use ed25519_dalek::SigningKey;

use super::chain::{confirm, TestChain, OWNER};

/// Registration TTL of the test agents (seconds).
pub const TTL: u64 = 600;

/// An agent: its key and the manifest it publishes (the one registered on chain).
pub struct TestAgent {
    pub name: String,
    pub key: SigningKey,
    pub manifest: SignedManifest,
}

/// A tool in `category` whose name is `name`.
pub fn tool(id: &str, name: &str, category: &str) -> Tool {
    Tool {
        id: id.into(),
        name: name.into(),
        description: format!("{name} for the integration tests"),
        category: category.into(),
        input_schema: serde_json::json!({"type": "object"}),
        output_schema: serde_json::json!({"type": "object"}),
        pricing: Pricing {
            unit: "call".into(),
            amount: "1000".into(),
        },
    }
}

impl TestAgent {
    /// Agent `name` with a key derived from `seed`, offering `tools`.
    pub fn new(name: &str, seed: u8, tools: Vec<Tool>) -> Self {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let manifest = ToolManifest::new(&key.verifying_key().to_bytes(), tools, 1_800_000_000);
        let manifest = SignedManifest::sign(manifest, &key).expect("manifest signs");
        Self {
            name: name.into(),
            key,
            manifest,
        }
    }

    /// `keccak256(public key)`, as the contract derives it.
    pub fn id(&self) -> AgentId {
        agent_id_from_key(&self.key.verifying_key().to_bytes())
    }

    pub fn id_b256(&self) -> B256 {
        B256::from(self.id().0)
    }

    pub fn public_key(&self) -> B256 {
        B256::from(self.key.verifying_key().to_bytes())
    }

    /// The manifest hash registered on chain.
    pub fn manifest_hash(&self) -> B256 {
        B256::from(self.manifest.hash().expect("hash").0)
    }

    /// The same agent's manifest with different content (so a different hash), correctly
    /// signed: it does not match the registered hash.
    pub fn other_manifest(&self) -> SignedManifest {
        let mut m = self.manifest.manifest.clone();
        m.issued_at += 1;
        SignedManifest::sign(m, &self.key).expect("manifest signs")
    }

    /// The registered manifest with its signature altered (hash still matches).
    pub fn forged_signature(&self) -> SignedManifest {
        let mut m = self.manifest.clone();
        let last = if m.signature.ends_with('0') { '1' } else { '0' };
        m.signature.pop();
        m.signature.push(last);
        m
    }

    /// `register` by the owner account (service 1, region `eu-west`), TTL [`TTL`].
    pub async fn register(&self, chain: &TestChain, server: &ManifestServer) -> u64 {
        let params = AgentParams {
            endpoint: server.endpoint(&self.name),
            manifestHash: self.manifest_hash(),
            capabilityDigest: B256::ZERO,
            region: "eu-west".into(),
        };
        let operator = OWNER.parse().expect("address");
        let call = chain
            .owner
            .register(self.public_key(), 1, operator, params, TTL);
        let receipt = confirm(call.send().await, "register").await;
        receipt.block_number.expect("mined")
    }
}

type Served = Arc<Mutex<HashMap<String, serde_json::Value>>>;

/// Serves `GET /agents/{name}/v1/manifest`.
pub struct ManifestServer {
    base: String,
    served: Served,
    task: tokio::task::JoinHandle<()>,
}

async fn manifest(State(served): State<Served>, Path(name): Path<String>) -> Response {
    let found = served.lock().ok().and_then(|m| m.get(&name).cloned());
    match found {
        Some(v) => Json(v).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

impl ManifestServer {
    pub async fn start() -> Self {
        let served = Served::default();
        let app = Router::new()
            .route("/agents/{name}/v1/manifest", get(manifest))
            .with_state(served.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the manifest server");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, served, task }
    }

    /// The endpoint registered for agent `name`.
    pub fn endpoint(&self, name: &str) -> String {
        format!("{}/agents/{name}", self.base)
    }

    /// Serves `manifest` for agent `name`.
    pub fn serve(&self, name: &str, manifest: &SignedManifest) {
        let value = serde_json::to_value(manifest).expect("manifest JSON");
        self.served
            .lock()
            .expect("not poisoned")
            .insert(name.into(), value);
    }

    /// Serves the agent's registered manifest.
    pub fn publish(&self, agent: &TestAgent) {
        self.serve(&agent.name, &agent.manifest);
    }

    /// Stops serving (connections are refused afterwards).
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}
