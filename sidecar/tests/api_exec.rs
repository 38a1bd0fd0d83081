//! `POST /v1/exec` and `POST /v1/exec/stream` against a real sidecar on a loopback port.

mod common;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

use common::{start, TOKEN};

#[tokio::test]
async fn success_nonzero_exit_stderr_env_and_cwd() {
    let h = start(&[]).await;
    let (s, b) = h.post("/v1/exec", json!({"command": "echo hello"})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["exit_code"], 0);
    assert_eq!(b["stdout"], "hello\n");
    assert_eq!(b["stderr"], "");
    assert_eq!(b["timed_out"], false);
    assert_eq!(b["truncated"], false);
    assert!(b["duration_ms"].is_u64());

    let (_, b) = h
        .post("/v1/exec", json!({"command": "echo oops >&2; exit 7"}))
        .await;
    assert_eq!(b["exit_code"], 7);
    assert_eq!(b["stderr"], "oops\n");

    let (_, b) = h
        .post(
            "/v1/exec",
            json!({"command": "printf '%s|%s' \"$GREETING\" \"$SECRET_LEAK\"", "env": ["GREETING=hi there"]}),
        )
        .await;
    // The sidecar's own environment is not inherited.
    assert_eq!(b["stdout"], "hi there|");

    std::fs::create_dir_all(h.ws().join("sub/dir")).expect("mkdir");
    let (_, b) = h
        .post("/v1/exec", json!({"command": "pwd", "cwd": "sub/dir"}))
        .await;
    let expected = h.ws().canonicalize().expect("canon").join("sub/dir");
    assert_eq!(b["stdout"], format!("{}\n", expected.display()));

    for bad in [
        json!({"command": "true", "cwd": "../"}),
        json!({"command": "true", "cwd": "/etc"}),
        json!({"command": "true", "env": ["1BAD=x"]}),
        json!({"command": "true", "env": ["NOEQUALS"]}),
        json!({"command": "true", "timeout_ms": 0}),
        json!({"command": ""}),
    ] {
        let (s, b) = h.post("/v1/exec", bad.clone()).await;
        assert_eq!(s, 400, "{bad} -> {b}");
        assert_eq!(b["error"]["code"], "bad_request");
    }
}

fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A zombie waiting for its (re)parent to reap it is no longer running.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn timeout_returns_124_and_kills_the_process_group() {
    let h = start(&[]).await;
    let started = Instant::now();
    // The background sleep ignores SIGTERM, so only the group SIGKILL can end it.
    let (s, b) = h
        .post(
            "/v1/exec",
            json!({"command": "(trap '' TERM; exec sleep 30) & echo $!; sleep 30", "timeout_ms": 300}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["exit_code"], 124);
    assert_eq!(b["timed_out"], true);
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid: u32 = b["stdout"]
        .as_str()
        .and_then(|s| s.trim().parse().ok())
        .expect("background pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !process_gone(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(process_gone(pid), "background process {pid} survived");
}

#[tokio::test]
async fn output_is_capped_with_truncated_flag() {
    let h = start(&[("SIDECAR_EXEC_MAX_OUTPUT", "1000")]).await;
    // 2 MB of output: the child must not block on a full pipe even though most is dropped.
    let (s, b) = h
        .post(
            "/v1/exec",
            json!({"command": "head -c 2000000 /dev/zero | tr '\\0' a; echo done >&2"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["exit_code"], 0);
    assert_eq!(b["truncated"], true);
    assert_eq!(b["stdout"].as_str().map(str::len), Some(1000));
    assert_eq!(b["stderr"], "done\n");
}

/// Parses an SSE body into (event, data) pairs.
fn parse_sse(text: &str) -> Vec<(String, serde_json::Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut name = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            Some((name?, serde_json::from_str(&data).ok()?))
        })
        .collect()
}

#[tokio::test]
async fn stream_delivers_output_in_order_then_exit() {
    let h = start(&[]).await;
    let resp = h
        .http
        .post(h.url("/v1/exec/stream"))
        .bearer_auth(TOKEN)
        .json(&json!({"command": "echo one; sleep 1; echo two; echo err >&2; exit 3"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let started = Instant::now();
    let mut first_at = None;
    let mut text = String::new();
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
        if first_at.is_none() && text.contains("one") {
            first_at = Some(started.elapsed());
        }
    }
    let total = started.elapsed();
    // "one" arrived while the command was still sleeping.
    let first_at = first_at.expect("saw first output");
    assert!(
        first_at + Duration::from_millis(500) < total,
        "{first_at:?} vs {total:?}"
    );
    let events = parse_sse(&text);
    let stdout: String = events
        .iter()
        .filter(|(n, _)| n == "stdout")
        .filter_map(|(_, d)| d["data"].as_str())
        .collect();
    assert_eq!(stdout, "one\ntwo\n");
    assert!(events
        .iter()
        .any(|(n, d)| n == "stderr" && d["data"] == "err\n"));
    let (last, exit) = events.last().expect("events");
    assert_eq!(last, "exit");
    assert_eq!(exit["exit_code"], 3);
    assert_eq!(exit["timed_out"], false);
}

#[tokio::test]
async fn runs_as_the_workspace_user_when_root() {
    if !nix::unistd::geteuid().is_root() {
        return; // Dropping privileges needs root; as a normal user commands run as that user.
    }
    let Ok(Some(nobody)) = nix::unistd::User::from_name("nobody") else {
        return;
    };
    let h = start(&[("SIDECAR_WORKSPACE_USER", "nobody")]).await;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::set_permissions(h.ws(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let (s, b) = h
        .post("/v1/exec", json!({"command": "id -u; id -G; echo $USER"}))
        .await;
    assert_eq!(s, 200, "{b}");
    let gid = nobody.gid.as_raw();
    assert_eq!(
        b["stdout"],
        format!("{}\n{gid}\nnobody\n", nobody.uid.as_raw())
    );
    let put = h
        .http
        .put(h.url("/v1/files?path=owned/by/nobody.txt"))
        .bearer_auth(TOKEN)
        .body("x")
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 200);
    for p in ["owned", "owned/by", "owned/by/nobody.txt"] {
        let meta = std::fs::metadata(h.ws().join(p)).expect("meta");
        assert_eq!(meta.uid(), nobody.uid.as_raw(), "{p}");
    }
}
