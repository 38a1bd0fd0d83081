//! The on-chain ABI of the agent-instance blueprint, generated at compile time from the
//! Solidity sources in `contracts/src` — the single source of truth. Nothing here is copied
//! by hand: the job request/result structs come from `AgentJobs.sol`, the service manager's
//! views, events and errors from `IAgentInstanceBlueprint.sol`, the agent registry's from
//! `IAgentRegistry.sol`.
//!
//! Encoding (DESIGN decision 3): job inputs are `abi.encode(request)`; job outputs are the
//! SDK's `TangleResult<Struct>`, i.e. `Struct::abi_encode()` with its leading offset word —
//! exactly what the service manager decodes.

pub mod jobs;
pub mod sealing;

blueprint_sdk::alloy::sol!(
    #[sol(all_derives)]
    "../contracts/src/AgentJobs.sol"
);

blueprint_sdk::alloy::sol!(
    #[sol(rpc)]
    "../contracts/src/interfaces/IAgentInstanceBlueprint.sol"
);

pub use jobs::Job;

// The generated event constructors take one argument per event field.
#[allow(clippy::too_many_arguments)]
mod registry {
    blueprint_sdk::alloy::sol!(
        #[sol(rpc, all_derives)]
        "../contracts/src/interfaces/IAgentRegistry.sol"
    );
}
pub use registry::IAgentRegistry;
