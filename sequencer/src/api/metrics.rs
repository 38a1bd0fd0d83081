//! Prometheus metrics (text exposition format 0.0.4, written by hand) and `/health`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::ApiState;
use crate::validate::RejectionReason;

/// Upper bounds (seconds) of the ingest latency histogram buckets.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const REASONS: [RejectionReason; 9] = [
    RejectionReason::DuplicateEventId,
    RejectionReason::DuplicateCommandId,
    RejectionReason::InvalidPayloadHash,
    RejectionReason::InvalidCipherHash,
    RejectionReason::InvalidSignature,
    RejectionReason::AgentKeyInvalid,
    RejectionReason::UnsupportedVersion,
    RejectionReason::SchemaValidation,
    RejectionReason::VersionConflict,
];

/// Counters and the ingest latency histogram.
#[derive(Debug, Default)]
pub struct Metrics {
    accepted: AtomicU64,
    replayed: AtomicU64,
    rejected: [AtomicU64; REASONS.len()],
    batches_ok: AtomicU64,
    batches_failed: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_nanos: AtomicU64,
}

impl Metrics {
    /// Fresh counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the outcome of one successful ingest request.
    pub fn record_batch(&self, accepted: usize, replayed: usize, rejected: &[RejectionReason]) {
        self.batches_ok.fetch_add(1, Ordering::Relaxed);
        self.accepted.fetch_add(accepted as u64, Ordering::Relaxed);
        self.replayed.fetch_add(replayed as u64, Ordering::Relaxed);
        for reason in rejected {
            if let Some(i) = REASONS.iter().position(|r| r == reason) {
                self.rejected[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Counts an ingest request refused as a whole.
    pub fn record_failed_batch(&self) {
        self.batches_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Records the latency of one ingest request.
    pub fn observe_ingest(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.latency_sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Accepted events so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::with_capacity(2048);
        let mut counter = |name: &str, help: &str, lines: &[(String, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, value) in lines {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        counter(
            "ves_events_accepted_total",
            "Events accepted and sequenced.",
            &[(String::new(), load(&self.accepted))],
        );
        counter(
            "ves_events_replayed_total",
            "Exact replays answered with the stored receipt.",
            &[(String::new(), load(&self.replayed))],
        );
        let rejected: Vec<(String, u64)> = REASONS
            .iter()
            .zip(&self.rejected)
            .map(|(r, c)| (format!("{{reason=\"{}\"}}", r.code()), load(c)))
            .collect();
        counter(
            "ves_events_rejected_total",
            "Events rejected, by reason code.",
            &rejected,
        );
        counter(
            "ves_ingest_requests_total",
            "Ingest requests by result.",
            &[
                ("{result=\"ok\"}".to_owned(), load(&self.batches_ok)),
                ("{result=\"error\"}".to_owned(), load(&self.batches_failed)),
            ],
        );
        let name = "ves_ingest_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} End-to-end latency of ingest requests.\n# TYPE {name} histogram"
        );
        for (bound, count) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", load(count));
        }
        let total = load(&self.latency_count);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
        let sum = load(&self.latency_sum_nanos) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {total}");
        out
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}

/// `GET /health`.
pub(crate) async fn health(State(state): State<ApiState>) -> impl IntoResponse {
    Json(json!({
        "status": "ok",
        "sequencer_id": state.sequencer.sequencer_id(),
    }))
}
