//! A local anvil (the workspace's launcher, `anvil_harness`): the SDK's seeded Tangle
//! snapshot, or an empty chain.

pub use anvil_harness::Anvil;
use anvil_harness::AnvilOptions;

/// Starts anvil on the seeded Tangle snapshot (`seeded`) or empty and waits until it answers.
/// A missing binary or snapshot fails the test (run script/setup.sh): these tests never skip
/// silently.
pub async fn start_anvil(seeded: bool) -> Anvil {
    let options = if seeded {
        AnvilOptions::seeded_tangle()
    } else {
        AnvilOptions::empty()
    };
    tokio::task::spawn_blocking(move || options.spawn())
        .await
        .expect("the anvil launcher does not panic")
        .unwrap_or_else(|e| {
            panic!("anvil: {e} (run script/setup.sh; ANVIL / TANGLE_SNAPSHOT override)")
        })
}
