//! The operator's Docker runtime against the real engine and the real sandbox image:
//! create → healthy → stop → start (same URL) → listed as ours → removed with its volumes.

use std::time::{Duration, Instant};

use agent_e2e_tests::sandbox_image;
use operator::sandbox::runtime::{free_port, wait_healthy};
use operator::sandbox::{DockerRuntime, SandboxResources, SandboxSpec, SandboxState};

#[tokio::test]
async fn sandbox_lifecycle_keeps_its_url_across_restarts() -> anyhow::Result<()> {
    let image = sandbox_image()?;
    let docker = operator::docker::connect(operator::docker::DEFAULT_TIMEOUT).await?;
    let rt = DockerRuntime::new(docker, Duration::from_secs(30));
    let host = "127.0.0.1".parse()?;
    let spec = SandboxSpec {
        service_id: 900_000 + u64::from(std::process::id() % 1000),
        operator: "0x90f79bf6eb2c4f870365e785982e1f101e93b906".into(),
        image,
        resources: SandboxResources::validate(1000, 512)?,
        public_host: host,
        sidecar_host_port: free_port(host)?,
        ssh_host_port: free_port(host)?,
        env: vec![(
            "SIDECAR_TOKEN".into(),
            "runtime-test-token-0123456789".into(),
        )],
    };
    let volumes = vec![spec.workspace_volume(), spec.state_volume()];
    rt.remove(&spec.container_name(), &volumes).await?;

    let result = async {
        let t0 = Instant::now();
        let id = rt.create(&spec).await?;
        rt.start(&id).await?;
        let url = format!("http://127.0.0.1:{}", spec.sidecar_host_port);
        wait_healthy(&url, Duration::from_secs(30)).await?;
        println!("create -> healthy: {:?}", t0.elapsed());

        assert!(matches!(
            rt.create(&spec).await,
            Err(operator::sandbox::RuntimeError::AlreadyExists(_))
        ));
        let status = rt.status(&id).await?.expect("exists");
        assert_eq!(status.state, SandboxState::Running);
        assert_eq!(status.service_id, Some(spec.service_id));
        assert!(rt
            .list_managed()
            .await?
            .iter()
            .any(|s| s.name == spec.container_name()));

        rt.stop(&id, Duration::from_secs(5)).await?;
        assert_eq!(
            rt.status(&id).await?.expect("exists").state,
            SandboxState::Stopped
        );
        let t1 = Instant::now();
        rt.start(&id).await?;
        wait_healthy(&url, Duration::from_secs(30)).await?;
        println!("restart -> healthy at the same URL: {:?}", t1.elapsed());
        anyhow::Ok(())
    }
    .await;
    rt.remove(&spec.container_name(), &volumes).await?;
    assert!(rt.status(&spec.container_name()).await?.is_none());
    result
}
