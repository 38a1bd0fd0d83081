//! Sidecar benchmarks against the real sandbox image under Docker, started with the operator's
//! least-privilege flags:
//!
//! 1. exec round trip of `true`: `POST /v1/exec` versus `docker exec <container> true` on the
//!    same container, interleaved, N each (p50, p90 and the ratio);
//! 2. container start → `/health` answering, R runs (p50, p90), with the sidecar's own
//!    process-start → listening time from its log;
//! 3. S concurrent `POST /v1/exec/stream` streams, each printing L numbered lines; every
//!    stream must deliver every line in order and end with `exit`.
//!
//! ```text
//! CARGO_TARGET_DIR=... cargo run --release -p agent-sidecar --example sidecar_bench \
//!     [-- N R S L]          # defaults 50 10 100 200
//! ```
//! The image is `SANDBOX_IMAGE` or the tag `script/build-image.sh` recorded.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use futures_util::StreamExt;

const TOKEN: &str = "bench-token-0123456789abcdef";
const CAPS: [&str; 9] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "SETUID",
    "SETGID",
    "KILL",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "AUDIT_WRITE",
];

fn image() -> anyhow::Result<String> {
    if let Ok(tag) = std::env::var("SANDBOX_IMAGE") {
        if !tag.is_empty() {
            return Ok(tag);
        }
    }
    let home = std::env::var("HOME").context("HOME")?;
    let file = PathBuf::from(home).join(".cache/agent-instance/sandbox-image");
    Ok(std::fs::read_to_string(&file)
        .with_context(|| format!("no image recorded at {file:?}"))?
        .trim()
        .to_string())
}

