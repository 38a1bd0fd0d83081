// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {console2} from "forge-std/console2.sol";
import {InstanceScriptBase} from "./InstanceScriptBase.s.sol";
import {AgentInstanceBlueprint} from "../contracts/src/AgentInstanceBlueprint.sol";

/// @notice Deploys the agent-instance blueprint service manager and prints its address.
/// @dev forge script script/DeployInstance.s.sol:DeployInstance --rpc-url $RPC --broadcast --private-key $KEY
///      Prints `BSM_ADDRESS=0x...` for shell scripts.
contract DeployInstance is InstanceScriptBase {
    function run() external returns (AgentInstanceBlueprint bsm) {
        vm.startBroadcast();
        bsm = new AgentInstanceBlueprint();
        vm.stopBroadcast();
        console2.log(string.concat("BSM_ADDRESS=", vm.toString(address(bsm))));
    }
}
