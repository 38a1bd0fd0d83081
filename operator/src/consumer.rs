//! A result consumer that never stops the runner.
//!
//! blueprint-sdk's runner exits on the first consumer error, and `TangleConsumer` returns one
//! whenever `submitResult` reverts. Reverts are expected: a job that needs one result (EXEC,
//! SSH, SNAPSHOT) closes with the fastest operator, and every later submission reverts with
//! `JobAlreadyCompleted`. This wrapper logs and counts such failures and keeps serving.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use blueprint_sdk::core::error::BoxError;
use blueprint_sdk::JobResult;
use futures_util::Sink;

use crate::metrics::Metrics;

pub struct ResilientConsumer<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> ResilientConsumer<S> {
    pub fn new(inner: S, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    fn failed(&self, stage: &str, e: &BoxError) {
        let text = e.to_string();
        let kind = if text.contains("reverted") {
            "reverted"
        } else {
            "send"
        };
        self.metrics.submit_failure(kind);
        tracing::warn!(stage, kind, error = %text, "result submission failed (the job may already be complete); continuing");
    }
}

impl<S> Sink<JobResult> for ResilientConsumer<S>
where
    S: Sink<JobResult, Error = BoxError> + Unpin,
{
    type Error = BoxError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_ready(cx) {
            Poll::Ready(Err(e)) => {
                this.failed("ready", &e);
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }

    fn start_send(self: Pin<&mut Self>, item: JobResult) -> Result<(), Self::Error> {
        let this = self.get_mut();
        if let Err(e) = Pin::new(&mut this.inner).start_send(item) {
            this.failed("send", &e);
        }
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.inner).poll_flush(cx) {
                // The inner consumer is ready for the next buffered result after an error.
                Poll::Ready(Err(e)) => this.failed("flush", &e),
                other => return other,
            }
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_close(cx) {
            Poll::Ready(Err(e)) => {
                this.failed("close", &e);
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::SinkExt;

    /// A sink that fails every other flush, like a consumer whose submissions revert.
    struct Flaky {
        flushed: usize,
        pending: usize,
    }

    impl Sink<JobResult> for Flaky {
        type Error = BoxError;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(self: Pin<&mut Self>, _: JobResult) -> Result<(), BoxError> {
            self.get_mut().pending += 1;
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
            let this = self.get_mut();
            if this.pending == 0 {
                return Poll::Ready(Ok(()));
            }
            this.pending -= 1;
            this.flushed += 1;
            if this.flushed.is_multiple_of(2) {
                Poll::Ready(Err("Transaction reverted for service 1 call 2".into()))
            } else {
                Poll::Ready(Ok(()))
            }
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn reverted_submissions_do_not_stop_the_stream() {
        let metrics = Arc::new(Metrics::new().expect("metrics"));
        let mut sink = ResilientConsumer::new(
            Flaky {
                flushed: 0,
                pending: 0,
            },
            metrics.clone(),
        );
        for _ in 0..4 {
            let ok = JobResult::Ok {
                head: Default::default(),
                body: Default::default(),
            };
            sink.send(ok).await.expect("never fails");
        }
        assert_eq!(sink.inner.flushed, 4);
        assert!(metrics
            .render()
            .contains(r#"agent_operator_result_submit_failures_total{kind="reverted"} 2"#));
    }
}
