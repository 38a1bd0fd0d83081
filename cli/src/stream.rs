//! `stream exec`: one command on every operator's sidecar at once through
//! `POST /v1/exec/stream`, with live output per operator and a final comparison.
//!
//! The stream carries `stdout` / `stderr` events (`{"data": "..."}`) and ends with one `exit`
//! event (`{exit_code, timed_out, truncated, duration_ms, ves_sequence, ves_state_root}`) or an
//! `error` event (`{"error": {code, message}}`).

use blueprint_sdk::alloy::primitives::Address;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use ves::client::{SseFrame, SseParser};

use crate::output::{short_hex, Render};
use crate::sidecar::{ExecBody, Sidecar};
use crate::{Error, Result};

/// The end of a streamed command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// Exit code (-1 when killed by a signal).
    pub exit_code: i32,
    /// Killed by the timeout.
    pub timed_out: bool,
    /// Output was cut at the sidecar's limit.
    pub truncated: bool,
    /// Run time.
    pub duration_ms: u64,
    /// Sequence of the exec's event in the sandbox log.
    pub ves_sequence: u64,
    /// State root of the latest commitment of the log.
    pub ves_state_root: Option<String>,
}

/// One event of an exec stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecEvent {
    /// A chunk of standard output.
    Stdout(String),
    /// A chunk of standard error.
    Stderr(String),
    /// The command ended.
    Exit(ExitInfo),
    /// The sidecar reported an error.
    Failed {
        /// Error code.
        code: String,
        /// Message.
        message: String,
    },
}

