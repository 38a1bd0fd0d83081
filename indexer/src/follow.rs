//! Following the registry: confirmed blocks only, in chunks, in log order; manifests
//! attached (from the cache or fetched, always verified) for every registration or update.
//!
//! **Reorgs.** Blocks are applied only with `confirmations` blocks on top, so a shallower
//! reorg never reaches the index. For a deeper one the follower remembers the hash of the
//! last block it applied and checks it at every step (`eth_getBlockByNumber`). When that
//! block's hash changed, or the head is now below it, the reorg is logged and counted, and
//! the index is rebuilt from `from_block` out of the chain's (new) history into a fresh
//! index that replaces the served one in one swap — queries never see a half-built index.
//! A step that reads several chunks also re-checks each earlier chunk's last block at its end.
//!
//! **Chain time.** Each step records the head's `block.timestamp` in the [`ChainClock`] the
//! RPC server uses as "now", so expiry follows the chain like the contract's views do.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use blueprint_sdk::alloy::primitives::Address;
use discovery::clock::ChainClock;
use discovery::index::{Index, RegistryEvent};
use discovery::rpc::RpcState;
use tokio::sync::RwLock;

use crate::cache::{CacheError, ManifestCache};
use crate::chain::{BlockRef, ChainReader};
use crate::decode::decode;
use crate::manifests::{Attached, Manifests};

/// Most blocks asked for in one `eth_getLogs`.
const CHUNK: u64 = 2_000;

#[derive(Clone, Debug)]
pub struct FollowerConfig {
    pub rpc_url: String,
    pub registry: Address,
    /// Blocks on top of a block before its events are applied.
    pub confirmations: u64,
    /// Where the history starts (the registry's deployment block, or 0).
    pub from_block: u64,
    pub poll: Duration,
    /// Directory of verified manifests by hash (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("RPC URL {0:?} is invalid")]
    Url(String),
    #[error("chain: {0}")]
    Chain(String),
    #[error("index: {0}")]
    Index(String),
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// Counters since the follower started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FollowerStats {
    /// Registry events applied (again after a rebuild).
    pub events_applied: u64,
    /// Events the index refused (logged and skipped).
    pub events_refused: u64,
    /// Reorgs deeper than the confirmation depth (each one rebuilt the index).
    pub reorgs: u64,
    pub manifests_from_cache: u64,
    pub manifests_fetched: u64,
    /// Manifests that were unreachable or did not verify.
    pub manifests_refused: u64,
}

/// How far the index has got.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    next_block: u64,
    /// The last block applied (all its logs), as it was when its logs were read.
    last: Option<BlockRef>,
}

pub struct Follower {
    config: FollowerConfig,
    chain: ChainReader,
    manifests: Manifests,
    index: Arc<RwLock<Index>>,
    clock: ChainClock,
    cursor: Cursor,
    /// A reorg was detected and the rebuild has not completed yet.
    rebuild_pending: bool,
    stats: FollowerStats,
}

impl Follower {
    /// A follower feeding `index` and recording chain time in `clock`; opens the manifest
    /// cache if configured.
    pub fn new(
        config: FollowerConfig,
        index: Arc<RwLock<Index>>,
        clock: ChainClock,
    ) -> Result<Self, FollowError> {
        let chain = ChainReader::connect(&config.rpc_url, config.registry)?;
        let cache = config
            .cache_dir
            .as_ref()
            .map(ManifestCache::open)
            .transpose()?;
        Ok(Self {
            cursor: Cursor {
                next_block: config.from_block,
                last: None,
            },
            config,
            chain,
            manifests: Manifests::new(cache)?,
            index,
            clock,
            rebuild_pending: false,
            stats: FollowerStats::default(),
        })
    }

    /// The index served.
    pub fn index(&self) -> &Arc<RwLock<Index>> {
        &self.index
    }

    /// The chain time the follower records.
    pub fn clock(&self) -> &ChainClock {
        &self.clock
    }

    /// RPC state over this follower's index, with chain time as "now".
    pub fn rpc_state(&self) -> RpcState {
        RpcState::with_clock(self.index.clone(), self.clock.as_clock())
    }

    pub fn stats(&self) -> FollowerStats {
        self.stats
    }

    /// The next block whose logs will be applied.
    pub fn next_block(&self) -> u64 {
        self.cursor.next_block
    }

