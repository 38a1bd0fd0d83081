//! The orchestrator's [`JournalSink`] over the embedded sequencer: every journal entry becomes
//! a VES v2 event signed by the sidecar agent and ingested into the sandbox stream in process.
//! The journal head is a sequencer commitment made at run end (the receipt's state root).

use std::future::Future;
use std::sync::Arc;

use agent_orchestrator::sink::{sign_event, SinkIdentity};
use agent_orchestrator::{EmittedEvent, JournalHead, JournalSink, PendingEvent, SinkError};
use serde::Serialize;
use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::broadcast;
use uuid::Uuid;
use ves::store::EventOutcome;
use ves::{IncomingEvent, Sequencer, SigningKey, StreamKey};

use crate::ves::recorder::AGENT_KEY_ID;

/// A journal entry as it landed in the stream (fed to the run event streams).
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    pub run_id: Uuid,
    pub sequence: u64,
    pub event_type: String,
    pub payload: Value,
}

/// Signs journal entries into the sandbox stream.
pub struct VesSink {
    sequencer: Arc<Sequencer>,
    key: SigningKey,
    id: SinkIdentity,
    stream: StreamKey,
    runtime: Handle,
    live: broadcast::Sender<LiveEvent>,
}

impl std::fmt::Debug for VesSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VesSink")
            .field("stream", &self.stream)
            .finish()
    }
}

impl VesSink {
    /// Must be created inside the Tokio runtime that owns the sequencer.
    pub fn new(
        sequencer: Arc<Sequencer>,
        key: SigningKey,
        stream: StreamKey,
        agent_id: Uuid,
        live: broadcast::Sender<LiveEvent>,
    ) -> Result<Self, SinkError> {
        let runtime = Handle::try_current()
            .map_err(|e| SinkError::Append(format!("no Tokio runtime: {e}")))?;
        Ok(Self {
            sequencer,
            key,
            id: SinkIdentity {
                tenant_id: stream.tenant_id,
                store_id: stream.store_id,
                agent_id,
                key_id: AGENT_KEY_ID,
            },
            stream,
            runtime,
            live,
        })
    }

    /// Runs `fut` to completion from synchronous code, whether or not the caller is itself on
    /// a runtime thread (the journal writer thread is not; the engine's `head` call is).
    fn block<F>(&self, fut: F) -> Result<F::Output, SinkError>
    where
        F: Future + Send,
        F::Output: Send,
    {
        if Handle::try_current().is_err() {
            return Ok(self.runtime.block_on(fut));
        }
        std::thread::scope(|s| {
            s.spawn(|| self.runtime.block_on(fut))
                .join()
                .map_err(|_| SinkError::Append("sink helper thread panicked".into()))
        })
    }
}

fn append_err(e: impl std::fmt::Display) -> SinkError {
    SinkError::Append(e.to_string())
}

impl JournalSink for VesSink {
    fn append(&self, events: &[PendingEvent]) -> Result<Vec<EmittedEvent>, SinkError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut incoming = Vec::with_capacity(events.len());
        let mut ids = Vec::with_capacity(events.len());
        for e in events {
            let envelope = sign_event(&self.key, &self.id, e)?;
            ids.push(envelope.event_id);
            incoming.push(IncomingEvent::from_envelope(envelope).map_err(append_err)?);
        }
        let outcome = self
            .block(self.sequencer.ingest(self.id.agent_id, incoming))?
            .map_err(append_err)?;
        if outcome.outcomes.len() != events.len() {
            return Err(append_err("the sequencer answered for a different batch"));
        }
        let mut out = Vec::with_capacity(events.len());
        for ((o, event_id), e) in outcome.outcomes.iter().zip(ids).zip(events) {
            let sequence = match o {
                EventOutcome::Accepted(r) | EventOutcome::Replayed(r) => r.sequence_number,
                EventOutcome::Rejected(r) => {
                    return Err(append_err(format!(
                        "event rejected: {:?}: {}",
                        r.reason, r.message
                    )))
                }
            };
            // Nobody listening is fine.
            let _ = self.live.send(LiveEvent {
                run_id: e.run_id,
                sequence,
                event_type: e.event_type.clone(),
                payload: e.payload.clone(),
            });
            out.push(EmittedEvent { sequence, event_id });
        }
        Ok(out)
    }

    fn stream(&self) -> (Uuid, Uuid) {
        (self.stream.tenant_id, self.stream.store_id)
    }

    /// Commits everything not yet committed and returns that commitment's end and state root.
    fn head(&self) -> Result<JournalHead, SinkError> {
        let stream = self.stream;
        let seq = self.sequencer.clone();
        let commitment = self.block(async move {
            match seq.commit(stream, None).await {
                Ok(c) => Ok(Some(c)),
                // Nothing new (another run committed already): the latest commitment, if it
                // reaches the head.
                Err(first) => {
                    let head = seq.head(stream).await.map_err(append_err)?;
                    match head.latest_commitment {
                        Some(c) if c.seq_end == head.head_sequence => Ok(Some(c)),
                        None if head.head_sequence == 0 => Ok(None),
                        _ => Err(append_err(first)),
                    }
                }
            }
        })??;
        Ok(match commitment {
            Some(c) => JournalHead {
                sequence: c.seq_end,
                state_root: c.state_root,
            },
            None => JournalHead {
                sequence: 0,
                state_root: ves::Hash32::ZERO,
            },
        })
    }
}
