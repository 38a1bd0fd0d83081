//! A local anvil: the SDK's seeded Tangle snapshot, or an empty chain.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agent_cli::chain::{Chain, ChainOpts, SEEDED_TANGLE};

/// A running anvil, killed on drop.
pub struct Anvil {
    child: Child,
    /// Its JSON-RPC URL.
    pub url: String,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn anvil_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ANVIL") {
        return Some(PathBuf::from(p));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/bin/anvil");
    if local.exists() {
        return Some(local);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("anvil"))
            .find(|p| p.exists())
    })
}

fn seeded_snapshot() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let src = cargo_home.join("registry/src");
    let mut found: Vec<PathBuf> = std::fs::read_dir(src)
        .ok()?
        .flatten()
        .flat_map(|index| {
            std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .filter(|c| {
            c.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("blueprint-chain-setup-anvil-"))
        })
        .map(|c| c.path().join("snapshots/localtestnet-state.json"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts anvil on the seeded Tangle snapshot (`seeded`) or empty. A missing binary or
/// snapshot fails the test (run script/setup.sh): these tests never skip silently.
pub async fn start_anvil(seeded: bool) -> Option<Anvil> {
    let Some(bin) = anvil_binary() else {
        panic!("no anvil binary (set ANVIL or run script/setup.sh)");
    };
    let state = if seeded {
        let Some(state) = seeded_snapshot() else {
            panic!("no seeded Tangle snapshot in the cargo registry (build blueprint-sdk first)");
        };
        Some(state)
    } else {
        None
    };
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args(["--port", &port.to_string()]);
    if let Some(state) = state {
        cmd.arg("--load-state").arg(state);
    }
    let child = cmd
        .args([
            "--base-fee",
            "0",
            "--gas-price",
            "0",
            "--gas-limit",
            "100000000",
        ])
        .args(["--code-size-limit", "100000", "--silent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("anvil starts");
    let anvil = Anvil {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let chain = Chain::connect(&ChainOpts::new(
        &anvil.url,
        SEEDED_TANGLE.parse().expect("address"),
    ))
    .expect("connect");
    let started = Instant::now();
    while chain.block_number().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "anvil did not answer"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Some(anvil)
}
