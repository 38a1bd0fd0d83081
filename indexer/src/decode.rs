//! Registry logs → `discovery::index::RegistryEvent`.

use agent_types::IAgentRegistry::IAgentRegistryEvents;
use blueprint_sdk::alloy::rpc::types::Log;
use blueprint_sdk::alloy::sol_types::SolEventInterface;
use discovery::ids::{Address, Bytes32};
use discovery::index::RegistryEvent;

fn b32(b: blueprint_sdk::alloy::primitives::B256) -> Bytes32 {
    Bytes32(b.0)
}

fn addr(a: blueprint_sdk::alloy::primitives::Address) -> Address {
    Address(a.into_array())
}

/// Decodes one registry log; `Ok(None)` for events the index does not need (`JailerSet`).
pub fn decode(log: &Log) -> Result<Option<RegistryEvent>, String> {
    let block = log
        .block_number
        .ok_or("log without a block number (pending?)")?;
    let log_index = log.log_index.ok_or("log without a log index")?;
    let event = IAgentRegistryEvents::decode_raw_log(log.topics(), &log.data().data)
        .map_err(|e| format!("undecodable registry log: {e}"))?;
    Ok(Some(match event {
        IAgentRegistryEvents::AgentRegistered(e) => RegistryEvent::Registered {
            agent_id: b32(e.agentId),
            public_key: b32(e.publicKey),
            owner: addr(e.owner),
            service_id: e.serviceId,
            operator: addr(e.operator),
            endpoint: e.endpoint,
            manifest_hash: b32(e.manifestHash),
            capability_digest: b32(e.capabilityDigest),
            region: e.region,
            expires_at: e.expiresAt,
            block,
            log_index,
        },
        IAgentRegistryEvents::AgentUpdated(e) => RegistryEvent::Updated {
            agent_id: b32(e.agentId),
            endpoint: e.endpoint,
            manifest_hash: b32(e.manifestHash),
            capability_digest: b32(e.capabilityDigest),
            region: e.region,
            block,
            log_index,
        },
        IAgentRegistryEvents::AgentHeartbeat(e) => RegistryEvent::Heartbeat {
            agent_id: b32(e.agentId),
            expires_at: e.expiresAt,
            block,
            log_index,
        },
        IAgentRegistryEvents::AgentJailed(e) => RegistryEvent::Jailed {
            agent_id: b32(e.agentId),
            reason: e.reason,
            block,
            log_index,
        },
        IAgentRegistryEvents::AgentUnjailed(e) => RegistryEvent::Unjailed {
            agent_id: b32(e.agentId),
            block,
            log_index,
        },
        IAgentRegistryEvents::AgentExited(e) => RegistryEvent::Exited {
            agent_id: b32(e.agentId),
            block,
            log_index,
        },
        IAgentRegistryEvents::JailerSet(_) => return Ok(None),
    }))
}
