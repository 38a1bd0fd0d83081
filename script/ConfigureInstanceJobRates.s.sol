// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {console2} from "forge-std/console2.sol";
import {InstanceScriptBase} from "./InstanceScriptBase.s.sol";
import {AgentInstanceBlueprint} from "../contracts/src/AgentInstanceBlueprint.sol";
import {ITangle} from "../contracts/src/interfaces/ITangle.sol";

/// @notice Sets the blueprint's per-job event rates on Tangle core from the pricing multipliers
///         (EXEC / SSH_REVOKE / DEPROVISION 1x, SSH_PROVISION 2x, SNAPSHOT 5x, PROMPT 20x,
///         PROVISION 50x, TASK 250x the base rate) with `setJobEventRates`, then reads them back.
/// @dev Env: BASE_RATE (wei), BLUEPRINT_ID, BSM_ADDRESS, TANGLE_ADDRESS (default: seeded proxy).
///      The broadcaster must be the blueprint owner. Rates are charged per job call for EventDriven
///      blueprints (`submitJob` must carry msg.value = rate when settling in native).
contract ConfigureInstanceJobRates is InstanceScriptBase {
    function run() external returns (uint256[8] memory rates) {
        ITangle tangle = ITangle(_tangle());
        uint64 blueprintId = uint64(vm.envUint("BLUEPRINT_ID"));
        uint256 baseRate = vm.envUint("BASE_RATE");
        AgentInstanceBlueprint bsm = AgentInstanceBlueprint(payable(vm.envAddress("BSM_ADDRESS")));
        require(bsm.blueprintId() == blueprintId && bsm.tangleCore() == address(tangle), "BSM not bound to it");

        rates = bsm.defaultJobRates(baseRate);
        uint8[8] memory ids = bsm.jobIds();
        uint8[] memory jobIndexes = new uint8[](8);
        uint256[] memory values = new uint256[](8);
        for (uint256 i = 0; i < 8; ++i) {
            (jobIndexes[i], values[i]) = (ids[i], rates[i]);
        }

        vm.startBroadcast();
        tangle.setJobEventRates(blueprintId, jobIndexes, values);
        vm.stopBroadcast();

        for (uint8 i = 0; i < 8; ++i) {
            uint256 onChain = tangle.getJobEventRate(blueprintId, i);
            require(onChain == rates[i], "rate read back differs");
            console2.log(string.concat("JOB_RATE_", vm.toString(uint256(i)), "=", vm.toString(onChain)));
        }
    }
}