    /// Checks for a reorg below the confirmation depth (rebuilding the index if there was
    /// one), then applies every confirmed block not applied yet; returns how many events were
    /// applied.
    pub async fn step(&mut self) -> Result<usize, FollowError> {
        let head = self.chain.head().await?;
        self.clock.observe(head.timestamp);
        let safe = head.number.checked_sub(self.config.confirmations);
        if !self.rebuild_pending && self.reorged(head.number).await? {
            self.note_reorg(head.number);
        }
        if self.rebuild_pending {
            let fresh = RwLock::new(Index::new());
            let mut cursor = Cursor {
                next_block: self.config.from_block,
                last: None,
            };
            let (applied, consistent) = match safe {
                Some(safe) => self.catch_up(&fresh, &mut cursor, safe).await?,
                None => (0, true),
            };
            if !consistent {
                tracing::warn!("the chain reorganised during the rebuild; rebuilding again");
                return Ok(0);
            }
            *self.index.write().await = fresh.into_inner();
            self.cursor = cursor;
            self.rebuild_pending = false;
            tracing::info!(
                events = applied,
                next_block = cursor.next_block,
                "index rebuilt"
            );
            return Ok(applied);
        }
        let Some(safe) = safe else {
            return Ok(0);
        };
        let index = self.index.clone();
        let mut cursor = self.cursor;
        let result = self.catch_up(&index, &mut cursor, safe).await;
        // Chunks completed before an error stay applied.
        self.cursor = cursor;
        let (applied, consistent) = result?;
        if !consistent {
            self.note_reorg(head.number);
        }
        Ok(applied)
    }

    /// Counts and logs a reorg below the confirmation depth; the next step rebuilds.
    fn note_reorg(&mut self, head: u64) {
        self.stats.reorgs += 1;
        self.rebuild_pending = true;
        tracing::warn!(
            last_applied = ?self.cursor.last,
            head,
            confirmations = self.config.confirmations,
            "reorg deeper than the confirmation depth: rebuilding the index from chain history"
        );
    }

    /// True when the last applied block is no longer on the chain.
    async fn reorged(&self, head: u64) -> Result<bool, FollowError> {
        let Some(last) = self.cursor.last else {
            return Ok(false);
        };
        if head < last.number {
            return Ok(true);
        }
        Ok(self.chain.block_hash(last.number).await? != Some(last.hash))
    }

    /// Applies blocks `cursor.next_block..=safe` to `index`, advancing `cursor` chunk by chunk.
    /// Returns the events applied and whether every chunk is still on the chain at the end
    /// (`false`: a reorg hit blocks applied during this pass).
    async fn catch_up(
        &mut self,
        index: &RwLock<Index>,
        cursor: &mut Cursor,
        safe: u64,
    ) -> Result<(usize, bool), FollowError> {
        let mut applied = 0;
        let mut chunk_ends = Vec::new();
        while cursor.next_block <= safe {
            let to = safe.min(cursor.next_block.saturating_add(CHUNK - 1));
            // `to`'s hash is read before the logs: if the chain changes in between, the next
            // check sees a hash that differs and rebuilds (at worst needlessly), never keeps
            // logs of a dropped branch.
            let hash = self
                .chain
                .block_hash(to)
                .await?
                .ok_or_else(|| FollowError::Chain(format!("block {to} is not on the chain")))?;
            let logs = self.chain.logs(cursor.next_block, to).await?;
            for log in &logs {
                let event = match decode(log) {
                    Ok(Some(e)) => e,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "skipping a registry log");
                        continue;
                    }
                };
                // The index refuses events that break the registry's rules (it mirrors them);
                // such an event is logged and skipped, never retried forever.
                if let Err(e) = index.write().await.apply(&event) {
                    self.stats.events_refused += 1;
                    tracing::warn!(error = %e, ?event, "registry event refused by the index");
                    continue;
                }
                applied += 1;
                self.stats.events_applied += 1;
                if let RegistryEvent::Registered {
                    agent_id, endpoint, ..
                }
                | RegistryEvent::Updated {
                    agent_id, endpoint, ..
                } = &event
                {
                    match self.manifests.attach(index, agent_id, endpoint).await {
                        Attached::FromCache => self.stats.manifests_from_cache += 1,
                        Attached::Fetched => self.stats.manifests_fetched += 1,
                        Attached::Refused => self.stats.manifests_refused += 1,
                    }
                }
            }
            cursor.next_block = to + 1;
            cursor.last = Some(BlockRef { number: to, hash });
            chunk_ends.push(BlockRef { number: to, hash });
        }
        // A reorg during a pass of several chunks could leave logs of a dropped branch in an
        // earlier chunk while the last chunk's hash is already the new branch's (and so passes
        // the next step's check): every earlier chunk end must still be on the chain.
        chunk_ends.pop();
        for end in chunk_ends {
            if self.chain.block_hash(end.number).await? != Some(end.hash) {
                return Ok((applied, false));
            }
        }
        Ok((applied, true))
    }

    /// Follows forever.
    pub async fn run(mut self) {
        loop {
            match self.step().await {
                Ok(n) if n > 0 => {
                    tracing::info!(
                        events = n,
                        next_block = self.cursor.next_block,
                        "index advanced"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "index step failed; retrying"),
            }
            tokio::time::sleep(self.config.poll).await;
        }
    }
}
