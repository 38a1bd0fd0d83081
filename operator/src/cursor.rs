//! The operator's chain cursor: the last job call it took from the chain, persisted in its
//! data directory, so that a restarted operator neither misses calls made while it was down
//! nor runs a call twice.
//!
//! blueprint-sdk's producer starts at the latest blocks (or a given block) and keeps no
//! position. [`CursorStream`] wraps it: every call it passes on is recorded (block, call id)
//! before the handler runs, and calls at or below the recorded call id are dropped. Call ids
//! grow monotonically per service on Tangle core. The guarantee is at most once: a crash
//! between recording a call and answering it leaves that call unanswered by this operator
//! rather than running a command twice.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use blueprint_sdk::tangle::extract::{BlockNumber, CallId};
use blueprint_sdk::JobCall;
use futures_util::Stream;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub block: u64,
    pub call_id: u64,
}

#[derive(Clone, Debug)]
pub struct Cursor {
    path: PathBuf,
}

impl Cursor {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join("chain-cursor.json"),
        }
    }

    pub fn load(&self) -> Option<Position> {
        let bytes = std::fs::read(&self.path).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "ignoring a corrupt chain cursor");
                None
            }
        }
    }

    /// Writes the position atomically (temporary file, fsync, rename).
    pub fn save(&self, pos: Position) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&serde_json::to_vec(&pos).map_err(std::io::Error::other)?)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

fn meta_u64(call: &JobCall, key: &'static str) -> Option<u64> {
    call.metadata().get(key).and_then(|v| v.try_into().ok())
}

/// A producer stream that records and de-duplicates job calls (see the module docs).
pub struct CursorStream<S> {
    inner: S,
    cursor: Cursor,
    last: Option<Position>,
}

impl<S> CursorStream<S> {
    pub fn new(inner: S, cursor: Cursor) -> Self {
        let last = cursor.load();
        Self {
            inner,
            cursor,
            last,
        }
    }
}

impl<S, E> Stream for CursorStream<S>
where
    S: Stream<Item = Result<JobCall, E>> + Unpin,
{
    type Item = Result<JobCall, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(call))) => {
                    let (Some(call_id), Some(block)) = (
                        meta_u64(&call, CallId::METADATA_KEY),
                        meta_u64(&call, BlockNumber::METADATA_KEY),
                    ) else {
                        return Poll::Ready(Some(Ok(call)));
                    };
                    if this.last.is_some_and(|l| call_id <= l.call_id) {
                        tracing::info!(
                            call_id,
                            "job call already taken before a restart; skipping"
                        );
                        continue;
                    }
                    let pos = Position { block, call_id };
                    if let Err(e) = this.cursor.save(pos) {
                        tracing::warn!(error = %e, "could not record the chain cursor");
                    }
                    this.last = Some(pos);
                    return Poll::Ready(Some(Ok(call)));
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn call(call_id: u64, block: u64) -> Result<JobCall, std::convert::Infallible> {
        let mut c = JobCall::new(0u8, blueprint_sdk::Bytes::new());
        c.metadata_mut().insert(CallId::METADATA_KEY, call_id);
        c.metadata_mut().insert(BlockNumber::METADATA_KEY, block);
        Ok(c)
    }

    fn ids(v: Vec<Result<JobCall, std::convert::Infallible>>) -> Vec<u64> {
        v.into_iter()
            .filter_map(|c| c.ok().and_then(|c| meta_u64(&c, CallId::METADATA_KEY)))
            .collect()
    }

    #[tokio::test]
    async fn a_restart_skips_calls_already_taken() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cursor = Cursor::new(dir.path());
        let first = futures_util::stream::iter(vec![call(0, 10), call(1, 10), call(2, 11)]);
        let got = ids(CursorStream::new(first, cursor.clone()).collect().await);
        assert_eq!(got, vec![0, 1, 2]);
        assert_eq!(
            cursor.load(),
            Some(Position {
                block: 11,
                call_id: 2
            })
        );
        // The restarted producer replays from an earlier block.
        let replay = futures_util::stream::iter(vec![call(1, 10), call(2, 11), call(3, 12)]);
        let got = ids(CursorStream::new(replay, cursor.clone()).collect().await);
        assert_eq!(got, vec![3]);
    }
}
