//! An API-version adapter in front of the local Docker engine, for the SDK's anvil harness.
//!
//! blueprint-sdk's test harness starts anvil through testcontainers, which pins bollard's
//! newest API version (1.52) and does not negotiate. Debian's `docker.io` speaks API 1.41 and
//! refuses such requests ("client version 1.52 is too new"). The shim listens on a private
//! unix socket, rewrites the version in each request line down to the daemon's own version,
//! and otherwise relays bytes unchanged — request bodies (by Content-Length or chunked
//! framing) and hijacked/upgraded streams (exec, attach) pass through verbatim. The engine
//! behind it is the real one; only the path prefix changes.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::{UnixListener, UnixStream};

/// The API version testcontainers (via bollard 0.20) asks for.
const CLIENT_API: (u32, u32) = (1, 52);

static SHIM: OnceLock<Result<Option<String>, String>> = OnceLock::new();

/// Makes `DOCKER_HOST` point at a daemon that accepts the harness's API version: unchanged
/// when the engine is new enough, else a shim started once per test process. Call it first
/// thing in every test that uses the SDK harness (it sets `DOCKER_HOST` exactly once, before
/// the harness reads it).
pub fn ensure() -> anyhow::Result<()> {
    let r = SHIM.get_or_init(|| start().map_err(|e| format!("{e:#}")));
    match r {
        Ok(_) => Ok(()),
        Err(e) => anyhow::bail!("docker API shim: {e}"),
    }
}

fn upstream_socket() -> PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(h) if h.starts_with("unix://") => PathBuf::from(&h["unix://".len()..]),
        _ => PathBuf::from("/var/run/docker.sock"),
    }
}

fn start() -> anyhow::Result<Option<String>> {
    let upstream = upstream_socket();
    let (tx, rx) = std::sync::mpsc::channel();
    let up = upstream.clone();
    std::thread::Builder::new()
        .name("docker-api-shim".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(anyhow::anyhow!("runtime: {e}")));
                    return;
                }
            };
            rt.block_on(async move {
                let version = match daemon_api_version(&up).await {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                if version >= CLIENT_API {
                    let _ = tx.send(Ok(None));
                    return;
                }
                let path = std::env::temp_dir()
                    .join(format!("agent-docker-shim-{}.sock", std::process::id()));
                let _ = std::fs::remove_file(&path);
                let listener = match UnixListener::bind(&path) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = tx.send(Err(anyhow::anyhow!("bind {}: {e}", path.display())));
                        return;
                    }
                };
                let _ = tx.send(Ok(Some(path.display().to_string())));
                let v = format!("{}.{}", version.0, version.1);
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    let up = up.clone();
                    let v = v.clone();
                    tokio::spawn(async move {
                        if let Err(e) = relay(client, &up, &v).await {
                            tracing::debug!(error = %e, "docker shim connection ended");
                        }
                    });
                }
            });
        })
        .context("spawn shim thread")?;
    let socket = rx.recv().context("shim thread ended early")??;
    if let Some(path) = &socket {
        // SAFETY of ordering: called once, under OnceLock, before any harness reads the env.
        std::env::set_var("DOCKER_HOST", format!("unix://{path}"));
    }
    Ok(socket)
}

async fn daemon_api_version(upstream: &Path) -> anyhow::Result<(u32, u32)> {
    let mut s = UnixStream::connect(upstream)
        .await
        .with_context(|| format!("connect {} (is dockerd running?)", upstream.display()))?;
    s.write_all(b"GET /version HTTP/1.0\r\nHost: docker\r\n\r\n")
        .await?;
    let mut body = String::new();
    s.read_to_string(&mut body).await?;
    let key = "\"ApiVersion\":\"";
    let start = body.find(key).context("no ApiVersion in /version")? + key.len();
    let end = body[start..].find('"').context("bad ApiVersion")? + start;
    parse_version(&body[start..end]).context("unparsable ApiVersion")
}

fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

