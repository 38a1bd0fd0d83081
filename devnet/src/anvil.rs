//! A private anvil loaded with the SDK's seeded Tangle core snapshot (the real Tangle core
//! contracts, DESIGN decision 8), killed when dropped. Launched by the workspace's one anvil
//! launcher (`anvil_harness`).

use std::path::{Path, PathBuf};

use anvil_harness::AnvilOptions;

use crate::DevnetError;

pub struct Anvil {
    inner: anvil_harness::Anvil,
    pub port: u16,
    pub http: String,
    pub ws: String,
}

/// The seeded snapshot that ships with blueprint-sdk's chain-setup crate (or `TANGLE_SNAPSHOT`).
pub fn snapshot_path() -> Result<PathBuf, DevnetError> {
    anvil_harness::seeded_snapshot().map_err(|e| DevnetError::Setup(e.to_string()))
}

impl Anvil {
    /// Starts `anvil` (from `tools_bin`) on a free loopback port, one block a second, and
    /// waits for it to answer.
    pub async fn start(tools_bin: &Path, log: &Path) -> Result<Self, DevnetError> {
        let options = AnvilOptions::seeded_tangle()
            .binary(tools_bin.join("anvil"))
            .block_time(1)
            .log(log);
        let inner = tokio::task::spawn_blocking(move || options.spawn())
            .await
            .map_err(|e| DevnetError::Setup(format!("anvil launcher: {e}")))?
            .map_err(|e| DevnetError::Setup(e.to_string()))?;
        Ok(Self {
            port: inner.port,
            http: inner.http.clone(),
            ws: inner.ws.clone(),
            inner,
        })
    }

    pub async fn stop(self) {
        let inner = self.inner;
        let _ = tokio::task::spawn_blocking(move || inner.stop()).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use blueprint_sdk::alloy::providers::{Provider, ProviderBuilder};

    use super::*;

    /// The devnet's chain: the seeded Tangle core (its contracts are there), one block a
    /// second, anvil's output in the log file.
    #[tokio::test]
    async fn seeded_chain_mines_a_block_a_second_and_logs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("anvil.log");
        let anvil = Anvil::start(&anvil_harness::tools_bin(), &log)
            .await
            .expect("anvil on the seeded snapshot (run script/setup.sh)");
        let provider = ProviderBuilder::new().connect_http(anvil.http.parse().expect("url"));
        let tangle = provider
            .get_code_at(crate::accounts::TANGLE)
            .await
            .expect("getCode");
        assert!(
            !tangle.is_empty(),
            "Tangle core is deployed in the snapshot"
        );
        let first = provider.get_block_number().await.expect("block number");
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let later = provider.get_block_number().await.expect("block number");
        assert!(later > first, "blocks are mined without transactions");
        assert!(anvil.ws.ends_with(&anvil.port.to_string()));
        anvil.stop().await;
        let text = std::fs::read_to_string(&log).expect("log written");
        assert!(!text.is_empty(), "anvil's output goes to the log");
    }
}
