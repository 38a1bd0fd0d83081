//! Running shell commands in the workspace: validation of requests, the process runner with
//! timeouts, process-group kills and output caps, and event streaming.
//!
//! Client disconnects on the streaming endpoint do not kill the command: it keeps running
//! (its output is drained and discarded) until it exits or its timeout fires, at which point
//! its whole process group is terminated. There is no way to re-attach, so clients that want
//! a command gone should give it a short `timeout_ms`.

mod env;
mod run;
mod utf8;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::workspace::{self, PathError};

pub use env::{validate_env, MAX_ENV_BYTES, MAX_ENV_VARS};
pub use run::{run, run_until, ExecEvent};
pub use utf8::Utf8Chunker;

/// Timeout used when the request gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest timeout a request may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// Time between SIGTERM and SIGKILL on timeout.
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// Exit code reported for a command that was killed on timeout (as coreutils `timeout`).
pub const TIMEOUT_EXIT_CODE: i32 = 124;
/// Longest accepted command string.
pub const MAX_COMMAND_BYTES: usize = 256 * 1024;
/// PATH given to every command unless the request overrides it.
pub const BASE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("command must not be empty")]
    EmptyCommand,
    #[error("command is too long ({0} bytes; at most {MAX_COMMAND_BYTES})")]
    CommandTooLong(usize),
    #[error("command contains a NUL byte")]
    CommandNul,
    #[error("invalid env: {0}")]
    Env(String),
    #[error("invalid timeout_ms: must be between 1 and {}", MAX_TIMEOUT.as_millis())]
    Timeout,
    #[error("invalid cwd: {0}")]
    Cwd(#[from] PathError),
    #[error("cwd is not a directory: {0:?}")]
    CwdNotDir(String),
    #[error("cannot start command: {0}")]
    Spawn(std::io::Error),
    #[error("command failed: {0}")]
    Wait(std::io::Error),
}

/// The JSON request body of `POST /v1/exec` and `POST /v1/exec/stream`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecRequest {
    pub command: String,
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// The result of a finished command.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ExecResult {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub truncated: bool,
    pub duration_ms: u64,
}

/// A validated command, ready to run.
#[derive(Clone, Debug)]
pub struct ExecSpec {
    pub command: String,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub grace: Duration,
    pub max_output: usize,
    pub run_as: Option<Account>,
}

/// Validates `req` against the workspace at `root`.
pub fn prepare(
    req: ExecRequest,
    root: &std::path::Path,
    max_output: usize,
    run_as: Option<Account>,
) -> Result<ExecSpec, ExecError> {
    if req.command.trim().is_empty() {
        return Err(ExecError::EmptyCommand);
    }
    if req.command.len() > MAX_COMMAND_BYTES {
        return Err(ExecError::CommandTooLong(req.command.len()));
    }
    if req.command.contains('\0') {
        return Err(ExecError::CommandNul);
    }
    let env = validate_env(&req.env).map_err(ExecError::Env)?;
    let timeout = match req.timeout_ms {
        None => DEFAULT_TIMEOUT,
        Some(0) => return Err(ExecError::Timeout),
        Some(ms) if Duration::from_millis(ms) > MAX_TIMEOUT => return Err(ExecError::Timeout),
        Some(ms) => Duration::from_millis(ms),
    };
    let rel = req.cwd.as_deref().unwrap_or("");
    let resolved = workspace::resolve(root, rel)?;
    let cwd = resolved.path();
    if !resolved.exists() || !cwd.is_dir() {
        return Err(ExecError::CwdNotDir(rel.to_string()));
    }
    Ok(ExecSpec {
        command: req.command,
        cwd,
        env,
        timeout,
        grace: KILL_GRACE,
        max_output,
        run_as,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(command: &str) -> ExecRequest {
        ExecRequest {
            command: command.into(),
            ..Default::default()
        }
    }

    #[test]
    fn validation() {
        let ws = tempfile::tempdir().expect("tmp");
        let root = ws.path();
        assert!(matches!(
            prepare(req(" "), root, 10, None),
            Err(ExecError::EmptyCommand)
        ));
        let mut r = req("true");
        r.timeout_ms = Some(0);
        assert!(matches!(
            prepare(r, root, 10, None),
            Err(ExecError::Timeout)
        ));
        let mut r = req("true");
        r.timeout_ms = Some(3_600_001);
        assert!(matches!(
            prepare(r, root, 10, None),
            Err(ExecError::Timeout)
        ));
        let mut r = req("true");
        r.cwd = Some("../".into());
        assert!(matches!(prepare(r, root, 10, None), Err(ExecError::Cwd(_))));
        let mut r = req("true");
        r.cwd = Some("missing".into());
        assert!(matches!(
            prepare(r, root, 10, None),
            Err(ExecError::CwdNotDir(_))
        ));
        let spec = prepare(req("true"), root, 10, None).expect("ok");
        assert_eq!(spec.timeout, DEFAULT_TIMEOUT);
    }

    #[tokio::test]
    async fn runs_and_caps_output() {
        let ws = tempfile::tempdir().expect("tmp");
        let mut r = req("printf 0123456789abcdef; echo err >&2; exit 3");
        r.env = vec!["FOO=bar".into()];
        let spec = prepare(r, ws.path(), 8, None).expect("ok");
        let res = run(spec, None).await.expect("run");
        assert_eq!(res.exit_code, 3);
        assert_eq!(res.stdout, "01234567");
        assert_eq!(res.stderr, "err\n");
        assert!(res.truncated);
        assert!(!res.timed_out);
    }
}
