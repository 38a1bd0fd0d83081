//! One launcher for a private local anvil, shared by the CLI's chain tests, the indexer's
//! registry tests and the devnet: a free loopback port, a wait until the JSON-RPC answers,
//! the process killed when the handle is dropped, and the locators of the anvil binary
//! (`.tools/bin`) and of blueprint-sdk's seeded Tangle core snapshot.
//!
//! Blocking (std only): call [`AnvilOptions::spawn`] from `tokio::task::spawn_blocking` in
//! async code.
//!
//! ```no_run
//! let anvil = anvil_harness::AnvilOptions::empty().spawn().expect("anvil");
//! println!("{}", anvil.http);
//! ```

mod locate;
mod probe;

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use locate::{anvil_binary, seeded_snapshot, tools_bin, SNAPSHOT_CRATE};

/// Why anvil could not be started.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("no anvil binary: {0}")]
    NoBinary(String),
    #[error("no seeded Tangle snapshot: {0}")]
    NoSnapshot(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("anvil did not answer within {} s{}", .timeout.as_secs(), log_hint(.log))]
    NotReady {
        timeout: Duration,
        log: Option<PathBuf>,
    },
    #[error("anvil exited before answering ({status}){}", log_hint(.log))]
    Exited {
        status: std::process::ExitStatus,
        log: Option<PathBuf>,
    },
}

fn log_hint(log: &Option<PathBuf>) -> String {
    log.as_ref()
        .map(|l| format!(" (log: {})", l.display()))
        .unwrap_or_default()
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let context = context.into();
    move |source| HarnessError::Io { context, source }
}

/// A free TCP port on 127.0.0.1 (free when asked; another process may take it afterwards).
pub fn free_port() -> Result<u16, HarnessError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(io("a free loopback port"))
}

/// The chain anvil starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Genesis {
    /// anvil's default empty chain (its ten funded dev accounts).
    Empty,
    /// blueprint-sdk's seeded Tangle core snapshot ([`seeded_snapshot`]).
    SeededTangle,
    /// Any `--load-state` file.
    State(PathBuf),
}

/// How to start anvil. Always: loopback only, base fee and gas price 0, gas limit 10^8,
/// contract size limit 100,000 bytes.
#[derive(Clone, Debug)]
pub struct AnvilOptions {
    /// The binary; `None` = [`anvil_binary`].
    pub binary: Option<PathBuf>,
    pub genesis: Genesis,
    /// `--block-time` in seconds; `None` = mine one block per transaction (automine).
    pub block_time: Option<u64>,
    /// File for anvil's stdout and stderr (truncated); `None` = discarded, `--silent`.
    pub log: Option<PathBuf>,
    /// How long to wait for the JSON-RPC to answer.
    pub ready_timeout: Duration,
}

impl AnvilOptions {
    /// An empty chain, automine, no log.
    pub fn empty() -> Self {
        Self {
            binary: None,
            genesis: Genesis::Empty,
            block_time: None,
            log: None,
            ready_timeout: Duration::from_secs(60),
        }
    }

    /// The seeded Tangle core snapshot, automine, no log.
    pub fn seeded_tangle() -> Self {
        Self {
            genesis: Genesis::SeededTangle,
            ..Self::empty()
        }
    }

    pub fn binary(mut self, binary: impl Into<PathBuf>) -> Self {
        self.binary = Some(binary.into());
        self
    }

    pub fn block_time(mut self, seconds: u64) -> Self {
        self.block_time = Some(seconds);
        self
    }

    pub fn log(mut self, log: impl Into<PathBuf>) -> Self {
        self.log = Some(log.into());
        self
    }

