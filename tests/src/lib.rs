//! Shared helpers for the end-to-end tests: locating the sandbox image, making the SDK's
//! anvil harness work with the local Docker engine, and small HTTP waits.

pub mod docker_shim;
pub mod sandbox;

/// The sandbox image the tests run: `SANDBOX_IMAGE`, else the tag `script/build-image.sh`
/// recorded. Fails with a clear message when neither exists.
pub fn sandbox_image() -> anyhow::Result<String> {
    if let Ok(tag) = std::env::var("SANDBOX_IMAGE") {
        if !tag.is_empty() {
            return Ok(tag);
        }
    }
    Ok(operator::runner::recorded_sandbox_image()?)
}
