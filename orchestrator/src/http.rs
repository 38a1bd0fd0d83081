//! The HTTP-call step kind, over `reqwest`; every other kind goes to a fallback executor.
//!
//! The request carries `Idempotency-Key: run:step:attempt`. `body` is sent as JSON when set;
//! otherwise `POST`/`PUT`/`PATCH` send the step's input object. Output:
//! `{"status": 200, "body": <JSON, or text when the response is not JSON>}`. Connection
//! errors, 408, 429 and 5xx are retryable; other non-2xx statuses are not.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::definition::StepKind;
use crate::executor::{StepContext, StepError, StepExecutor, StepOutput};

/// Largest response body kept by default: 4 MiB.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

/// Executes `http` steps; delegates the other kinds to `fallback`.
#[derive(Debug, Clone)]
pub struct HttpExecutor<E> {
    client: reqwest::Client,
    fallback: E,
    max_body: usize,
}

impl<E: StepExecutor> HttpExecutor<E> {
    /// A client with a 10 s connect timeout (the step timeout bounds the whole call).
    pub fn new(fallback: E) -> Result<Self, StepError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| StepError::fatal(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            client,
            fallback,
            max_body: DEFAULT_MAX_BODY,
        })
    }

    /// Sets the response size limit.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    async fn call(&self, ctx: &StepContext) -> Result<StepOutput, StepError> {
        let StepKind::Http {
            method,
            url,
            headers,
            body,
        } = ctx.kind()
        else {
            return Err(StepError::fatal("not an http step"));
        };
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| StepError::fatal(format!("invalid HTTP method {method:?}")))?;
        let mut req = self
            .client
            .request(method.clone(), url)
            .header("Idempotency-Key", ctx.idempotency_key());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let payload = match body {
            Some(b) => Some(b.clone()),
            None if matches!(
                method,
                reqwest::Method::POST | reqwest::Method::PUT | reqwest::Method::PATCH
            ) =>
            {
                Some(ctx.input.clone())
            }
            None => None,
        };
        if let Some(p) = payload {
            let bytes = serde_json::to_vec(&p).map_err(|e| StepError::fatal(e.to_string()))?;
            req = req.header("content-type", "application/json").body(bytes);
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| StepError::retryable(format!("HTTP request failed: {e}")))?;
        let status = resp.status();
        let is_json = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let mut data = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| StepError::retryable(format!("reading HTTP response failed: {e}")))?
        {
            if data.len() + chunk.len() > self.max_body {
                return Err(StepError::fatal(format!(
                    "HTTP response larger than {} bytes",
                    self.max_body
                )));
            }
            data.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&data).into_owned();
        let body = if is_json {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        } else {
            Value::String(text)
        };
        if !status.is_success() {
            let code = status.as_u16();
            let msg = format!("HTTP {code}: {}", truncate(&body.to_string(), 200));
            return Err(if code == 408 || code == 429 || status.is_server_error() {
                StepError::retryable(msg)
            } else {
                StepError::fatal(msg)
            });
        }
        Ok(StepOutput::new(
            json!({ "status": status.as_u16(), "body": body }),
        ))
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[async_trait]
impl<E: StepExecutor> StepExecutor for HttpExecutor<E> {
    async fn execute(&self, ctx: StepContext) -> Result<StepOutput, StepError> {
        if matches!(ctx.kind(), StepKind::Http { .. }) {
            self.call(&ctx).await
        } else {
            self.fallback.execute(ctx).await
        }
    }
}