    /// Starts anvil on a free loopback port and waits until it answers JSON-RPC (blocking).
    /// If anvil exits before answering (e.g. the port was taken meanwhile) it is tried again
    /// on another port, three times in all.
    pub fn spawn(&self) -> Result<Anvil, HarnessError> {
        let binary = match &self.binary {
            Some(b) => b.clone(),
            None => anvil_binary()?,
        };
        let state = match &self.genesis {
            Genesis::Empty => None,
            Genesis::SeededTangle => Some(seeded_snapshot()?),
            Genesis::State(p) => Some(p.clone()),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.spawn_once(&binary, state.as_ref()) {
                Err(HarnessError::Exited { .. }) if attempt < 3 => continue,
                other => return other,
            }
        }
    }

    fn spawn_once(&self, binary: &PathBuf, state: Option<&PathBuf>) -> Result<Anvil, HarnessError> {
        let port = free_port()?;
        let mut cmd = Command::new(binary);
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()]);
        if let Some(state) = state {
            cmd.arg("--load-state").arg(state);
        }
        cmd.args(["--base-fee", "0", "--gas-price", "0"]).args([
            "--gas-limit",
            "100000000",
            "--code-size-limit",
            "100000",
        ]);
        if let Some(seconds) = self.block_time {
            cmd.args(["--block-time", &seconds.to_string()]);
        }
        match &self.log {
            Some(log) => {
                let file = File::create(log).map_err(io(log.display().to_string()))?;
                let err = file.try_clone().map_err(io(log.display().to_string()))?;
                cmd.stdout(Stdio::from(file)).stderr(Stdio::from(err));
            }
            None => {
                cmd.arg("--silent")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
            }
        }
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .map_err(io(format!("anvil ({})", binary.display())))?;
        let mut anvil = Anvil {
            child,
            port,
            http: format!("http://127.0.0.1:{port}"),
            ws: format!("ws://127.0.0.1:{port}"),
        };
        anvil.wait_ready(self.ready_timeout, self.log.clone())?;
        Ok(anvil)
    }
}

/// A running anvil; killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    pub port: u16,
    /// JSON-RPC over HTTP, `http://127.0.0.1:<port>`.
    pub http: String,
    /// JSON-RPC over WebSocket, `ws://127.0.0.1:<port>`.
    pub ws: String,
}

impl Anvil {
    fn wait_ready(&mut self, timeout: Duration, log: Option<PathBuf>) -> Result<(), HarnessError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let start = Instant::now();
        loop {
            if probe::answers(addr, Duration::from_secs(2)) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(HarnessError::Exited { status, log });
            }
            if start.elapsed() > timeout {
                return Err(HarnessError::NotReady { timeout, log });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process id (for logs).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills anvil now (same as dropping the handle).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_chain_answers_and_dies_on_drop() {
        let anvil = AnvilOptions::empty()
            .spawn()
            .expect("anvil starts (run script/setup.sh for .tools/bin/anvil)");
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, anvil.port));
        assert!(probe::answers(addr, Duration::from_secs(2)));
        assert!(anvil.http.ends_with(&anvil.port.to_string()));
        anvil.stop();
        assert!(!probe::answers(addr, Duration::from_secs(2)));
    }

    #[test]
    fn seeded_tangle_chain_answers() {
        let anvil = AnvilOptions::seeded_tangle()
            .spawn()
            .expect("anvil on the seeded snapshot (build blueprint-sdk, run script/setup.sh)");
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, anvil.port));
        assert!(probe::answers(addr, Duration::from_secs(2)));
    }

    #[test]
    fn a_missing_binary_is_an_error() {
        let err = AnvilOptions::empty()
            .binary("/nonexistent/anvil")
            .spawn()
            .expect_err("no such binary");
        assert!(matches!(err, HarnessError::Io { .. }), "{err}");
    }

    #[test]
    fn a_failing_binary_is_reported_as_exited() {
        let err = AnvilOptions::empty()
            .binary("/bin/false")
            .spawn()
            .expect_err("false never answers");
        assert!(matches!(err, HarnessError::Exited { .. }), "{err}");
    }
}
