//! The HTTP-call step kind, over `reqwest`; every other kind goes to a fallback executor.
//!
//! The request carries `Idempotency-Key: run:step:attempt`. `body` is sent as JSON when set;
//! otherwise `POST`/`PUT`/`PATCH` send the step's input object. Output:
//! `{"status": 200, "body": <JSON, or text when the response is not JSON>}`. Connection
//! errors, 408, 429 and 5xx are retryable; other non-2xx statuses are not.
//!
//! Destinations are guarded ([`crate::ssrf`]): unless [`HttpConfig::allow_private`] is set,
//! a URL whose host is, or resolves to, an internal address is refused with a fatal error.
//! DNS is resolved once by [`GuardedResolver`] and the connection goes to the checked address;
//! every redirect hop is checked the same way (and at most [`HttpConfig::max_redirects`] are
//! followed); proxies from the environment are not used (they would resolve the name
//! themselves). Responses are capped at [`HttpConfig::max_body`] bytes and each call at
//! [`HttpConfig::timeout`] (the step timeout also bounds it).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::definition::StepKind;
use crate::executor::{StepContext, StepError, StepExecutor, StepOutput};
use crate::ssrf::{self, DestinationError, GuardedResolver};

/// Largest response body kept by default: 4 MiB.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

/// Limits and destination policy of [`HttpExecutor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Allow private, loopback, link-local and other internal destinations (default false).
    pub allow_private: bool,
    /// Internal addresses allowed even so (default none).
    pub allowed_addrs: Vec<std::net::IpAddr>,
    /// Largest response body (default [`DEFAULT_MAX_BODY`]).
    pub max_body: usize,
    /// Whole-call limit, connect to last body byte (default 5 min).
    pub timeout: Duration,
    /// Connect limit (default 10 s).
    pub connect_timeout: Duration,
    /// Redirects followed, each re-checked (default 5; 0 disables them).
    pub max_redirects: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            allow_private: false,
            allowed_addrs: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
            timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            max_redirects: 5,
        }
    }
}

/// Executes `http` steps; delegates the other kinds to `fallback`.
#[derive(Debug, Clone)]
pub struct HttpExecutor<E> {
    client: reqwest::Client,
    fallback: E,
    config: HttpConfig,
    policy: Arc<ssrf::Policy>,
}

fn refused(e: &DestinationError) -> StepError {
    StepError::fatal(format!("refused HTTP destination: {e}"))
}

impl<E: StepExecutor> HttpExecutor<E> {
    /// An executor with [`HttpConfig::default`] (internal destinations refused).
    pub fn new(fallback: E) -> Result<Self, StepError> {
        Self::with_config(fallback, HttpConfig::default())
    }

    /// An executor with `config`.
    pub fn with_config(fallback: E, config: HttpConfig) -> Result<Self, StepError> {
        let policy = Arc::new(ssrf::Policy {
            allow_private: config.allow_private,
            allowed: config.allowed_addrs.clone(),
        });
        let max = config.max_redirects;
        let hops = policy.clone();
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max {
                attempt.error(format!("more than {max} redirects"))
            } else if let Err(e) = ssrf::check_url(attempt.url(), &hops) {
                attempt.error(e)
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(redirect)
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .build()
            .map_err(|e| StepError::fatal(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            client,
            fallback,
            config,
            policy,
        })
    }

    /// Sets the response size limit.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.config.max_body = bytes;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.config
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
        let url = reqwest::Url::parse(url)
            .map_err(|e| refused(&DestinationError::Invalid(e.to_string())))?;
        ssrf::check_url(&url, &self.policy).map_err(|e| refused(&e))?;
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
            .map_err(|e| match ssrf::find_destination_error(&e) {
                Some(d) => refused(d),
                None => StepError::retryable(format!("HTTP request failed: {e}")),
            })?;
        let status = resp.status();
        if resp
            .content_length()
            .is_some_and(|n| n > self.config.max_body as u64)
        {
            return Err(StepError::fatal(format!(
                "HTTP response larger than {} bytes",
                self.config.max_body
            )));
        }
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
            if data.len() + chunk.len() > self.config.max_body {
                return Err(StepError::fatal(format!(
                    "HTTP response larger than {} bytes",
                    self.config.max_body
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
