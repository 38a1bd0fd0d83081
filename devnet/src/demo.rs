//! The customer's side of the devnet: every job through real on-chain calls with `agentctl`
//! (the customer CLI, run as a customer would run it), each step's output printed, and a
//! report of the call ids and latencies for the end-to-end test and the docs.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::process::Command;

use crate::accounts::DEPLOYER_KEY;
use crate::Devnet;

/// One job's latency from `submitJob` to the last required result on chain.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    pub step: String,
    pub call_id: Option<u64>,
    pub ms: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct DemoReport {
    pub steps: Vec<StepReport>,
    pub prompt_call: Option<u64>,
    pub task_call: Option<u64>,
    pub workflow_call: Option<u64>,
    pub total_ms: u64,
}

/// The customer, driving `agentctl`.
pub struct Customer {
    pub bin: PathBuf,
    pub dir: PathBuf,
    pub rpc: String,
    pub service_id: u64,
    /// Print each command's output (the demo); tests keep it quiet.
    pub echo: bool,
}

impl Customer {
    pub fn of(net: &Devnet, echo: bool) -> Self {
        Self {
            bin: net.config.cli_binary.clone(),
            dir: net.config.work_dir.join("customer"),
            rpc: net.anvil.http.clone(),
            service_id: net.service_id,
            echo,
        }
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.join("customer.key")
    }

    pub fn access_file(&self) -> PathBuf {
        self.dir.join("access.json")
    }

    /// Runs `agentctl <args>`; returns its stdout. A non-zero exit is an error carrying the
    /// output.
    pub async fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.run_raw(args).await?;
        if !out.0 {
            anyhow::bail!("agentctl {} failed:\n{}", args.join(" "), out.1);
        }
        Ok(out.1)
    }

    /// Runs `agentctl <args>`; returns (success, stdout + stderr).
    pub async fn run_raw(&self, args: &[&str]) -> anyhow::Result<(bool, String)> {
        self.run_raw_as(&format!("0x{DEPLOYER_KEY}"), args).await
    }

    /// Runs `agentctl <args>` signing with another account's key.
    pub async fn run_raw_as(&self, key: &str, args: &[&str]) -> anyhow::Result<(bool, String)> {
        let out = Command::new(&self.bin)
            .args(args)
            .current_dir(&self.dir)
            .env("AGENT_RPC_URL", &self.rpc)
            .env("AGENT_PRIVATE_KEY", key)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| anyhow::anyhow!("agentctl ({}): {e}", self.bin.display()))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if self.echo {
            for line in text.lines() {
                println!("    {line}");
            }
        }
        Ok((out.status.success(), text))
    }

    /// `submit --service-id S <job args> --wait`; returns the call id and the wall time.
    pub async fn submit(&self, job: &[&str], timeout_secs: u64) -> anyhow::Result<(u64, Duration)> {
        let sid = self.service_id.to_string();
        let timeout = timeout_secs.to_string();
        let mut args = vec!["submit", "--service-id", &sid];
        args.extend_from_slice(job);
        args.extend_from_slice(&["--wait", "--timeout", &timeout]);
        let t = Instant::now();
        let out = self.run(&args).await?;
        Ok((call_id_in(&out)?, t.elapsed()))
    }
}

impl Customer {
    /// Polls `agentctl discover --category llm` until `n` agents with verified manifests are
    /// found; returns their ids.
    pub async fn wait_discovered(
        &self,
        index_url: &str,
        n: usize,
        within: Duration,
    ) -> anyhow::Result<Vec<String>> {
        let start = Instant::now();
        loop {
            let (ok, out) = self
                .run_quiet(&[
                    "--json",
                    "discover",
                    "--index-url",
                    index_url,
                    "--category",
                    "llm",
                ])
                .await?;
            if ok {
                let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
                let ids: Vec<String> = v["results"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["agent_id"].as_str().map(str::to_string))
                    .collect();
                if ids.len() >= n {
                    return Ok(ids);
                }
            }
            if start.elapsed() > within {
                anyhow::bail!(
                    "the discovery index found fewer than {n} agents within {within:?}:\n{out}"
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn run_quiet(&self, args: &[&str]) -> anyhow::Result<(bool, String)> {
        let out = Command::new(&self.bin)
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .await?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ))
    }
}

/// The call id in `submit`'s human output ("... call id N ...").
pub fn call_id_in(text: &str) -> anyhow::Result<u64> {
    text.split("call id ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no call id in agentctl output:\n{text}"))
}

const WORKFLOW: &str = r#"{
  "name": "inspect-sandbox",
  "steps": [
    {"id": "kernel", "kind": {"type": "command", "program": "uname", "args": ["-s"]}},
    {"id": "user", "kind": {"type": "command", "program": "id", "args": ["-un"]}},
    {"id": "report", "kind": {"type": "command", "program": "sh", "args": ["-c", "echo inspected"]},
     "depends_on": ["kernel", "user"]}
  ]
}"#;

