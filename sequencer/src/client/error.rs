//! Client errors, carrying the server's `{"error":{"code","message"}}`.

use reqwest::StatusCode;

/// A client error.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error body.
    #[error("server error {status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Error code (`malformed_json`, `not_found`, ...; `http_<status>` without a JSON body).
        code: String,
        /// Message.
        message: String,
    },
    /// Transport failure (connection refused, timeout, broken body).
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// A body that does not parse.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// Invalid base URL or argument.
    #[error("invalid argument: {0}")]
    Invalid(String),
}

impl ClientError {
    /// The server's error code, if the server answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether retrying the same request may succeed (transport errors and 5xx).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Http(_) => true,
            Self::Api { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(serde::Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

pub(crate) fn api_error(status: StatusCode, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => ClientError::Api {
            status: status.as_u16(),
            code: e.error.code,
            message: e.error.message,
        },
        Err(_) => ClientError::Api {
            status: status.as_u16(),
            code: format!("http_{}", status.as_u16()),
            message: String::from_utf8_lossy(body).chars().take(500).collect(),
        },
    }
}
