//! The seeded chain's well-known development accounts (anvil's test mnemonic). Development
//! keys only: they hold value on this local chain and nowhere else.

use blueprint_sdk::alloy::primitives::{address, Address};

/// Tangle core in the SDK's seeded snapshot, and its staking and status registry contracts.
pub const TANGLE: Address = address!("0x0165878A594ca255338adfa4d48449f69242Eb8F");
pub const STAKING: Address = address!("0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9");
pub const STATUS_REGISTRY: Address = address!("0x2bdCC0de6bE1f7D2ee689a0342D76F52E8EFABa3");

/// Anvil account 0: deploys our contracts and is the customer.
pub const DEPLOYER_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// The seeded snapshot's three staked operators (anvil accounts 1, 2 and 4), as
/// `(name, private key)`.
pub const OPERATORS: [(&str, &str); 3] = [
    (
        "alice",
        "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    ),
    (
        "bob",
        "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    ),
    (
        "carol",
        "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    ),
];
