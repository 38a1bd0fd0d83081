//! Our contracts on the devnet chain, deployed and configured by the project's forge scripts:
//! `DeployInstance` (the BSM), `CreateBlueprint` (the blueprint on Tangle core, with the BSM
//! as manager) and `ConfigureInstanceJobRates` (per-job prices).

use std::path::Path;
use std::process::Stdio;

use blueprint_sdk::alloy::primitives::Address;
use tokio::process::Command;

use crate::accounts::DEPLOYER_KEY;
use crate::DevnetError;

/// The base job rate (wei); job prices are `base × multiplier` (DESIGN "The eight jobs").
pub const BASE_RATE: u64 = 1_000_000_000_000;

#[derive(Clone, Debug)]
pub struct Deployment {
    pub bsm: Address,
    pub blueprint_id: u64,
    /// The AgentRegistry (only the service's operators may register, checked via the BSM).
    pub registry: Address,
}

async fn forge_script(
    root: &Path,
    tools_bin: &Path,
    rpc: &str,
    script: &str,
    env: &[(&str, String)],
    log: &Path,
) -> Result<String, DevnetError> {
    let out = Command::new(tools_bin.join("forge"))
        .current_dir(root)
        .args([
            "script",
            script,
            "--rpc-url",
            rpc,
            "--broadcast",
            "--private-key",
        ])
        .arg(format!("0x{DEPLOYER_KEY}"))
        .env(
            "PATH",
            format!(
                "{}:{}",
                tools_bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("FOUNDRY_BROADCAST", log.with_extension("broadcast"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| DevnetError::Setup(format!("forge: {e}")))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::write(log, &text);
    if !out.status.success() || !text.contains("ONCHAIN EXECUTION COMPLETE & SUCCESSFUL") {
        return Err(DevnetError::Setup(format!(
            "forge script {script} failed (log: {})",
            log.display()
        )));
    }
    Ok(text)
}

fn logged_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.trim()
            .strip_prefix(&format!("{key}="))
            .map(str::to_string)
    })
}

/// Deploys the BSM, creates the blueprint and sets the job rates.
pub async fn deploy(
    root: &Path,
    tools_bin: &Path,
    rpc: &str,
    tangle: Address,
    logs: &Path,
) -> Result<Deployment, DevnetError> {
    let tangle_env = ("TANGLE_ADDRESS", format!("{tangle:#x}"));
    let out = forge_script(
        root,
        tools_bin,
        rpc,
        "script/DeployInstance.s.sol:DeployInstance",
        std::slice::from_ref(&tangle_env),
        &logs.join("forge-deploy.log"),
    )
    .await?;
    let bsm: Address = logged_value(&out, "BSM_ADDRESS")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| DevnetError::Setup("DeployInstance printed no BSM_ADDRESS".into()))?;
    let bsm_env = ("BSM_ADDRESS", format!("{bsm:#x}"));
    let out = forge_script(
        root,
        tools_bin,
        rpc,
        "script/CreateBlueprint.s.sol:CreateBlueprint",
        &[tangle_env.clone(), bsm_env.clone()],
        &logs.join("forge-blueprint.log"),
    )
    .await?;
    let blueprint_id: u64 = logged_value(&out, "BLUEPRINT_ID")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| DevnetError::Setup("CreateBlueprint printed no BLUEPRINT_ID".into()))?;
    forge_script(
        root,
        tools_bin,
        rpc,
        "script/ConfigureInstanceJobRates.s.sol:ConfigureInstanceJobRates",
        &[
            tangle_env,
            bsm_env.clone(),
            ("BLUEPRINT_ID", blueprint_id.to_string()),
            ("BASE_RATE", BASE_RATE.to_string()),
        ],
        &logs.join("forge-rates.log"),
    )
    .await?;
    let out = forge_script(
        root,
        tools_bin,
        rpc,
        "script/DeployAgentRegistry.s.sol:DeployAgentRegistry",
        &[bsm_env, ("AGENT_REGISTRY_BSM", format!("{bsm:#x}"))],
        &logs.join("forge-registry.log"),
    )
    .await?;
    let registry: Address = logged_value(&out, "AGENT_REGISTRY")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| {
            DevnetError::Setup("DeployAgentRegistry printed no AGENT_REGISTRY".into())
        })?;
    Ok(Deployment {
        bsm,
        blueprint_id,
        registry,
    })
}
