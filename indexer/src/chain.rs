//! The few chain reads the follower needs: the head, a block's hash, the registry's logs.

use blueprint_sdk::alloy::eips::BlockNumberOrTag;
use blueprint_sdk::alloy::primitives::{Address, B256};
use blueprint_sdk::alloy::providers::{DynProvider, Provider, ProviderBuilder};
use blueprint_sdk::alloy::rpc::types::{Filter, Log};

use crate::follow::FollowError;

/// A block by number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRef {
    pub number: u64,
    pub hash: B256,
}

/// The chain's latest block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub number: u64,
    /// `block.timestamp` of the head (unix seconds).
    pub timestamp: u64,
}

fn chain_err(e: impl std::fmt::Display) -> FollowError {
    FollowError::Chain(e.to_string())
}

/// JSON-RPC access to the chain and the registry's logs.
pub struct ChainReader {
    provider: DynProvider,
    registry: Address,
}

impl ChainReader {
    pub fn connect(rpc_url: &str, registry: Address) -> Result<Self, FollowError> {
        let url = rpc_url
            .parse()
            .map_err(|_| FollowError::Url(rpc_url.to_string()))?;
        Ok(Self {
            provider: ProviderBuilder::new().connect_http(url).erased(),
            registry,
        })
    }

    /// Number and timestamp of the latest block (`eth_getBlockByNumber("latest")`).
    pub async fn head(&self) -> Result<Head, FollowError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(chain_err)?
            .ok_or_else(|| chain_err("the node has no latest block"))?;
        Ok(Head {
            number: block.header.number,
            timestamp: block.header.timestamp,
        })
    }

    /// The hash of block `number`, or `None` when the chain has no such block (any more).
    pub async fn block_hash(&self, number: u64) -> Result<Option<B256>, FollowError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(chain_err)?;
        Ok(block.map(|b| b.header.hash))
    }

    /// The registry's logs in blocks `from..=to`, in chain order.
    pub async fn logs(&self, from: u64, to: u64) -> Result<Vec<Log>, FollowError> {
        let filter = Filter::new()
            .address(self.registry)
            .from_block(from)
            .to_block(to);
        self.provider.get_logs(&filter).await.map_err(chain_err)
    }
}