#[derive(Deserialize)]
struct DataBody {
    data: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

/// Interprets one SSE frame (`None` for frames of other event types).
pub fn parse_exec_frame(frame: &SseFrame) -> Result<Option<ExecEvent>, String> {
    let bad = |e: serde_json::Error| format!("malformed {:?} event: {e}", frame.event);
    Ok(Some(match frame.event.as_deref() {
        Some("stdout") => ExecEvent::Stdout(
            serde_json::from_str::<DataBody>(&frame.data)
                .map_err(bad)?
                .data,
        ),
        Some("stderr") => ExecEvent::Stderr(
            serde_json::from_str::<DataBody>(&frame.data)
                .map_err(bad)?
                .data,
        ),
        Some("exit") => ExecEvent::Exit(serde_json::from_str(&frame.data).map_err(bad)?),
        Some("error") => {
            let e: ErrorBody = serde_json::from_str(&frame.data).map_err(bad)?;
            ExecEvent::Failed {
                code: e.error.code,
                message: e.error.message,
            }
        }
        _ => return Ok(None),
    }))
}

/// Which pipe a live line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One sidecar to run on.
#[derive(Debug, Clone)]
pub struct Target {
    /// Short label for prefixes (e.g. `op1`).
    pub label: String,
    /// The operator, when known.
    pub operator: Option<Address>,
    /// The sidecar client.
    pub sidecar: Sidecar,
}

impl Target {
    /// The prefix printed before each live line.
    pub fn prefix(&self) -> String {
        match self.operator {
            Some(op) => format!("[{} {}]", self.label, short_hex(&op.to_string())),
            None => format!("[{}]", self.label),
        }
    }
}

/// What one operator's sidecar produced.
#[derive(Debug, Clone, Serialize)]
pub struct OperatorStream {
    /// Label.
    pub label: String,
    /// The operator, when known.
    pub operator: Option<Address>,
    /// Sidecar URL.
    pub sidecar_url: String,
    /// All standard output.
    pub stdout: String,
    /// All standard error.
    pub stderr: String,
    /// The exit event.
    pub exit: Option<ExitInfo>,
    /// Why the stream failed.
    pub error: Option<String>,
}

/// `stream exec`: every operator's output.
#[derive(Debug, Clone, Serialize)]
pub struct StreamReport {
    /// The command.
    pub command: String,
    /// Per operator, in target order.
    pub operators: Vec<OperatorStream>,
    /// Every command exited with code 0.
    pub all_succeeded: bool,
    /// Every operator produced the same stdout, stderr and exit code.
    pub outputs_agree: bool,
}

impl StreamReport {
    /// Builds the summary fields from the per-operator results.
    pub fn new(command: String, operators: Vec<OperatorStream>) -> Self {
        let all_succeeded = !operators.is_empty()
            && operators
                .iter()
                .all(|o| o.error.is_none() && o.exit.as_ref().is_some_and(|e| e.exit_code == 0));
        let key = |o: &OperatorStream| {
            (
                o.stdout.clone(),
                o.stderr.clone(),
                o.exit.as_ref().map(|e| e.exit_code),
            )
        };
        let outputs_agree = operators.windows(2).all(|w| key(&w[0]) == key(&w[1]))
            && operators.iter().all(|o| o.error.is_none());
        Self {
            command,
            operators,
            all_succeeded,
            outputs_agree,
        }
    }
}

impl Render for StreamReport {
    fn human(&self) -> String {
        let mut out = String::new();
        for o in &self.operators {
            let who = o
                .operator
                .map_or_else(|| o.sidecar_url.clone(), |a| a.to_string());
            let line = match (&o.exit, &o.error) {
                (_, Some(e)) => format!("{} {who}: FAILED: {e}", o.label),
                (Some(x), None) => format!(
                    "{} {who}: exit {} in {} ms{}{} (VES sequence {})",
                    o.label,
                    x.exit_code,
                    x.duration_ms,
                    if x.timed_out { ", timed out" } else { "" },
                    if x.truncated {
                        ", output truncated"
                    } else {
                        ""
                    },
                    x.ves_sequence
                ),
                (None, None) => format!("{} {who}: stream ended without an exit event", o.label),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str(if self.outputs_agree {
            "all operators produced the same output"
        } else {
            "operators' outputs DIFFER"
        });
        out
    }
}

/// Splits streamed chunks into complete lines.
#[derive(Debug, Default)]
struct LineBuffer(String);

impl LineBuffer {
    fn push(&mut self, chunk: &str) -> Vec<String> {
        self.0.push_str(chunk);
        let mut lines = Vec::new();
        while let Some(pos) = self.0.find('\n') {
            let line: String = self.0.drain(..=pos).collect();
            lines.push(line.trim_end_matches(['\n', '\r']).to_owned());
        }
        lines
    }

    fn rest(&mut self) -> Option<String> {
        (!self.0.is_empty()).then(|| std::mem::take(&mut self.0))
    }
}

/// Called with every complete output line as it arrives.
pub type LineSink<'a> = &'a (dyn Fn(&Target, Channel, &str) + Sync);

async fn run_one(target: &Target, body: &ExecBody, on_line: LineSink<'_>) -> OperatorStream {
    let mut out = OperatorStream {
        label: target.label.clone(),
        operator: target.operator,
        sidecar_url: target.sidecar.url().to_owned(),
        stdout: String::new(),
        stderr: String::new(),
        exit: None,
        error: None,
    };
    if let Err(e) = stream_into(target, body, on_line, &mut out).await {
        out.error = Some(e.to_string());
    }
    out
}

async fn stream_into(
    target: &Target,
    body: &ExecBody,
    on_line: LineSink<'_>,
    out: &mut OperatorStream,
) -> Result<()> {
    let resp = target.sidecar.exec_stream(body).await?;
    let mut bytes = resp.bytes_stream();
    let mut parser = SseParser::new();
    let (mut out_lines, mut err_lines) = (LineBuffer::default(), LineBuffer::default());
    while let Some(chunk) = bytes.next().await {
        let chunk = chunk.map_err(|e| Error::Sidecar {
            url: target.sidecar.url().to_owned(),
            reason: format!("stream broke: {e}"),
        })?;
        for frame in parser.feed(&chunk) {
            let event = parse_exec_frame(&frame).map_err(|reason| Error::Sidecar {
                url: target.sidecar.url().to_owned(),
                reason,
            })?;
            match event {
                Some(ExecEvent::Stdout(d)) => {
                    out.stdout.push_str(&d);
                    out_lines
                        .push(&d)
                        .iter()
                        .for_each(|l| on_line(target, Channel::Stdout, l));
                }
                Some(ExecEvent::Stderr(d)) => {
                    out.stderr.push_str(&d);
                    err_lines
                        .push(&d)
                        .iter()
                        .for_each(|l| on_line(target, Channel::Stderr, l));
                }
                Some(ExecEvent::Exit(x)) => out.exit = Some(x),
                Some(ExecEvent::Failed { code, message }) => {
                    out.error = Some(format!("{code}: {message}"));
                }
                None => {}
            }
        }
        if out.exit.is_some() || out.error.is_some() {
            break;
        }
    }
    if let Some(l) = out_lines.rest() {
        on_line(target, Channel::Stdout, &l);
    }
    if let Some(l) = err_lines.rest() {
        on_line(target, Channel::Stderr, &l);
    }
    Ok(())
}

/// Runs `body` on every target concurrently; `on_line` sees the output live.
pub async fn exec_everywhere(
    targets: &[Target],
    body: &ExecBody,
    on_line: LineSink<'_>,
) -> StreamReport {
    let runs = targets.iter().map(|t| run_one(t, body, on_line));
    let operators = futures_util::future::join_all(runs).await;
    StreamReport::new(body.command.clone(), operators)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_across_chunks() {
        let mut b = LineBuffer::default();
        assert!(b.push("hel").is_empty());
        assert_eq!(b.push("lo\nwor"), vec!["hello".to_owned()]);
        assert_eq!(b.push("ld\r\n\n"), vec!["world".to_owned(), String::new()]);
        assert_eq!(b.push("tail"), Vec::<String>::new());
        assert_eq!(b.rest().as_deref(), Some("tail"));
        assert_eq!(b.rest(), None);
    }
}
