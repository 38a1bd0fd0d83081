//! The whole system the way a customer uses it: anvil with the real Tangle core, our BSM from
//! the forge scripts, three operator PROCESSES (each its own keystore, data directory and
//! Docker sandbox, results submitted by their own TangleConsumer), the customer CLI.
//!
//! Asserts chain state (endpoints and attestation hashes for all three, equal PROMPT hashes
//! and a unanimous consensus, a deliberately diverging operator shown as the minority), and
//! the failure cases: an operator down during PROMPT leaves the call incomplete and the CLI
//! names it (and it answers after its restart, without a duplicate sandbox); a customer
//! without permission cannot submit jobs.
//!
//! Needs the `operator` and `agentctl` binaries next to the test (script/test.sh builds them).

use std::net::SocketAddr;
use std::path::PathBuf;

use agent_cli::chain::{Chain, ChainOpts};
use agent_cli::results;
use agent_cli::service;
use anyhow::{ensure, Context};
use devnet::accounts::TANGLE;
use devnet::demo::Customer;
use devnet::{docker_host_gateway, llm, Devnet, DevnetConfig};

fn target_dir() -> anyhow::Result<PathBuf> {
    // <target>/debug/deps/devnet_e2e-<hash>
    let exe = std::env::current_exe()?;
    exe.parent()
        .and_then(|d| d.parent())
        .map(PathBuf::from)
        .context("target directory of the test binary")
}

fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let p = target_dir()?.join(name);
    ensure!(
        p.is_file(),
        "{} is missing: build it first (script/test.sh runs `cargo build -p agent-operator -p agent-cli`)",
        p.display()
    );
    Ok(p)
}

