//! Bearer-token authentication, compared in constant time.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The expected token, kept as a SHA-256 digest so that comparison time depends on neither
/// the token's length nor the position of the first differing byte.
#[derive(Clone)]
pub struct TokenCheck {
    digest: [u8; 32],
}

impl TokenCheck {
    pub fn new(token: &str) -> Self {
        Self {
            digest: Sha256::digest(token.as_bytes()).into(),
        }
    }

    /// True when `presented` equals the configured token.
    pub fn matches(&self, presented: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        d.ct_eq(&self.digest).into()
    }

    /// Checks an `Authorization` header value of the form `Bearer <token>`.
    pub fn matches_header(&self, header: Option<&str>) -> bool {
        header
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| self.matches(t.trim()))
    }
}

/// Middleware: rejects requests without the right bearer token with a JSON 401.
pub async fn require_token(State(check): State<TokenCheck>, req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if check.matches_header(header) {
        next.run(req).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        let c = TokenCheck::new("secret-token-0123");
        assert!(c.matches("secret-token-0123"));
        assert!(!c.matches("secret-token-0124"));
        assert!(!c.matches(""));
        assert!(c.matches_header(Some("Bearer secret-token-0123")));
        assert!(!c.matches_header(Some("Basic secret-token-0123")));
        assert!(!c.matches_header(Some("Bearer")));
        assert!(!c.matches_header(None));
    }
}
