//! Operator benchmarks against the real Docker engine and sandbox image:
//! - PROVISION create → sidecar healthy, p50/p90 over N cold runs (fresh service each time);
//! - EXEC job overhead: the job (sandbox check + exec + stream commit) vs the bare sidecar
//!   exec call, over M runs in the same sandbox.
//!
//! `cargo run --release -p agent-e2e-tests --example operator_bench -- [N] [M]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_types::sealing::generate_customer_keypair;
use agent_types::AgentJobs::{ExecRequest, ProvisionRequest};
use operator::alloy::primitives::{Address, FixedBytes};
use operator::jobs::{exec, lifecycle, OperatorContext};
use operator::metrics::Metrics;
use operator::runner::open_manager;
use operator::settings::Settings;
use operator::sidecar_client::ExecCall;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{name}: n={} p50={:.1} ms p90={:.1} ms min={:.1} ms max={:.1} ms",
        v.len(),
        pct(&v, 0.5).as_secs_f64() * 1e3,
        pct(&v, 0.9).as_secs_f64() * 1e3,
        v[0].as_secs_f64() * 1e3,
        v[v.len() - 1].as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10);
    let m: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(50);
    let dir = tempfile::tempdir()?;
    let settings = Settings::new(
        Address::repeat_byte(0x42),
        dir.path().to_path_buf(),
        agent_e2e_tests::sandbox_image()?,
    );
    let ctx = OperatorContext {
        manager: open_manager(settings).await?,
        metrics: Arc::new(Metrics::new()?),
    };
    let (_, customer) = generate_customer_keypair();
    let req = ProvisionRequest {
        cpuMillis: 1000,
        memoryMb: 512,
        diskGb: 1,
        lifetimeSecs: 3600,
        idleTimeoutSecs: 0,
        image: String::new(),
        sshPublicKey: String::new(),
        customerX25519PublicKey: FixedBytes(customer),
        attestationNonce: FixedBytes([1; 32]),
    };
    let base = 700_000 + u64::from(std::process::id() % 10_000) * 100;
    let mut provision = Vec::new();
    for i in 0..n as u64 {
        let t = Instant::now();
        lifecycle::provision(&ctx, base + i, req.clone()).await?;
        provision.push(t.elapsed());
        if i + 1 < n as u64 {
            ctx.manager.deprovision(base + i).await?;
        }
    }
    summary("PROVISION create->ready (cold)", provision);

    let sid = base + n as u64 - 1;
    let rec = ctx
        .manager
        .store()
        .get(sid)?
        .ok_or_else(|| anyhow::anyhow!("no record"))?;
    let client = ctx.manager.client(&rec);
    let call = ExecCall {
        command: "true".into(),
        cwd: None,
        env: vec![],
        timeout_ms: 10_000,
    };
    let job = ExecRequest {
        command: "true".into(),
        cwd: String::new(),
        env: vec![],
        timeoutMs: 10_000,
    };
    let (mut bare, mut full) = (Vec::new(), Vec::new());
    for _ in 0..m {
        // Interleaved so that machine noise hits both alike.
        let t = Instant::now();
        client.exec(&call, Duration::from_secs(20)).await?;
        bare.push(t.elapsed());
        let t = Instant::now();
        exec::exec(&ctx, sid, job.clone()).await?;
        full.push(t.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        pct(v, 0.5)
    };
    let (b, f) = (median(&mut bare.clone()), median(&mut full.clone()));
    summary("sidecar exec call (bare)", bare);
    summary("EXEC job (record + exec + commit)", full);
    println!(
        "EXEC job overhead over the sidecar call: {:.1} ms at p50 ({:.2}x)",
        (f.as_secs_f64() - b.as_secs_f64()) * 1e3,
        f.as_secs_f64() / b.as_secs_f64()
    );
    ctx.manager.deprovision(sid).await?;
    Ok(())
}