async fn chain(net: &Devnet) -> anyhow::Result<Chain> {
    let mut opts = ChainOpts::new(net.anvil.http.clone(), TANGLE);
    opts.bsm = Some(net.deployment.bsm);
    Ok(Chain::connect(&opts)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_operators_every_job_on_chain() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()?;
    let work = tempfile::Builder::new().prefix("devnet-e2e-").tempdir()?;
    let config = DevnetConfig {
        tools_bin: root.join(".tools/bin"),
        root,
        operator_binary: binary("operator")?,
        cli_binary: binary("agentctl")?,
        indexer_binary: binary("agent-indexer")?,
        sandbox_image: agent_e2e_tests::sandbox_image()?,
        work_dir: work.path().to_path_buf(),
        operators: 3,
        llm_base_url: None,
        llm_model: None,
    };
    let mut net = Devnet::up(config, |s| println!("devnet: {s}")).await?;
    let outcome = scenario(&mut net).await;
    if outcome.is_err() {
        for op in &net.operators {
            if let Ok(log) = std::fs::read_to_string(&op.log) {
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                eprintln!("--- {} log (last lines) ---", op.account.name);
                for l in tail.into_iter().rev() {
                    eprintln!("{l}");
                }
            }
        }
    }
    net.down().await;
    outcome
}

async fn scenario(net: &mut Devnet) -> anyhow::Result<()> {
    let c = Customer::of(net, false);
    std::fs::create_dir_all(&c.dir)?;
    let chain = chain(net).await?;
    let sid = net.service_id;
    let sid_s = sid.to_string();
    let key = c.key_file().display().to_string();
    c.run(&["keygen", "--out", &key, "--force"]).await?;

    // PROVISION: all three endpoints and attestation hashes on chain.
    c.submit(&["provision", "--customer-key", &key], 180)
        .await?;
    let endpoints = service::endpoints(&chain, sid).await?;
    ensure!(endpoints.endpoints.len() == 3, "{endpoints:?}");
    for e in &endpoints.endpoints {
        ensure!(e.provisioned, "operator {} not provisioned", e.operator);
        ensure!(
            !e.attestation_hash.is_zero(),
            "no attestation hash for {}",
            e.operator
        );
        let health = reqwest::get(format!("{}/health", e.sidecar_url)).await?;
        ensure!(
            health.status().is_success(),
            "{} does not answer",
            e.sidecar_url
        );
    }

    // Each sandbox's agent is announced in the registry by its operator and found through the
    // discovery index with a verified manifest; a restarted index rebuilds from the chain.
    let found = c
        .wait_discovered(&net.indexer.url, 3, std::time::Duration::from_secs(90))
        .await?;
    ensure!(found.len() == 3, "{found:?}");
    net.indexer.restart().await?;
    let again = c
        .wait_discovered(&net.indexer.url, 3, std::time::Duration::from_secs(60))
        .await?;
    ensure!(
        again.iter().collect::<std::collections::BTreeSet<_>>()
            == found.iter().collect::<std::collections::BTreeSet<_>>(),
        "the rebuilt index differs: {found:?} vs {again:?}"
    );
    let (ok, resolved) = c
        .run_raw(&[
            "--json",
            "resolve",
            "--index-url",
            &net.indexer.url,
            &found[0],
        ])
        .await?;
    ensure!(ok && resolved.contains("\"manifest\""), "{resolved}");

    // PROMPT: three equal hashes, unanimous.
    let (prompt_call, _) = c
        .submit(
            &["prompt", "--prompt", "Name a prime number.", "--seed", "1"],
            300,
        )
        .await?;
    let r = results::fetch(&chain, sid, prompt_call).await?;
    ensure!(r.hashes.len() == 3, "{r:?}");
    ensure!(
        r.hashes.windows(2).all(|w| w[0].hash == w[1].hash),
        "hashes differ: {r:?}"
    );
    ensure!(
        r.consensus.agreeing == 3 && r.consensus.answered == 3 && r.unanimous,
        "{r:?}"
    );

    // The other jobs complete through the same path.
    let access = c.access_file().display().to_string();
    c.run(&[
        "open-access",
        "--service-id",
        &sid_s,
        "--key",
        &key,
        "--out",
        &access,
        "--force",
    ])
    .await?;
    c.submit(
        &["exec", "--command", "echo e2e > proof.txt && cat proof.txt"],
        120,
    )
    .await?;
    let wf = c.dir.join("wf.json");
    std::fs::write(
        &wf,
        r#"{"name":"e2e","steps":[{"id":"a","kind":{"type":"command","program":"echo","args":["a"]}}]}"#,
    )?;
    let wf = wf.display().to_string();
    let (task_call, _) = c.submit(&["task", "--workflow", &wf], 300).await?;
    let r = results::fetch(&chain, sid, task_call).await?;
    ensure!(
        r.consensus.agreeing == 3,
        "workflow TASK results differ: {r:?}"
    );
    c.submit(&["snapshot"], 300).await?;
    for op in &net.operators {
        let addr = format!("{:#x}", op.account.address);
        c.run(&[
            "verify",
            "log",
            "--service-id",
            &sid_s,
            "--operator",
            &addr,
            "--access",
            &access,
            "--commit",
        ])
        .await
        .with_context(|| format!("event log of {}", op.account.name))?;
    }

    // A deliberately diverging operator (its LLM answers differently) is the minority.
    let gateway = docker_host_gateway()?;
    let odd = llm::serve_salted(SocketAddr::new(gateway, 0), " (divergent)").await?;
    let mut odd_env = net.operator_env.clone();
    odd_env.llm_base_url = Some(format!("http://{odd}/v1"));
    let carol = net.operators.get_mut(2).context("third operator")?;
    let carol_addr = carol.account.address;
    carol.stop().await;
    // Its sandbox keeps the old LLM settings; recreate it with the divergent one.
    devnet::remove_sandboxes(&format!("{carol_addr:#x}"));
    carol.restart(&odd_env).await?;
    c.submit(&["provision", "--customer-key", &key], 180)
        .await?;
    let (call, _) = c
        .submit(
            &["prompt", "--prompt", "Name a prime number.", "--seed", "1"],
            300,
        )
        .await?;
    let r = results::fetch(&chain, sid, call).await?;
    ensure!(
        r.consensus.agreeing == 2 && r.consensus.answered == 3,
        "{r:?}"
    );
    ensure!(
        r.minority == vec![carol_addr] && r.majority,
        "carol should be the minority: {r:?}"
    );

    // One operator down during PROMPT: the call stays incomplete and the CLI names it.
    let bob = net.operators.get_mut(1).context("second operator")?;
    let bob_addr = bob.account.address;
    bob.stop().await;
    let (ok, out) = c
        .run_raw(&[
            "submit",
            "--service-id",
            &sid_s,
            "prompt",
            "--prompt",
            "Still there?",
            "--wait",
            "--timeout",
            "15",
        ])
        .await?;
    ensure!(
        !ok,
        "the PROMPT must not complete with an operator down:\n{out}"
    );
    ensure!(out.contains("INCOMPLETE"), "{out}");
    ensure!(
        out.contains("no result from") && out.contains(&bob_addr.to_string()),
        "the CLI must name the missing operator:\n{out}"
    );
    let pending = devnet::demo::call_id_in(&out)?;
    // Restarted, it catches up on the call it missed; its sandbox is reconciled, not duplicated.
    let operator_env = net.operator_env.clone();
    let bob = net.operators.get_mut(1).context("second operator")?;
    bob.restart(&operator_env).await?;
    let (ok, out) = c
        .run_raw(&[
            "wait",
            "--service-id",
            &sid_s,
            "--call-id",
            &pending.to_string(),
            "--timeout",
            "120",
        ])
        .await?;
    ensure!(
        ok && out.contains("COMPLETED"),
        "the restarted operator should answer:\n{out}"
    );
    let containers = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=agent-instance.operator={bob_addr:#x}"),
        ])
        .output()?;
    ensure!(
        String::from_utf8_lossy(&containers.stdout).lines().count() == 1,
        "one sandbox for bob after the restart"
    );

    // A customer without permission cannot submit jobs.
    let (ok, out) = c
        .run_raw_as(
            "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
            &["submit", "--service-id", &sid_s, "exec", "--command", "id"],
        )
        .await?;
    ensure!(!ok, "a stranger's EXEC must be refused:\n{out}");
    ensure!(out.to_lowercase().contains("permitted"), "{out}");

    // DEPROVISION: every sandbox gone.
    c.submit(&["deprovision", "--reason", "e2e done"], 180)
        .await?;
    let endpoints = service::endpoints(&chain, sid).await?;
    ensure!(
        endpoints.endpoints.iter().all(|e| !e.provisioned),
        "{endpoints:?}"
    );
    // ... and their agents exited in the registry: the index lists no active agent.
    let start = std::time::Instant::now();
    loop {
        let (ok, out) = c
            .run_raw(&[
                "--json",
                "discover",
                "--index-url",
                &net.indexer.url,
                "--category",
                "llm",
            ])
            .await?;
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        if ok && v["results"].as_array().is_some_and(|r| r.is_empty()) {
            break;
        }
        ensure!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "agents still active after DEPROVISION:\n{out}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Ok(())
}
