//! The tools a TASK may call: `run_command`, `read_file`, `write_file`, `list_files`.
//!
//! They run on the same cores as the HTTP API (`crate::exec`, `crate::files`): commands run in
//! the workspace as the workspace user with a timeout and an output cap; files are confined to
//! the workspace. A tool never fails the run: errors (bad arguments, unknown tool, a missing
//! file) become a `{"error": "..."}` result the model can react to. Results contain only
//! deterministic fields (no durations), because they are part of the transcript digest.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::account::Account;
use crate::exec::{self, ExecRequest};
use crate::files;

/// Per-stream output cap of `run_command` and the largest file `read_file` returns.
pub const TOOL_OUTPUT_CAP: usize = 64 * 1024;
/// `run_command` timeout when the model gives none.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Where and as whom tools act.
#[derive(Clone, Debug)]
pub struct ToolEnv {
    pub workspace: PathBuf,
    pub run_as: Option<Account>,
    pub max_output: usize,
    pub max_read: u64,
}

/// The function-tool definitions sent to the model.
pub fn definitions() -> Vec<Value> {
    let tool = |name: &str, description: &str, parameters: Value| {
        json!({"type": "function", "function": {
            "name": name, "description": description, "parameters": parameters,
        }})
    };
    vec![
        tool(
            "run_command",
            "Run a shell command (sh -c) in the workspace and return exit code, stdout and stderr.",
            json!({"type": "object", "properties": {
                "command": {"type": "string", "description": "The shell command."},
                "cwd": {"type": "string", "description": "Workspace-relative working directory."},
                "timeout_ms": {"type": "integer", "description": "Timeout in milliseconds (default 60000)."}
            }, "required": ["command"]}),
        ),
        tool(
            "read_file",
            "Read a UTF-8 text file from the workspace.",
            json!({"type": "object", "properties": {
                "path": {"type": "string", "description": "Workspace-relative path."}
            }, "required": ["path"]}),
        ),
        tool(
            "write_file",
            "Create or replace a file in the workspace (parent directories are created).",
            json!({"type": "object", "properties": {
                "path": {"type": "string", "description": "Workspace-relative path."},
                "content": {"type": "string", "description": "The complete new file content."}
            }, "required": ["path", "content"]}),
        ),
        tool(
            "list_files",
            "List a workspace directory (name, kind, size of each entry).",
            json!({"type": "object", "properties": {
                "path": {"type": "string", "description": "Workspace-relative directory; empty for the root."}
            }}),
        ),
    ]
}

#[derive(Deserialize)]
struct RunCommandArgs {
    command: String,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
struct PathArgs {
    #[serde(default)]
    path: String,
}

#[derive(Deserialize)]
struct WriteArgs {
    path: String,
    content: String,
}

fn args<T: for<'de> Deserialize<'de>>(arguments: &str) -> Result<T, String> {
    let text = if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    };
    serde_json::from_str(text).map_err(|e| format!("invalid arguments: {e}"))
}

/// Runs tool `name` with the model's raw `arguments`; `budget` bounds a command's runtime.
/// Returns the tool result as JSON text.
pub async fn execute(env: &ToolEnv, name: &str, arguments: &str, budget: Duration) -> String {
    let result = match name {
        "run_command" => run_command(env, arguments, budget).await,
        "read_file" => read_file(env, arguments).await,
        "write_file" => write_file(env, arguments).await,
        "list_files" => list_files(env, arguments).await,
        other => Err(format!("unknown tool {other:?}")),
    };
    match result {
        Ok(v) => v.to_string(),
        Err(e) => json!({ "error": e }).to_string(),
    }
}

async fn run_command(env: &ToolEnv, arguments: &str, budget: Duration) -> Result<Value, String> {
    let a: RunCommandArgs = args(arguments)?;
    let wanted = a
        .timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_COMMAND_TIMEOUT)
        .min(exec::MAX_TIMEOUT);
    let timeout = wanted.min(budget).max(Duration::from_millis(1));
    let req = ExecRequest {
        command: a.command,
        cwd: a.cwd,
        env: Vec::new(),
        timeout_ms: Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
    };
    let spec = exec::prepare(
        req,
        &env.workspace,
        env.max_output.min(TOOL_OUTPUT_CAP),
        env.run_as.clone(),
    )
    .map_err(|e| e.to_string())?;
    // A separate task: the command stays bounded by its own timeout even if this future drops.
    let r = tokio::spawn(exec::run(spec, None))
        .await
        .map_err(|e| format!("runner stopped: {e}"))?
        .map_err(|e| e.to_string())?;
    Ok(json!({
        "exit_code": r.exit_code,
        "stdout": r.stdout,
        "stderr": r.stderr,
        "timed_out": r.timed_out,
        "truncated": r.truncated,
    }))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, files::FilesError> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

async fn read_file(env: &ToolEnv, arguments: &str) -> Result<Value, String> {
    use base64::Engine;
    let a: PathArgs = args(arguments)?;
    let root = env.workspace.clone();
    let max = env.max_read.min(TOOL_OUTPUT_CAP as u64);
    let path = a.path;
    let f = blocking(move || files::read(&root, &path, max)).await?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(f.content_base64.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(json!({"path": f.path, "content": String::from_utf8_lossy(&bytes)}))
}

async fn write_file(env: &ToolEnv, arguments: &str) -> Result<Value, String> {
    let a: WriteArgs = args(arguments)?;
    let root = env.workspace.clone();
    let owner = env.run_as.clone();
    let w = blocking(move || files::write(&root, &a.path, a.content.as_bytes(), owner.as_ref()))
        .await?;
    Ok(json!({"path": w.path, "size": w.size}))
}

async fn list_files(env: &ToolEnv, arguments: &str) -> Result<Value, String> {
    let a: PathArgs = args(arguments)?;
    let root = env.workspace.clone();
    let l = blocking(move || files::list(&root, &a.path)).await?;
    serde_json::to_value(l).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tools_act_in_the_workspace() {
        let ws = tempfile::tempdir().expect("tmp");
        let env = ToolEnv {
            workspace: ws.path().to_path_buf(),
            run_as: None,
            max_output: 1 << 20,
            max_read: 1 << 20,
        };
        let t = Duration::from_secs(10);
        let w = execute(
            &env,
            "write_file",
            r#"{"path":"d/a.txt","content":"hi"}"#,
            t,
        )
        .await;
        assert!(w.contains("\"size\":2"), "{w}");
        let r = execute(&env, "read_file", r#"{"path":"d/a.txt"}"#, t).await;
        assert!(r.contains("\"content\":\"hi\""), "{r}");
        let l = execute(&env, "list_files", r#"{"path":"d"}"#, t).await;
        assert!(l.contains("a.txt"), "{l}");
        let c = execute(&env, "run_command", r#"{"command":"cat d/a.txt"}"#, t).await;
        assert!(c.contains("\"stdout\":\"hi\""), "{c}");
        let e = execute(&env, "read_file", r#"{"path":"../etc/passwd"}"#, t).await;
        assert!(e.starts_with("{\"error\""), "{e}");
        let e = execute(&env, "nope", "{}", t).await;
        assert!(e.contains("unknown tool"), "{e}");
        let e = execute(&env, "run_command", "{\"command\":", t).await;
        assert!(e.contains("invalid arguments"), "{e}");
    }
}