async fn relay(client: UnixStream, upstream: &Path, version: &str) -> anyhow::Result<()> {
    let server = UnixStream::connect(upstream).await?;
    let (cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let down = tokio::spawn(async move { tokio::io::copy(&mut sr, &mut cw).await });
    let mut cr = BufReader::new(cr);
    let up = forward_requests(&mut cr, &mut sw, version).await;
    let _ = sw.shutdown().await;
    let _ = down.await;
    up
}

/// Forwards HTTP/1.1 requests, rewriting the version in each request line; after a request
/// that asks to upgrade/hijack the connection, relays the rest of the stream verbatim.
async fn forward_requests<R, W>(r: &mut R, w: &mut W, version: &str) -> anyhow::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        w.write_all(rewrite_request_line(&line, version).as_bytes())
            .await?;
        let (mut content_length, mut chunked, mut upgrade) = (0u64, false, false);
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).await? == 0 {
                return Ok(());
            }
            w.write_all(h.as_bytes()).await?;
            if h == "\r\n" || h == "\n" {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
                match name.as_str() {
                    "content-length" => content_length = value.parse().unwrap_or(0),
                    "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                    "upgrade" => upgrade = true,
                    _ => {}
                }
            }
        }
        if chunked {
            copy_chunked(r, w).await?;
        } else if content_length > 0 {
            let mut body = r.take(content_length);
            tokio::io::copy(&mut body, w).await?;
        }
        w.flush().await?;
        if upgrade {
            tokio::io::copy(r, w).await?;
            return Ok(());
        }
    }
}

async fn copy_chunked<R, W>(r: &mut R, w: &mut W) -> anyhow::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    loop {
        let mut size_line = String::new();
        if r.read_line(&mut size_line).await? == 0 {
            anyhow::bail!("eof in chunked body");
        }
        w.write_all(size_line.as_bytes()).await?;
        let size_hex = size_line.trim().split(';').next().unwrap_or("");
        let size = u64::from_str_radix(size_hex, 16).context("bad chunk size")?;
        if size == 0 {
            // Trailers, then the blank line that ends the body.
            loop {
                let mut t = String::new();
                if r.read_line(&mut t).await? == 0 || t == "\r\n" || t == "\n" {
                    w.write_all(t.as_bytes()).await?;
                    return Ok(());
                }
                w.write_all(t.as_bytes()).await?;
            }
        }
        let mut chunk = (&mut *r).take(size + 2);
        tokio::io::copy(&mut chunk, w).await?;
    }
}

/// `GET /v1.52/containers/json HTTP/1.1` → `GET /v1.41/containers/json HTTP/1.1`.
fn rewrite_request_line(line: &str, version: &str) -> String {
    let Some((method, rest)) = line.split_once(' ') else {
        return line.to_string();
    };
    let Some(after) = rest.strip_prefix("/v") else {
        return line.to_string();
    };
    let Some(slash) = after.find('/') else {
        return line.to_string();
    };
    if parse_version(&after[..slash]).is_none() {
        return line.to_string();
    }
    format!("{method} /v{version}{}", &after[slash..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_versioned_request_lines() {
        assert_eq!(
            rewrite_request_line("GET /v1.52/containers/json HTTP/1.1\r\n", "1.41"),
            "GET /v1.41/containers/json HTTP/1.1\r\n"
        );
        assert_eq!(
            rewrite_request_line("GET /_ping HTTP/1.1\r\n", "1.41"),
            "GET /_ping HTTP/1.1\r\n"
        );
        assert_eq!(
            rewrite_request_line("POST /volumes/x HTTP/1.1\r\n", "1.41"),
            "POST /volumes/x HTTP/1.1\r\n"
        );
    }

    #[tokio::test]
    async fn forwards_bodies_and_chunks_verbatim() {
        let input = b"POST /v1.52/a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPUT /v1.52/b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /v1.52/c HTTP/1.1\r\n\r\n";
        let mut r = BufReader::new(&input[..]);
        let mut out = Vec::new();
        forward_requests(&mut r, &mut out, "1.41")
            .await
            .expect("forward");
        let expected = String::from_utf8_lossy(input).replace("/v1.52/", "/v1.41/");
        assert_eq!(String::from_utf8_lossy(&out), expected);
    }

    #[tokio::test]
    async fn relays_raw_after_upgrade() {
        let input = b"POST /v1.52/exec/x/start HTTP/1.1\r\nUpgrade: tcp\r\nConnection: Upgrade\r\nContent-Length: 2\r\n\r\n{}GET /v1.52/not-a-request HTTP/1.1\r\n";
        let mut r = BufReader::new(&input[..]);
        let mut out = Vec::new();
        forward_requests(&mut r, &mut out, "1.41")
            .await
            .expect("forward");
        let s = String::from_utf8_lossy(&out);
        assert!(s.starts_with("POST /v1.41/exec/x/start"));
        assert!(s.ends_with("{}GET /v1.52/not-a-request HTTP/1.1\r\n"));
    }
}
