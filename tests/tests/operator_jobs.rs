//! The operator's jobs against the real Docker engine and the real sandbox image:
//! PROVISION (idempotent, sealed access, development attestation) → EXEC → SSH provision and
//! revoke → SNAPSHOT → operator restart (reconciled, no duplicate) → container removed behind
//! the operator's back (recreated, workspace kept) → idle stop and transparent resume →
//! DEPROVISION (container, volumes and record gone).

use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_e2e_tests::sandbox_image;
use agent_types::sealing::{generate_customer_keypair, open_access};
use agent_types::AgentJobs::{
    DeprovisionRequest, ExecRequest, ProvisionRequest, SnapshotRequest, SshProvisionRequest,
    SshRevokeRequest,
};
use anyhow::{ensure, Context};
use operator::alloy::primitives::{Address, FixedBytes};
use operator::attestation::development::DevelopmentAttestation;
use operator::attestation::report_data;
use operator::jobs::{exec, lifecycle, snapshot, ssh, OperatorContext};
use operator::metrics::Metrics;
use operator::runner::open_manager;
use operator::settings::Settings;

const SSH_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF8TM/gS/VamNjFneKKItNYHw8028ziB/7x1lcyFd5RU test@example";

async fn context(settings: &Settings) -> anyhow::Result<OperatorContext> {
    Ok(OperatorContext {
        manager: open_manager(settings.clone()).await?,
        metrics: Arc::new(Metrics::new()?),
    })
}

fn exec_req(command: &str) -> ExecRequest {
    ExecRequest {
        command: command.into(),
        cwd: String::new(),
        env: vec![],
        timeoutMs: 30_000,
    }
}

async fn containers_of(ctx: &OperatorContext, service_id: u64) -> anyhow::Result<usize> {
    Ok(ctx
        .manager
        .runtime()
        .list_managed()
        .await?
        .iter()
        .filter(|c| c.service_id == Some(service_id))
        .count())
}

#[tokio::test]
async fn operator_jobs_against_real_sandboxes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let operator = Address::from_slice(&rand_bytes());
    let mut settings = Settings::new(operator, dir.path().to_path_buf(), sandbox_image()?);
    settings.attestation = "development".into();
    let service_id = 800_000 + u64::from(std::process::id() % 100_000);
    let ctx = context(&settings).await?;
    let result = scenario(&settings, ctx.clone(), service_id).await;
    // Whatever happened, leave nothing behind.
    let cleanup = ctx.manager.deprovision(service_id).await;
    result?;
    cleanup?;
    Ok(())
}

