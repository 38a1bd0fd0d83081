//! How results reach the user: a human-readable text by default, exactly one JSON document
//! on stdout with `--json`, and progress spinners on stderr only when stdout is a terminal
//! and JSON was not asked for.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// A command's report: serialisable for `--json`, and printable for humans.
pub trait Render: Serialize {
    /// The human-readable form (may span several lines, no trailing newline needed).
    fn human(&self) -> String;
}

/// Where and how reports are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
    progress: bool,
}

impl Output {
    /// Output for `--json` or human mode; spinners only when stdout is a terminal.
    pub fn new(json: bool) -> Self {
        Self {
            json,
            progress: !json && std::io::stdout().is_terminal(),
        }
    }

    /// Output without spinners (tests, scripts).
    pub fn plain(json: bool) -> Self {
        Self {
            json,
            progress: false,
        }
    }

    /// Whether reports are JSON.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints `report` on stdout (one JSON document, or the human text).
    pub fn emit<R: Render>(&self, report: &R) -> crate::Result<()> {
        println!("{}", self.format(report)?);
        Ok(())
    }

    /// The text [`Output::emit`] prints.
    pub fn format<R: Render>(&self, report: &R) -> crate::Result<String> {
        if self.json {
            serde_json::to_string_pretty(report)
                .map_err(|e| crate::Error::Inconsistent(format!("report does not serialise: {e}")))
        } else {
            Ok(report.human())
        }
    }

    /// A spinner with `message` (a no-op in JSON mode or when stdout is not a terminal).
    pub fn spinner(&self, message: impl Into<String>) -> Spinner {
        if !self.progress {
            return Spinner(None);
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
            bar.set_style(style);
        }
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(120));
        Spinner(Some(bar))
    }
}

/// A progress spinner on stderr, or nothing.
#[derive(Debug)]
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    /// A spinner that shows nothing.
    pub fn hidden() -> Self {
        Self(None)
    }

    /// Updates the message.
    pub fn set_message(&self, message: impl Into<String>) {
        if let Some(bar) = &self.0 {
            bar.set_message(message.into());
        }
    }

    /// Removes the spinner.
    pub fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Serialises a `U256` as a decimal string (serde's default is hex).
pub fn decimal<S: serde::Serializer>(
    value: &blueprint_sdk::alloy::primitives::U256,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&value.to_string())
}

/// `0x1234…abcd` for tables.
pub fn short_hex(full: &str) -> String {
    if full.len() <= 14 || !full.is_ascii() {
        return full.to_owned();
    }
    format!("{}…{}", &full[..6], &full[full.len() - 4..])
}

/// A two-column "key: value" block with aligned values.
pub fn fields(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<width$}  {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_hex_keeps_short_values() {
        assert_eq!(short_hex("0x1234"), "0x1234");
        assert_eq!(
            short_hex("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
            "0x7099…79C8"
        );
    }

    #[test]
    fn fields_align() {
        let s = fields(&[("a", "1".into()), ("long key", "2".into())]);
        assert_eq!(s, "a         1\nlong key  2");
    }
}
