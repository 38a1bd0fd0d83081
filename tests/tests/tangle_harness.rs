//! The SDK's seeded Tangle chain comes up through its own harness, on the locally built
//! anvil image, with Tangle core deployed and the seeded service active.

use blueprint_sdk::alloy::providers::{Provider, ProviderBuilder};
use blueprint_sdk::testing::utils::anvil::TangleHarness;

#[tokio::test]
async fn seeded_tangle_chain_starts_with_core_contracts() -> anyhow::Result<()> {
    agent_e2e_tests::docker_shim::ensure()?;
    let harness = TangleHarness::builder().spawn().await?;
    let provider = ProviderBuilder::new().connect_http(harness.http_endpoint().clone());
    let block = provider.get_block_number().await?;
    anyhow::ensure!(block > 0, "no blocks on the seeded chain");
    let code = provider.get_code_at(harness.tangle_contract).await?;
    anyhow::ensure!(
        !code.is_empty(),
        "no Tangle core code at {}",
        harness.tangle_contract
    );
    println!(
        "seeded Tangle at {} (block {block}, core {})",
        harness.http_endpoint(),
        harness.tangle_contract
    );
    Ok(())
}
