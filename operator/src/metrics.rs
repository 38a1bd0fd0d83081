//! Prometheus metrics of the operator: every job's outcome and duration, result submission
//! failures, sandboxes by state, reconciliation actions. Served on `/metrics` (loopback by
//! default) together with `/health`.

use std::net::SocketAddr;
use std::time::Duration;

use agent_types::Job;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// How a job ended, as a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A result was returned for submission.
    Ok,
    /// A result reporting the refusal of bad input was returned (success = false).
    Rejected,
    /// The job failed; nothing is submitted.
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Rejected => "rejected",
            Outcome::Error => "error",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    jobs: IntCounterVec,
    duration: HistogramVec,
    submit_failures: IntCounterVec,
    sandboxes: IntGaugeVec,
    reconcile: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("agent_operator".into()), None)?;
        let jobs = IntCounterVec::new(
            Opts::new("jobs_total", "Jobs handled, by job and outcome"),
            &["job", "outcome"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new("job_duration_seconds", "Job handling time, by job").buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
                1800.0,
            ]),
            &["job"],
        )?;
        let submit_failures = IntCounterVec::new(
            Opts::new(
                "result_submit_failures_total",
                "Result submissions that failed on chain, by kind (late = job already complete)",
            ),
            &["kind"],
        )?;
        let sandboxes = IntGaugeVec::new(
            Opts::new(
                "sandboxes",
                "Sandboxes in the store of record, by desired state",
            ),
            &["state"],
        )?;
        let reconcile = IntCounterVec::new(
            Opts::new(
                "reconcile_actions_total",
                "Reconciliation actions, by action",
            ),
            &["action"],
        )?;
        registry.register(Box::new(jobs.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(submit_failures.clone()))?;
        registry.register(Box::new(sandboxes.clone()))?;
        registry.register(Box::new(reconcile.clone()))?;
        Ok(Self {
            registry,
            jobs,
            duration,
            submit_failures,
            sandboxes,
            reconcile,
        })
    }

    pub fn job(&self, job: Job, outcome: Outcome, took: Duration) {
        self.jobs
            .with_label_values(&[job.name(), outcome.as_str()])
            .inc();
        self.duration
            .with_label_values(&[job.name()])
            .observe(took.as_secs_f64());
    }

    pub fn submit_failure(&self, kind: &str) {
        self.submit_failures.with_label_values(&[kind]).inc();
    }

    pub fn sandboxes(&self, running: usize, stopped: usize) {
        let set = |state: &str, n: usize| {
            self.sandboxes
                .with_label_values(&[state])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        };
        set("running", running);
        set("stopped", stopped);
    }

    pub fn reconcile_action(&self, action: &str, n: usize) {
        if n > 0 {
            self.reconcile
                .with_label_values(&[action])
                .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::warn!(error = %e, "encoding metrics failed");
        }
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// Serves `/metrics` and `/health` on `addr` until the process ends.
pub async fn serve(
    metrics: std::sync::Arc<Metrics>,
    addr: SocketAddr,
) -> Result<SocketAddr, std::io::Error> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(move || {
                let m = metrics.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4",
                        )],
                        m.render(),
                    )
                }
            }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_metrics_are_rendered_with_labels() {
        let m = Metrics::new().expect("metrics");
        m.job(Job::Exec, Outcome::Ok, Duration::from_millis(12));
        m.job(Job::Exec, Outcome::Rejected, Duration::from_millis(1));
        m.submit_failure("late");
        m.sandboxes(2, 1);
        let text = m.render();
        assert!(text.contains(r#"agent_operator_jobs_total{job="EXEC",outcome="ok"} 1"#));
        assert!(text.contains(r#"agent_operator_jobs_total{job="EXEC",outcome="rejected"} 1"#));
        assert!(text.contains(r#"agent_operator_result_submit_failures_total{kind="late"} 1"#));
        assert!(text.contains(r#"agent_operator_sandboxes{state="running"} 2"#));
        assert!(text.contains("agent_operator_job_duration_seconds_bucket"));
    }
}
