//! Deterministic synthetic agents, for tests, the benchmark and local demos.

use ed25519_dalek::SigningKey;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::ids::{Address, AgentId, Bytes32};
use crate::index::RegistryEvent;
use crate::manifest::{ManifestError, Pricing, SignedManifest, Tool, ToolManifest};

/// Categories synthetic tools are drawn from.
pub const CATEGORIES: [&str; 12] = [
    "devops",
    "data",
    "finance",
    "security",
    "media",
    "search",
    "translation",
    "legal",
    "research",
    "support",
    "analytics",
    "code",
];

/// Regions synthetic agents are placed in.
pub const REGIONS: [&str; 6] = [
    "eu-west",
    "eu-central",
    "us-east",
    "us-west",
    "ap-south",
    "ap-east",
];

/// Vocabulary of synthetic tool names and descriptions.
pub const WORDS: [&str; 129] = [
    "deploy",
    "build",
    "test",
    "lint",
    "format",
    "compile",
    "package",
    "release",
    "rollback",
    "monitor",
    "alert",
    "scale",
    "backup",
    "restore",
    "migrate",
    "index",
    "query",
    "search",
    "rank",
    "crawl",
    "scrape",
    "parse",
    "extract",
    "summarize",
    "translate",
    "classify",
    "detect",
    "scan",
    "audit",
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "hash",
    "price",
    "quote",
    "trade",
    "hedge",
    "forecast",
    "report",
    "chart",
    "plot",
    "render",
    "transcode",
    "resize",
    "crop",
    "caption",
    "transcribe",
    "speak",
    "listen",
    "chat",
    "answer",
    "draft",
    "review",
    "approve",
    "schedule",
    "notify",
    "email",
    "invoice",
    "refund",
    "reconcile",
    "ledger",
    "contract",
    "clause",
    "patent",
    "cite",
    "survey",
    "sample",
    "cluster",
    "embed",
    "vector",
    "graph",
    "stream",
    "batch",
    "queue",
    "cache",
    "proxy",
    "route",
    "balance",
    "shard",
    "replicate",
    "snapshot",
    "archive",
    "compress",
    "upload",
    "download",
    "sync",
    "mirror",
    "tag",
    "label",
    "annotate",
    "anonymize",
    "redact",
    "mask",
    "tokenize",
    "profile",
    "benchmark",
    "optimize",
    "tune",
    "train",
    "infer",
    "evaluate",
    "explain",
    "debug",
    "trace",
    "log",
    "metric",
    "dashboard",
    "ticket",
    "triage",
    "escalate",
    "onboard",
    "kyc",
    "fraud",
    "risk",
    "score",
    "credit",
    "loan",
    "tax",
    "payroll",
    "budget",
    "grant",
    "paper",
    "dataset",
    "model",
    "pipeline",
    "kubernetes",
    "terraform",
    "docker",
];

fn draw(seed: &[u8; 32], i: usize, modulus: usize) -> usize {
    let j = (2 * i) % 32;
    let v = u16::from_le_bytes([seed[j], seed[(j + 1) % 32]]) as usize;
    v % modulus
}

/// A synthetic agent: its key, signed manifest and registry fields.
#[derive(Debug, Clone)]
pub struct SynthAgent {
    pub key: SigningKey,
    pub manifest: SignedManifest,
    pub region: String,
    pub operator: Address,
    pub service_id: u64,
}

impl SynthAgent {
    /// The `n`-th synthetic agent (same `n`, same agent), with three tools.
    pub fn new(n: u64, issued_at: u64) -> Result<Self, ManifestError> {
        let seed: [u8; 32] = Sha256::digest(format!("synthetic agent {n}")).into();
        let key = SigningKey::from_bytes(&seed);
        let mut tools = Vec::new();
        for t in 0..3usize {
            let category = CATEGORIES[draw(&seed, t, CATEGORIES.len())];
            let verb = WORDS[draw(&seed, 3 + t, WORDS.len())];
            let noun = WORDS[draw(&seed, 6 + t, WORDS.len())];
            let description: Vec<&str> = (0..4)
                .map(|w| WORDS[draw(&seed, 9 + 4 * t + w, WORDS.len())])
                .collect();
            tools.push(Tool {
                id: format!("{category}.{verb}{}", if t == 0 { "" } else { "2" }),
                name: format!("{verb} {noun}"),
                description: format!("Will {} for you.", description.join(" and ")),
                category: category.to_string(),
                input_schema: json!({"type": "object", "properties": {"input": {"type": "string"}}}),
                output_schema: json!({"type": "object"}),
                pricing: Pricing {
                    unit: "call".into(),
                    amount: format!("{}", 1000 + draw(&seed, 30, 9000)),
                },
            });
        }
        tools.dedup_by(|a, b| a.id == b.id);
        let manifest = ToolManifest::new(&key.verifying_key().to_bytes(), tools, issued_at);
        let manifest = SignedManifest::sign(manifest, &key)?;
        let mut operator = [0u8; 20];
        operator[19] = (n % 50) as u8;
        Ok(Self {
            key,
            manifest,
            region: REGIONS[(n % REGIONS.len() as u64) as usize].to_string(),
            operator: Address(operator),
            service_id: n % 200,
        })
    }

    /// The agent id.
    pub fn agent_id(&self) -> AgentId {
        crate::ids::agent_id_from_key(&self.key.verifying_key().to_bytes())
    }

    /// The `Registered` event for this agent.
    pub fn registered(
        &self,
        expires_at: u64,
        block: u64,
        log_index: u64,
    ) -> Result<RegistryEvent, ManifestError> {
        Ok(RegistryEvent::Registered {
            agent_id: self.agent_id(),
            public_key: Bytes32(self.key.verifying_key().to_bytes()),
            owner: Address([0x11; 20]),
            service_id: self.service_id,
            operator: self.operator,
            endpoint: format!("https://agents.example/{}", self.agent_id()),
            manifest_hash: self.manifest.hash()?,
            capability_digest: Bytes32([0; 32]),
            region: self.region.clone(),
            expires_at,
            block,
            log_index,
        })
    }
}