/// A throwaway ed25519 public key in OpenSSH format for the SSH jobs.
const SSH_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF8TM/gS/VamNjFneKKItNYHw8028ziB/7x1lcyFd5RU devnet-customer";

fn header(echo: bool, title: &str) {
    if echo {
        println!("\n==> {title}");
    }
}

/// Runs every job once and the verifications; returns the report.
pub async fn run(net: &Devnet, echo: bool) -> anyhow::Result<DemoReport> {
    let c = Customer::of(net, echo);
    std::fs::create_dir_all(&c.dir)?;
    let started = Instant::now();
    let mut report = DemoReport::default();
    let step = |name: &str, call: Option<u64>, took: Duration, report: &mut DemoReport| {
        report.steps.push(StepReport {
            step: name.to_string(),
            call_id: call,
            ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        });
    };
    let sid = net.service_id.to_string();
    let key = c.key_file().display().to_string();
    let access = c.access_file().display().to_string();

    header(
        echo,
        "customer key (X25519; the sidecar tokens are sealed to it)",
    );
    c.run(&["keygen", "--out", &key, "--force"]).await?;

    header(
        echo,
        "PROVISION: every operator creates its sandbox (required results = 3)",
    );
    let (call, took) = c
        .submit(
            &[
                "provision",
                "--customer-key",
                &key,
                "--cpu-millis",
                "1000",
                "--memory-mb",
                "512",
                "--lifetime-secs",
                "3600",
            ],
            180,
        )
        .await?;
    step("PROVISION", Some(call), took, &mut report);

    header(
        echo,
        "the three sidecar URLs and attestation hashes (getOperatorEndpoints)",
    );
    c.run(&["endpoints", "--service-id", &sid]).await?;

    header(
        echo,
        "the three agents, announced in the AgentRegistry and found through the discovery index",
    );
    let t = Instant::now();
    let found = c
        .wait_discovered(&net.indexer.url, 3, Duration::from_secs(90))
        .await?;
    step("registry → index", None, t.elapsed(), &mut report);
    c.run(&[
        "discover",
        "--index-url",
        &net.indexer.url,
        "--q",
        "workflow",
        "--limit",
        "3",
    ])
    .await?;
    if let Some(id) = found.first() {
        c.run(&["resolve", "--index-url", &net.indexer.url, id])
            .await?;
    }

    header(
        echo,
        "opening the sealed access tokens with the customer key",
    );
    c.run(&[
        "open-access",
        "--service-id",
        &sid,
        "--key",
        &key,
        "--out",
        &access,
        "--force",
    ])
    .await?;

    header(echo, "EXEC (any one operator suffices)");
    let (call, took) = c
        .submit(
            &[
                "exec",
                "--command",
                "echo hello from $(id -un) on $(uname -s)",
            ],
            120,
        )
        .await?;
    step("EXEC", Some(call), took, &mut report);

    header(echo, "live output from every sidecar, side by side");
    c.run(&[
        "stream",
        "exec",
        "--service-id",
        &sid,
        "--access",
        &access,
        "--command",
        "for i in 1 2 3; do echo tick $i; sleep 0.2; done",
    ])
    .await?;

    if net.canned_llm.is_some() {
        header(
            echo,
            "PROMPT and TASK use the CANNED LLM stand-in (no endpoint given; answers are canned)",
        );
    }
    header(
        echo,
        "PROMPT: every operator answers; result hashes compared on chain",
    );
    let (call, took) = c
        .submit(
            &[
                "prompt",
                "--prompt",
                "What is the capital of France?",
                "--seed",
                "7",
            ],
            300,
        )
        .await?;
    step("PROMPT", Some(call), took, &mut report);
    report.prompt_call = Some(call);
    c.run(&[
        "results",
        "--service-id",
        &sid,
        "--call-id",
        &call.to_string(),
    ])
    .await?;

    header(echo, "TASK (prompt, tool loop in the sandbox)");
    let (call, took) = c
        .submit(
            &[
                "task",
                "--prompt",
                "Find out which kernel the sandbox runs.",
                "--max-turns",
                "4",
                "--seed",
                "7",
            ],
            300,
        )
        .await?;
    step("TASK (prompt)", Some(call), took, &mut report);
    report.task_call = Some(call);
    c.run(&[
        "results",
        "--service-id",
        &sid,
        "--call-id",
        &call.to_string(),
    ])
    .await?;

    header(
        echo,
        "TASK (workflow: a DAG run by each sandbox's orchestrator)",
    );
    let wf = c.dir.join("workflow.json");
    std::fs::write(&wf, WORKFLOW)?;
    let wf = wf.display().to_string();
    let (call, took) = c.submit(&["task", "--workflow", &wf], 300).await?;
    step("TASK (workflow)", Some(call), took, &mut report);
    report.workflow_call = Some(call);
    c.run(&[
        "results",
        "--service-id",
        &sid,
        "--call-id",
        &call.to_string(),
    ])
    .await?;

    header(echo, "SSH_PROVISION and SSH_REVOKE");
    let (call, took) = c
        .submit(
            &["ssh-provision", "--username", "agent", "--key", SSH_KEY],
            120,
        )
        .await?;
    step("SSH_PROVISION", Some(call), took, &mut report);
    let (call, took) = c
        .submit(
            &["ssh-revoke", "--username", "agent", "--key", SSH_KEY],
            120,
        )
        .await?;
    step("SSH_REVOKE", Some(call), took, &mut report);

    header(
        echo,
        "SNAPSHOT (workspace archive; digest and size on chain)",
    );
    let (call, took) = c.submit(&["snapshot"], 300).await?;
    step("SNAPSHOT", Some(call), took, &mut report);

    header(echo, "verifying every sandbox's event log (signatures, receipts, Merkle proofs, on-chain anchor)");
    for op in &net.operators {
        let addr = format!("{:#x}", op.account.address);
        c.run(&[
            "verify",
            "log",
            "--service-id",
            &sid,
            "--operator",
            &addr,
            "--access",
            &access,
            "--commit",
        ])
        .await?;
    }

    header(
        echo,
        "verifying an orchestrator receipt of the workflow TASK (basic and full)",
    );
    let first = net
        .operators
        .first()
        .ok_or_else(|| anyhow::anyhow!("no operators"))?;
    let addr = format!("{:#x}", first.account.address);
    let run_id = latest_run_id(&c, first.account.address).await?;
    c.run(&[
        "verify",
        "receipt",
        "--run-id",
        &run_id,
        "--service-id",
        &sid,
        "--operator",
        &addr,
        "--access",
        &access,
    ])
    .await?;

    header(echo, "DEPROVISION (every operator)");
    let (call, took) = c
        .submit(&["deprovision", "--reason", "devnet demo done"], 180)
        .await?;
    step("DEPROVISION", Some(call), took, &mut report);
    c.run(&["endpoints", "--service-id", &sid]).await?;

    report.total_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if echo {
        println!(
            "\n==> per-job latency, submitJob → last required result on chain ({} operators)",
            net.operators.len()
        );
        for s in &report.steps {
            println!(
                "    {:<16} call {:>3}  {:>6} ms",
                s.step,
                s.call_id.map_or("-".into(), |c| c.to_string()),
                s.ms
            );
        }
        println!(
            "    customer flow total: {:.1} s",
            report.total_ms as f64 / 1000.0
        );
    }
    Ok(report)
}

/// The newest orchestrator run on an operator's sidecar (`GET /v1/runs`), using the opened
/// access token.
async fn latest_run_id(
    c: &Customer,
    operator: blueprint_sdk::alloy::primitives::Address,
) -> anyhow::Result<String> {
    let access = agent_cli::access::AccessFile::read(&c.access_file())?;
    let entry = access
        .operators
        .iter()
        .find(|o| o.operator == operator)
        .ok_or_else(|| anyhow::anyhow!("no access entry for {operator:#x}"))?;
    let (url, token) = (&entry.sidecar_url, &entry.token);
    let runs: serde_json::Value = reqwest::Client::new()
        .get(format!("{url}/v1/runs?limit=1"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    runs["runs"][0]["run_id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("the sidecar lists no workflow run"))
}
