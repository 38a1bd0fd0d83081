//! "Now" for effective status and ranking.
//!
//! An agent expires when `now ≥ expires_at`, where the registry means chain time
//! (`block.timestamp`: `isActive` / `statusOf` compare with it). The index therefore takes
//! "now" from the chain: [`ChainClock`] holds the timestamp of the latest block a chain
//! follower has seen, so on a chain whose time was moved (e.g. `evm_increaseTime`) or that
//! runs ahead of or behind the wall clock, the index agrees with the contract's views at the
//! latest block. Until a block has been observed it falls back to the system clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Source of "now" (unix seconds) for status and ranking.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Unix seconds from the system clock (0 if the clock is before 1970).
pub fn system_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The latest block timestamp seen by a chain follower, shared with the RPC server.
/// Cloning shares the same value.
#[derive(Clone, Debug, Default)]
pub struct ChainClock {
    /// 0 = no block observed yet.
    latest: Arc<AtomicU64>,
}

impl ChainClock {
    /// A clock that has observed no block yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the timestamp of the chain's latest block. It replaces the previous value even
    /// when smaller (after a reorg the chain's time is the new head's).
    pub fn observe(&self, block_timestamp: u64) {
        self.latest.store(block_timestamp, Ordering::Relaxed);
    }

    /// The latest block timestamp observed, if any.
    pub fn latest(&self) -> Option<u64> {
        match self.latest.load(Ordering::Relaxed) {
            0 => None,
            t => Some(t),
        }
    }

    /// Chain time: the latest block timestamp, else the system clock.
    pub fn now(&self) -> u64 {
        self.latest().unwrap_or_else(system_now)
    }

    /// This clock as the RPC server's [`Clock`].
    pub fn as_clock(&self) -> Clock {
        let me = self.clone();
        Arc::new(move || me.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_time_wins_over_the_wall_clock_once_observed() {
        let clock = ChainClock::new();
        assert_eq!(clock.latest(), None);
        let wall = system_now();
        assert!(clock.now() >= wall);
        let shared = clock.as_clock();
        clock.observe(wall + 86_400);
        assert_eq!(shared(), wall + 86_400);
        // A reorg may move the head (and its time) back.
        clock.observe(wall - 10);
        assert_eq!(clock.clone().now(), wall - 10);
    }
}
