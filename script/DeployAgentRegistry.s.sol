// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {console2} from "forge-std/console2.sol";
import {InstanceScriptBase} from "./InstanceScriptBase.s.sol";
import {AgentInstanceBlueprint} from "../contracts/src/AgentInstanceBlueprint.sol";
import {AgentRegistry} from "../contracts/src/AgentRegistry.sol";

/// @notice Deploys the agent registry (issue 9) and prints its address.
/// @dev forge script script/DeployAgentRegistry.s.sol:DeployAgentRegistry --rpc-url $RPC --broadcast --private-key $KEY
///      Env (all optional, but an admin must come from one of the first two):
///      - AGENT_REGISTRY_ADMIN: may jail / unjail and manage jailers; default: the blueprint owner of
///        BSM_ADDRESS.
///      - BSM_ADDRESS: the agent-instance BSM (only used for the default admin).
///      - AGENT_REGISTRY_BSM: BSM that `register` checks service operators against; default zero
///        (no check). Set it to $BSM_ADDRESS to require registrants to be operators of the service.
///      - AGENT_REGISTRY_JAILER: an extra jailer to authorise (e.g. the BSM's slashing origin); the
///        broadcaster must then be the admin.
///      Prints `AGENT_REGISTRY=0x...` and `AGENT_REGISTRY_ADMIN=0x...` for shell scripts.
contract DeployAgentRegistry is InstanceScriptBase {
    function run() external returns (AgentRegistry registry) {
        address bsm = vm.envOr("BSM_ADDRESS", address(0));
        address admin = vm.envOr("AGENT_REGISTRY_ADMIN", address(0));
        if (admin == address(0) && bsm != address(0)) admin = AgentInstanceBlueprint(payable(bsm)).blueprintOwner();
        require(admin != address(0), "set AGENT_REGISTRY_ADMIN, or BSM_ADDRESS of a bound BSM");
        address checkedBsm = vm.envOr("AGENT_REGISTRY_BSM", address(0));
        address jailer = vm.envOr("AGENT_REGISTRY_JAILER", address(0));

        vm.startBroadcast();
        registry = new AgentRegistry(admin, checkedBsm);
        if (jailer != address(0)) registry.setJailer(jailer, true);
        vm.stopBroadcast();

        console2.log(string.concat("AGENT_REGISTRY=", vm.toString(address(registry))));
        console2.log(string.concat("AGENT_REGISTRY_ADMIN=", vm.toString(admin)));
    }
}
