//! Cooperative cancellation.

use std::sync::Arc;

use tokio::sync::watch;

/// A cloneable cancellation flag. Cancelling is sticky; [`CancelToken::child`] gives a token
/// that is cancelled with its parent but can also be cancelled on its own.
#[derive(Debug, Clone)]
pub struct CancelToken {
    tx: Arc<watch::Sender<bool>>,
    parent: Option<Arc<watch::Sender<bool>>>,
}

impl Default for CancelToken {
    fn default() -> Self {
        Self::new()
    }
}

impl CancelToken {
    /// A fresh, uncancelled token.
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::Sender::new(false)),
            parent: None,
        }
    }

    /// A token cancelled when `self` is (or when cancelled itself). One level deep.
    pub fn child(&self) -> Self {
        Self {
            tx: Arc::new(watch::Sender::new(false)),
            parent: Some(self.tx.clone()),
        }
    }

    /// Requests cancellation.
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow() || self.parent.as_ref().is_some_and(|p| *p.borrow())
    }

    /// Completes once cancellation is requested.
    pub async fn cancelled(&self) {
        let mut own = self.tx.subscribe();
        match &self.parent {
            None => {
                let _ = own.wait_for(|c| *c).await;
            }
            Some(parent) => {
                let mut par = parent.subscribe();
                tokio::select! {
                    _ = own.wait_for(|c| *c) => {}
                    _ = par.wait_for(|c| *c) => {}
                }
            }
        }
    }
}
