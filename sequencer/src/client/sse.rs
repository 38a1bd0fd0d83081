//! A small Server-Sent Events parser ([`SseParser`]) and the typed live event stream
//! ([`EventSubscription`]) of `GET /api/v1/events/stream`.
//!
//! Parsing follows the SSE rules the server needs: lines end in `\n`, `\r\n` or `\r`; a
//! blank line ends a frame; `field: value` strips one space after the colon; `data` lines
//! join with `\n`; comment lines (`:`) and frames without data are skipped.

use std::pin::Pin;

use axum::body::Bytes;
use tokio_stream::{Stream, StreamExt};

use super::types::PulledEvent;
use super::ClientError;

/// One complete SSE frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseFrame {
    /// `id` field.
    pub id: Option<String>,
    /// `event` field (`message` when absent, per the SSE spec).
    pub event: Option<String>,
    /// `data` lines joined by `\n`.
    pub data: String,
}

/// Incremental SSE parser: feed bytes, take frames.
#[derive(Debug, Default)]
pub struct SseParser {
    pending: Vec<u8>,
    frame: SseFrame,
    has_data: bool,
    skip_lf: bool,
}

impl SseParser {
    /// A fresh parser.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the frames completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseFrame> {
        let mut out = Vec::new();
        for &b in bytes {
            if self.skip_lf {
                self.skip_lf = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.skip_lf = b == b'\r';
                    let line = std::mem::take(&mut self.pending);
                    if let Some(frame) = self.line(&line) {
                        out.push(frame);
                    }
                }
                _ => self.pending.push(b),
            }
        }
        out
    }

    fn line(&mut self, line: &[u8]) -> Option<SseFrame> {
        if line.is_empty() {
            let frame = std::mem::take(&mut self.frame);
            let complete = std::mem::take(&mut self.has_data);
            return complete.then_some(frame);
        }
        if line[0] == b':' {
            return None;
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.frame.data.push('\n');
                }
                self.frame.data.push_str(value);
                self.has_data = true;
            }
            "id" => self.frame.id = Some(value.to_owned()),
            "event" => self.frame.event = Some(value.to_owned()),
            _ => {}
        }
        None
    }
}

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// The live event stream: yields `ves_event` frames as [`PulledEvent`]s, in order.
pub struct EventSubscription {
    body: ByteStream,
    parser: SseParser,
    ready: std::collections::VecDeque<SseFrame>,
    last_event_id: Option<u64>,
}

impl std::fmt::Debug for EventSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSubscription")
            .field("last_event_id", &self.last_event_id)
            .finish_non_exhaustive()
    }
}

impl EventSubscription {
    pub(crate) fn new(resp: reqwest::Response) -> Self {
        Self {
            body: Box::pin(resp.bytes_stream()),
            parser: SseParser::new(),
            ready: Default::default(),
            last_event_id: None,
        }
    }

    /// The id of the last event yielded (pass it as `last_event_id` to resume).
    pub fn last_event_id(&self) -> Option<u64> {
        self.last_event_id
    }

    /// The next event; `None` when the server closed the stream.
    pub async fn next_event(&mut self) -> Option<Result<PulledEvent, ClientError>> {
        loop {
            while let Some(frame) = self.ready.pop_front() {
                if frame.event.as_deref() != Some("ves_event") {
                    continue;
                }
                let parsed = serde_json::from_str::<PulledEvent>(&frame.data)
                    .map_err(|e| ClientError::Decode(format!("event stream data: {e}")));
                if let Ok(item) = &parsed {
                    self.last_event_id = Some(item.sequence_number);
                }
                return Some(parsed);
            }
            match self.body.next().await? {
                Ok(chunk) => self.ready.extend(self.parser.feed(&chunk)),
                Err(e) => return Some(Err(e.into())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_split_frames_crlf_comments_and_multiline_data() {
        let mut p = SseParser::new();
        assert!(p.feed(b": keep-alive\n\nid: 1\r\nevent: ves_").is_empty());
        let frames = p.feed(b"event\r\ndata: {\"a\":\r\ndata:1}\r\n\r\nid:2\ndata: x\n\n");
        assert_eq!(
            frames,
            vec![
                SseFrame {
                    id: Some("1".into()),
                    event: Some("ves_event".into()),
                    data: "{\"a\":\n1}".into(),
                },
                SseFrame {
                    id: Some("2".into()),
                    event: None,
                    data: "x".into(),
                },
            ]
        );
        // A bare CR line ending followed by LF in the next chunk is one line ending.
        assert!(p.feed(b"data: y\r").is_empty());
        assert_eq!(p.feed(b"\n\r\n").len(), 1);
    }
}
