//! The process runner: `sh -c` in its own process group, capped output, timeout with
//! SIGTERM → grace → SIGKILL to the whole group.

use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{ExecError, ExecResult, ExecSpec, Utf8Chunker, BASE_PATH, TIMEOUT_EXIT_CODE};

/// How long to wait for the output pipes to close once the shell itself has exited. Background
/// processes that keep the pipes open are left running; their later output is discarded.
const DRAIN_WINDOW: Duration = Duration::from_millis(500);
const READ_BUF: usize = 16 * 1024;

/// What the streaming endpoint forwards to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecEvent {
    Stdout(String),
    Stderr(String),
}

#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

struct Pumped {
    bytes: Vec<u8>,
    truncated: bool,
}

/// Runs `spec`. With `events`, output chunks are sent as they arrive (up to the cap) and not
/// collected (the result's `stdout`/`stderr` are empty); without, output is collected.
pub async fn run(
    spec: ExecSpec,
    events: Option<mpsc::Sender<ExecEvent>>,
) -> Result<ExecResult, ExecError> {
    run_inner(spec, events, std::future::pending(), false).await
}

/// [`run`], but when `cancel` completes first the process group is terminated as on timeout
/// (the result then has `timed_out` set), and dropping the future before the command has
/// exited kills the process group.
pub async fn run_until(
    spec: ExecSpec,
    events: Option<mpsc::Sender<ExecEvent>>,
    cancel: impl std::future::Future<Output = ()>,
) -> Result<ExecResult, ExecError> {
    run_inner(spec, events, cancel, true).await
}

/// SIGKILLs the process group when dropped while armed.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        signal_group(self.0.take(), Signal::SIGKILL);
    }
}

async fn run_inner(
    spec: ExecSpec,
    events: Option<mpsc::Sender<ExecEvent>>,
    cancel: impl std::future::Future<Output = ()>,
    kill_on_drop: bool,
) -> Result<ExecResult, ExecError> {
    let collect = events.is_none();
    let mut cmd = command(&spec);
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(ExecError::Spawn)?;
    let pgid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    let mut guard = GroupGuard(if kill_on_drop { pgid } else { None });
    let out = child.stdout.take().map(|r| {
        tokio::spawn(pump(
            r,
            spec.max_output,
            collect,
            events.clone(),
            Stream::Out,
        ))
    });
    let err = child
        .stderr
        .take()
        .map(|r| tokio::spawn(pump(r, spec.max_output, collect, events, Stream::Err)));

    let waited = tokio::select! {
        r = tokio::time::timeout(spec.timeout, child.wait()) => r.ok(),
        _ = cancel => None,
    };
    let (status, timed_out) = match waited {
        Some(status) => (status.map_err(ExecError::Wait)?, false),
        None => {
            signal_group(pgid, Signal::SIGTERM);
            let status = match tokio::time::timeout(spec.grace, child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    signal_group(pgid, Signal::SIGKILL);
                    child.wait().await
                }
            };
            // Members of the group that ignored SIGTERM outlive the shell; finish them too.
            signal_group(pgid, Signal::SIGKILL);
            (status.map_err(ExecError::Wait)?, true)
        }
    };
    // Reaped: the group id may be reused from now on.
    guard.0 = None;
    let out = finish(out).await;
    let err = finish(err).await;
    Ok(ExecResult {
        exit_code: if timed_out {
            TIMEOUT_EXIT_CODE
        } else {
            exit_code(status)
        },
        stdout: String::from_utf8_lossy(&out.bytes).into_owned(),
        stderr: String::from_utf8_lossy(&err.bytes).into_owned(),
        timed_out,
        truncated: out.truncated || err.truncated,
        duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

fn command(spec: &ExecSpec) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(&spec.command)
        .current_dir(&spec.cwd)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let (home, user) = match &spec.run_as {
        Some(account) => {
            // std drops supplementary groups when switching away from root.
            cmd.uid(account.uid).gid(account.gid);
            (account.home.display().to_string(), account.name.clone())
        }
        None => (
            std::env::var("HOME").unwrap_or_else(|_| "/".into()),
            current_user_name(),
        ),
    };
    cmd.env("PATH", BASE_PATH)
        .env("HOME", home)
        .env("USER", &user)
        .env("LOGNAME", &user)
        .env("LANG", "C.UTF-8");
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    cmd
}

fn current_user_name() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default()
}

fn signal_group(pgid: Option<Pid>, sig: Signal) {
    if let Some(pgid) = pgid {
        // ESRCH (group already gone) is the expected outcome for the final SIGKILL.
        let _ = killpg(pgid, sig);
    }
}

fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

async fn finish(task: Option<JoinHandle<Pumped>>) -> Pumped {
    let empty = || Pumped {
        bytes: Vec::new(),
        truncated: false,
    };
    let Some(mut task) = task else {
        return empty();
    };
    match tokio::time::timeout(DRAIN_WINDOW, &mut task).await {
        Ok(Ok(p)) => p,
        Ok(Err(_)) => empty(),
        Err(_) => {
            task.abort();
            empty()
        }
    }
}

/// Reads `r` to the end, keeping at most `cap` bytes (sent and/or collected) and discarding
/// the rest, so the child never blocks on a full pipe.
async fn pump(
    mut r: impl AsyncRead + Unpin,
    cap: usize,
    collect: bool,
    mut tx: Option<mpsc::Sender<ExecEvent>>,
    stream: Stream,
) -> Pumped {
    let mut buf = vec![0u8; READ_BUF];
    let mut kept = 0usize;
    let mut bytes = Vec::new();
    let mut truncated = false;
    let mut dec = Utf8Chunker::default();
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let take = n.min(cap.saturating_sub(kept));
        if take < n {
            truncated = true;
        }
        if take == 0 {
            continue;
        }
        kept += take;
        if collect {
            bytes.extend_from_slice(&buf[..take]);
        }
        if let Some(t) = &tx {
            let text = dec.push(&buf[..take]);
            if !text.is_empty() && t.send(event(stream, text)).await.is_err() {
                // The client went away: keep draining, stop sending.
                tx = None;
            }
        }
    }
    if let Some(t) = &tx {
        let text = dec.finish();
        if !text.is_empty() {
            let _ = t.send(event(stream, text)).await;
        }
    }
    Pumped { bytes, truncated }
}

fn event(stream: Stream, text: String) -> ExecEvent {
    match stream {
        Stream::Out => ExecEvent::Stdout(text),
        Stream::Err => ExecEvent::Stderr(text),
    }
}