fn docker(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("docker").args(args).output()?;
    ensure!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `docker create` with the operator's flags, publishing the sidecar on `port`.
fn create(image: &str, port: u16) -> anyhow::Result<String> {
    let publish = format!("127.0.0.1:{port}:8080");
    let env = format!("SIDECAR_TOKEN={TOKEN}");
    let mut args = vec![
        "create",
        "--label",
        "agent-instance.test=1",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges:true",
        "-p",
        &publish,
        "-e",
        &env,
    ];
    for c in CAPS {
        args.extend(["--cap-add", c]);
    }
    args.push(image);
    docker(&args)
}

fn remove(id: &str) {
    let _ = Command::new("docker").args(["rm", "-f", "-v", id]).output();
}

async fn wait_health(http: &reqwest::Client, port: u16, within: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    let url = format!("http://127.0.0.1:{port}/health");
    loop {
        if let Ok(r) = http.get(&url).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if start.elapsed() > within {
            bail!("not healthy within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn summary(name: &str, mut v: Vec<Duration>) -> Duration {
    v.sort();
    let (p50, p90) = (pct(&v, 0.5), pct(&v, 0.9));
    println!(
        "{name:<34} n={:<3} p50={:>8.2?} p90={:>8.2?} min={:>8.2?} max={:>8.2?}",
        v.len(),
        p50,
        p90,
        v.first().copied().unwrap_or_default(),
        v.last().copied().unwrap_or_default()
    );
    p50
}

/// Milliseconds between the sidecar's `from` and `to` log lines.
fn startup_from_logs(id: &str, from: &str, to: &str) -> Option<f64> {
    let out = Command::new("docker").args(["logs", id]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let ts = |msg: &str| -> Option<chrono::DateTime<chrono::FixedOffset>> {
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["fields"]["message"] == msg)
            .and_then(|v| v["timestamp"].as_str().map(str::to_string))
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
    };
    let d = ts(to)? - ts(from)?;
    Some(d.num_microseconds()? as f64 / 1000.0)
}

async fn exec_round_trip(http: &reqwest::Client, image: &str, n: usize) -> anyhow::Result<()> {
    let port = free_port()?;
    let id = create(image, port)?;
    let result = async {
        docker(&["start", &id])?;
        wait_health(http, port, Duration::from_secs(30)).await?;
        let url = format!("http://127.0.0.1:{port}/v1/exec");
        let body = serde_json::json!({ "command": "true" });
        let (mut api, mut cli) = (Vec::new(), Vec::new());
        for i in 0..n + 3 {
            let t = Instant::now();
            let r = http
                .post(&url)
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
                .await?;
            ensure!(r.status().is_success(), "exec: {}", r.status());
            let v: serde_json::Value = r.json().await?;
            ensure!(v["exit_code"] == 0, "exec: {v}");
            let a = t.elapsed();
            let t = Instant::now();
            docker(&["exec", &id, "true"])?;
            let c = t.elapsed();
            if i >= 3 {
                api.push(a);
                cli.push(c);
            }
        }
        println!("== exec round trip of `true` (interleaved, after 3 warm-up pairs)");
        let a = summary("sidecar POST /v1/exec", api);
        let c = summary("docker exec <id> true", cli);
        println!(
            "ratio sidecar/docker-exec p50 = {:.3}",
            a.as_secs_f64() / c.as_secs_f64()
        );
        Ok(())
    }
    .await;
    remove(&id);
    result
}

async fn start_to_health(http: &reqwest::Client, image: &str, runs: usize) -> anyhow::Result<()> {
    let (mut total, mut cli, mut inner, mut open) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let port = free_port()?;
        let id = create(image, port)?;
        let t = Instant::now();
        let r = async {
            let poll = wait_health(http, port, Duration::from_secs(30));
            let start = async {
                let r = docker(&["start", &id]);
                (r, t.elapsed())
            };
            let (p, (s, cli_took)) = tokio::join!(poll, start);
            s?;
            p.map(|()| cli_took)
        }
        .await;
        let took = t.elapsed();
        let ms = |from, to| {
            startup_from_logs(&id, from, to).map(|ms| Duration::from_secs_f64(ms / 1000.0))
        };
        inner.extend(ms("starting", "sidecar listening"));
        open.extend(ms("starting", "sidecar identity loaded"));
        remove(&id);
        cli.push(r?);
        total.push(took);
    }
    println!("== container start -> /health (docker start issued at t=0, created beforehand)");
    summary("docker start -> /health 200", total);
    summary("`docker start` CLI returned", cli);
    summary("sidecar log: starting -> listening", inner);
    summary("  of which opening state (VES, ...)", open);
    Ok(())
}

async fn one_stream(http: reqwest::Client, url: String, lines: usize) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let cmd = format!("i=1; while [ $i -le {lines} ]; do echo line-$i; i=$((i+1)); done");
    let r = http
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({ "command": cmd }))
        .send()
        .await?;
    ensure!(r.status().is_success(), "stream: {}", r.status());
    let mut body = r.bytes_stream();
    let mut buf = String::new();
    while let Some(chunk) = body.next().await {
        buf.push_str(&String::from_utf8_lossy(&chunk?));
    }
    // SSE: "event: <name>\ndata: <json>\n\n" records.
    let (mut stdout, mut exit) = (String::new(), None);
    for record in buf.split("\n\n") {
        let mut name = "";
        let mut data = String::new();
        for l in record.lines() {
            if let Some(v) = l.strip_prefix("event:") {
                name = v.trim();
            } else if let Some(v) = l.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
        match name {
            "stdout" => {
                let v: serde_json::Value = serde_json::from_str(&data)?;
                stdout.push_str(v["data"].as_str().unwrap_or_default());
            }
            "exit" => exit = Some(serde_json::from_str::<serde_json::Value>(&data)?),
            "error" => bail!("error event: {data}"),
            _ => {}
        }
    }
    let exit = exit.context("no exit event")?;
    ensure!(exit["exit_code"] == 0, "exit: {exit}");
    let expected: Vec<String> = (1..=lines).map(|i| format!("line-{i}")).collect();
    let got: Vec<&str> = stdout.lines().collect();
    ensure!(
        got == expected,
        "lost or reordered output: {} of {lines} lines",
        got.len()
    );
    Ok(t.elapsed())
}

async fn concurrent_streams(image: &str, streams: usize, lines: usize) -> anyhow::Result<()> {
    let port = free_port()?;
    let id = create(image, port)?;
    let result = async {
        docker(&["start", &id])?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(streams)
            .build()?;
        wait_health(&http, port, Duration::from_secs(30)).await?;
        let url = format!("http://127.0.0.1:{port}/v1/exec/stream");
        let t = Instant::now();
        let tasks: Vec<_> = (0..streams)
            .map(|_| tokio::spawn(one_stream(http.clone(), url.clone(), lines)))
            .collect();
        let mut times = Vec::new();
        let mut failed = 0;
        for task in tasks {
            match task.await? {
                Ok(d) => times.push(d),
                Err(e) => {
                    failed += 1;
                    eprintln!("stream failed: {e:#}");
                }
            }
        }
        println!(
            "== {streams} concurrent exec streams x {lines} lines: {} complete, {failed} failed, wall {:.2?}",
            times.len(),
            t.elapsed()
        );
        summary("per-stream duration", times);
        ensure!(failed == 0, "{failed} streams lost output");
        Ok(())
    }
    .await;
    remove(&id);
    result
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().context("arguments are numbers"))
        .collect::<anyhow::Result<_>>()?;
    let arg = |i: usize, d: usize| args.get(i).copied().unwrap_or(d);
    let image = image()?;
    println!("image {image}");
    let http = reqwest::Client::new();
    exec_round_trip(&http, &image, arg(0, 50)).await?;
    start_to_health(&http, &image, arg(1, 10)).await?;
    concurrent_streams(&image, arg(2, 100), arg(3, 200)).await?;
    Ok(())
}