async fn scenario(
    settings: &Settings,
    ctx: OperatorContext,
    service_id: u64,
) -> anyhow::Result<()> {
    let (customer_secret, customer_public) = generate_customer_keypair();
    let nonce = [7u8; 32];
    let provision = ProvisionRequest {
        cpuMillis: 1000,
        memoryMb: 512,
        diskGb: 1,
        lifetimeSecs: 3600,
        idleTimeoutSecs: 0,
        image: String::new(),
        sshPublicKey: SSH_KEY.into(),
        customerX25519PublicKey: FixedBytes(customer_public),
        attestationNonce: FixedBytes(nonce),
    };

    // PROVISION: a healthy sandbox, the token sealed to the customer, attestation bound to the
    // nonce and the sidecar key.
    let t0 = Instant::now();
    let (p, _) = lifecycle::provision(&ctx, service_id, provision.clone()).await?;
    println!("PROVISION create -> ready: {:?}", t0.elapsed());
    let token = open_access(
        &customer_secret,
        service_id,
        &settings.operator.into_array(),
        &p.sealedAccess,
    )?;
    let rec = ctx
        .manager
        .store()
        .get(service_id)?
        .context("record written")?;
    ensure!(
        token == rec.token.as_bytes(),
        "sealed token opens to the sidecar token"
    );
    ensure!(p.sidecarUrl == rec.sidecar_url && p.sandboxId == rec.container_name);
    let rd = report_data(&nonce, &p.sidecarPublicKey.0);
    ensure!(
        DevelopmentAttestation::verify(&p.attestation, &rd),
        "development evidence binds nonce and sidecar key"
    );
    let health = reqwest::get(format!("{}/health", p.sidecarUrl)).await?;
    ensure!(health.status().is_success(), "sidecar URL answers");
    // Someone else's key cannot open it.
    let (other_secret, _) = generate_customer_keypair();
    ensure!(open_access(
        &other_secret,
        service_id,
        &settings.operator.into_array(),
        &p.sealedAccess
    )
    .is_err());

    // Idempotent: the same sandbox again, not a second container.
    let (p2, _) = lifecycle::provision(&ctx, service_id, provision.clone()).await?;
    ensure!(p2.sandboxId == p.sandboxId && p2.sidecarUrl == p.sidecarUrl);
    ensure!(
        containers_of(&ctx, service_id).await? == 1,
        "one container per service"
    );

    // EXEC, anchored to the committed stream head.
    let (e, _) = exec::exec(
        &ctx,
        service_id,
        exec_req("echo hello > note.txt && cat note.txt && id -un"),
    )
    .await?;
    ensure!(e.exitCode == 0, "exec failed: {}", e.stderr);
    ensure!(e.stdout == "hello\nagent\n", "stdout {:?}", e.stdout);
    ensure!(e.vesSequence > 0 && e.vesStateRoot.0 != [0u8; 32]);
    let (e_fail, _) = exec::exec(&ctx, service_id, exec_req("exit 3")).await?;
    ensure!(e_fail.exitCode == 3 && e_fail.vesSequence > e.vesSequence);

    // SSH keys: provision (fingerprint) and revoke.
    let key = SshProvisionRequest {
        username: String::new(),
        publicKey: SSH_KEY.into(),
    };
    let (k, _) = ssh::provision(&ctx, service_id, key).await?;
    ensure!(k.success && k.fingerprint.starts_with("SHA256:"), "{k:?}");
    let revoke = SshRevokeRequest {
        username: String::new(),
        publicKey: SSH_KEY.into(),
    };
    let (r, _) = ssh::revoke(&ctx, service_id, revoke).await?;
    ensure!(r.success);
    let (bad, _) = ssh::provision(
        &ctx,
        service_id,
        SshProvisionRequest {
            username: String::new(),
            publicKey: "ssh-ed25519 not-base64!".into(),
        },
    )
    .await?;
    ensure!(!bad.success, "a malformed key is refused on chain");

    // SNAPSHOT (local).
    let snap = SnapshotRequest {
        destinationUrl: String::new(),
        includeState: false,
        dockerCommit: false,
    };
    let (s, _) = snapshot::snapshot(&ctx, service_id, snap).await?;
    ensure!(s.sizeBytes > 0 && s.location.starts_with("local:") && s.sha256.0 != [0u8; 32]);
    ensure!(s.vesSequence > e_fail.vesSequence);

    // Operator restart with the sandbox running: reconciled, no duplicate container.
    drop(ctx);
    let ctx = context(settings).await?;
    let report = ctx.manager.reconcile().await?;
    ensure!(
        report.healthy == 1 && report.recreated.is_empty(),
        "{report:?}"
    );
    ensure!(containers_of(&ctx, service_id).await? == 1);

    // The container is removed behind the operator's back: the next job recreates it at the
    // same URL, and the workspace volume survives.
    ctx.manager
        .runtime()
        .remove(&rec.container_name, &[])
        .await?;
    let (e3, _) = exec::exec(&ctx, service_id, exec_req("cat note.txt")).await?;
    ensure!(
        e3.stdout == "hello\n",
        "workspace kept after recreation: {:?}",
        e3.stdout
    );
    ensure!(containers_of(&ctx, service_id).await? == 1);
    let rec2 = ctx.manager.store().get(service_id)?.context("record")?;
    ensure!(
        rec2.sidecar_url == rec.sidecar_url,
        "same URL after recreation"
    );
    ensure!(
        rec2.sidecar_public_key == rec.sidecar_public_key,
        "identity kept"
    );

    // Idle policy: stopped when idle, resumed transparently by the next job.
    let mut idle = rec2.clone();
    idle.idle_timeout_secs = 1;
    idle.last_activity = 0;
    ctx.manager.store().put(&idle)?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let sweep = ctx.manager.sweep().await?;
    ensure!(sweep.stopped_idle == vec![service_id], "{sweep:?}");
    let st = ctx
        .manager
        .runtime()
        .status(&rec.container_name)
        .await?
        .context("exists")?;
    ensure!(st.state == operator::sandbox::SandboxState::Stopped);
    let t1 = Instant::now();
    let (e4, _) = exec::exec(&ctx, service_id, exec_req("cat note.txt")).await?;
    println!("resume after idle stop -> exec done: {:?}", t1.elapsed());
    ensure!(e4.stdout == "hello\n");

    // DEPROVISION: everything gone.
    let (d, _) = lifecycle::deprovision(
        &ctx,
        service_id,
        DeprovisionRequest {
            reason: "test".into(),
        },
    )
    .await?;
    ensure!(d.success);
    ensure!(containers_of(&ctx, service_id).await? == 0);
    ensure!(ctx.manager.store().get(service_id)?.is_none());
    let err = exec::exec(&ctx, service_id, exec_req("true")).await;
    ensure!(err.is_err(), "no sandbox after deprovision");
    Ok(())
}

/// 20 bytes that differ between test runs (a fresh operator address per run).
fn rand_bytes() -> [u8; 20] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut out = [0x5a; 20];
    out[..16].copy_from_slice(&nanos.to_be_bytes());
    out[16..].copy_from_slice(&std::process::id().to_be_bytes());
    out
}
