// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {TestBase} from "./utils/TestBase.sol";
import {IBlueprintServiceManager} from "../src/interfaces/IBlueprintServiceManager.sol";
import {AgentInstanceBlueprint} from "../src/AgentInstanceBlueprint.sol";
import {ITangle} from "../src/interfaces/ITangle.sol";

/// @notice Proves `contracts/src/interfaces/IBlueprintServiceManager.sol` matches the ABI shipped in the
///         tnt-core-bindings 0.20.0 crate exactly. The fixture holds the crate's `methodIdentifiers`
///         (see contracts/test/fixtures/README.md for the one-liner that extracts it).
contract InterfaceSelectorsTest is TestBase {
    struct Sel {
        string signature;
        bytes4 selector;
    }

    uint256 internal constant COUNT = 37;

    /// @dev Every function of our Solidity interface, with the selector solc computes for it.
    function _ours() internal pure returns (Sel[] memory s) {
        s = new Sel[](COUNT);
        s[0] = Sel("canJoin(uint64,address)", IBlueprintServiceManager.canJoin.selector);
        s[1] = Sel("canLeave(uint64,address)", IBlueprintServiceManager.canLeave.selector);
        s[2] = Sel(
            "computeBillAdjustmentBps(uint64,uint64,uint64)", IBlueprintServiceManager.computeBillAdjustmentBps.selector
        );
        s[3] = Sel("forceRemoveAllowsBelowMin(uint64)", IBlueprintServiceManager.forceRemoveAllowsBelowMin.selector);
        s[4] = Sel("getAggregationThreshold(uint64,uint8)", IBlueprintServiceManager.getAggregationThreshold.selector);
        s[5] = Sel("getExitConfig(uint64)", IBlueprintServiceManager.getExitConfig.selector);
        s[6] = Sel("getHeartbeatInterval(uint64)", IBlueprintServiceManager.getHeartbeatInterval.selector);
        s[7] = Sel("getHeartbeatThreshold(uint64)", IBlueprintServiceManager.getHeartbeatThreshold.selector);
        s[8] = Sel("getMinOperatorStake()", IBlueprintServiceManager.getMinOperatorStake.selector);
        s[9] = Sel(
            "getNonPaymentTerminationPolicy(uint64)", IBlueprintServiceManager.getNonPaymentTerminationPolicy.selector
        );
        s[10] = Sel("getRequiredResultCount(uint64,uint8)", IBlueprintServiceManager.getRequiredResultCount.selector);
        s[11] = Sel("getSlashingWindow(uint64)", IBlueprintServiceManager.getSlashingWindow.selector);
        s[12] = Sel(
            "onAggregatedResult(uint64,uint8,uint64,bytes,uint256,uint256[2],uint256[4])",
            IBlueprintServiceManager.onAggregatedResult.selector
        );
        s[13] = Sel("onApprove(address,uint64,uint8)", IBlueprintServiceManager.onApprove.selector);
        s[14] = Sel(
            "onBinaryVersionPublished(uint64,(uint64,uint64,bool,bytes32,bytes32),string)",
            IBlueprintServiceManager.onBinaryVersionPublished.selector
        );
        s[15] = Sel("onBlueprintCreated(uint64,address,address)", IBlueprintServiceManager.onBlueprintCreated.selector);
        s[16] = Sel("onExitCanceled(uint64,address)", IBlueprintServiceManager.onExitCanceled.selector);
        s[17] = Sel("onExitScheduled(uint64,address,uint64)", IBlueprintServiceManager.onExitScheduled.selector);
        s[18] = Sel("onJobCall(uint64,uint8,uint64,bytes)", IBlueprintServiceManager.onJobCall.selector);
        s[19] = Sel(
            "onJobResult(uint64,uint8,uint64,address,bytes32,bytes)", IBlueprintServiceManager.onJobResult.selector
        );
        s[20] = Sel(
            "onOperatorBinaryAcked(uint64,uint64,address)", IBlueprintServiceManager.onOperatorBinaryAcked.selector
        );
        s[21] = Sel("onOperatorJoined(uint64,address,uint16)", IBlueprintServiceManager.onOperatorJoined.selector);
        s[22] = Sel("onOperatorLeft(uint64,address)", IBlueprintServiceManager.onOperatorLeft.selector);
        s[23] = Sel("onRegister(address,bytes)", IBlueprintServiceManager.onRegister.selector);
        s[24] = Sel("onReject(address,uint64)", IBlueprintServiceManager.onReject.selector);
        s[25] = Sel(
            "onRequest(uint64,address,address[],bytes,uint64,address,uint256)",
            IBlueprintServiceManager.onRequest.selector
        );
        s[26] = Sel(
            "onServiceInitialized(uint64,uint64,uint64,address,address[],uint64)",
            IBlueprintServiceManager.onServiceInitialized.selector
        );
        s[27] = Sel("onServiceTermination(uint64,address)", IBlueprintServiceManager.onServiceTermination.selector);
        s[28] = Sel("onSlash(uint64,bytes,uint8)", IBlueprintServiceManager.onSlash.selector);
        s[29] = Sel("onUnappliedSlash(uint64,bytes,uint8)", IBlueprintServiceManager.onUnappliedSlash.selector);
        s[30] = Sel("onUnregister(address)", IBlueprintServiceManager.onUnregister.selector);
        s[31] = Sel("onUpdatePreferences(address,bytes)", IBlueprintServiceManager.onUpdatePreferences.selector);
        s[32] =
            Sel("queryDeveloperPaymentAddress(uint64)", IBlueprintServiceManager.queryDeveloperPaymentAddress.selector);
        s[33] = Sel("queryDisputeOrigin(uint64)", IBlueprintServiceManager.queryDisputeOrigin.selector);
        s[34] = Sel(
            "queryIsPaymentAssetAllowed(uint64,address)", IBlueprintServiceManager.queryIsPaymentAssetAllowed.selector
        );
        s[35] = Sel("querySlashingOrigin(uint64)", IBlueprintServiceManager.querySlashingOrigin.selector);
        s[36] = Sel("requiresAggregation(uint64,uint8)", IBlueprintServiceManager.requiresAggregation.selector);
    }

    function test_selectorsMatchTntCoreBindings() public view {
        string memory json = vm.readFile("contracts/test/fixtures/IBlueprintServiceManager.selectors.json");
        uint256 count = vm.parseJsonUint(json, ".count");
        assertEq(count, COUNT, "fixture count");
        Sel[] memory ours = _ours();
        bytes4 fixtureXor;
        for (uint256 i = 0; i < count; ++i) {
            string memory base = string.concat(".selectors[", vm.toString(i), "]");
            string memory sig = vm.parseJsonString(json, string.concat(base, ".signature"));
            bytes4 sel = bytes4(vm.parseJsonBytes(json, string.concat(base, ".selector")));
            assertEq(bytes32(sel), bytes32(bytes4(keccak256(bytes(sig)))), string.concat("fixture self-check ", sig));
            assertEq(ours[i].signature, sig, "same function, same order");
            assertEq(bytes32(ours[i].selector), bytes32(sel), string.concat("selector of ", sig));
            fixtureXor ^= sel;
        }
        // The interface id is the XOR of ALL its selectors: equality proves our interface has no extra
        // or missing function.
        assertEq(
            bytes32(type(IBlueprintServiceManager).interfaceId),
            bytes32(fixtureXor),
            "interface id = XOR of crate selectors"
        );
    }

    /// @dev The ITangle subset our scripts use, against the crate's ITangleFull.json.
    function _tangle() internal pure returns (Sel[] memory s) {
        s = new Sel[](20);
        s[0] = Sel(
            "approveService((uint64,((uint8,address),uint16)[],uint256[4],uint256[2],(uint8,bytes32,bytes32,uint64)[]))",
            ITangle.approveService.selector
        );
        s[1] = Sel("blueprintCount()", ITangle.blueprintCount.selector);
        s[2] = Sel("blueprintDefinitionHash(uint64)", ITangle.blueprintDefinitionHash.selector);
        s[3] = Sel(
            "createBlueprint((string,bytes32,address,uint32,bool,(uint8,uint8,uint32,uint32,uint256,uint64,uint256),(string,string,string,string,string,string,string,string,string),(string,string,string,bytes,bytes)[],bytes,bytes,(uint8,(string,string,string),(uint8,uint8,string,string),(uint8,string,string),(string,string,string),(uint8,uint8,string,bytes32)[])[],uint8[]))",
            ITangle.createBlueprint.selector
        );
        s[4] = Sel("getBlueprint(uint64)", ITangle.getBlueprint.selector);
        s[5] = Sel("getBlueprintConfig(uint64)", ITangle.getBlueprintConfig.selector);
        s[6] = Sel("getBlueprintSettlementAsset(uint64)", ITangle.getBlueprintSettlementAsset.selector);
        s[7] = Sel("getJobCall(uint64,uint64)", ITangle.getJobCall.selector);
        s[8] = Sel("getJobEventRate(uint64,uint8)", ITangle.getJobEventRate.selector);
        s[9] = Sel("getService(uint64)", ITangle.getService.selector);
        s[10] = Sel("getServiceOperators(uint64)", ITangle.getServiceOperators.selector);
        s[11] = Sel("getServiceRequest(uint64)", ITangle.getServiceRequest.selector);
        s[12] = Sel("isPermittedCaller(uint64,address)", ITangle.isPermittedCaller.selector);
        s[13] = Sel("registerOperator(uint64,bytes,string)", bytes4(0)); // overloaded: covered by the interface-id check
        s[14] = Sel("registerOperator(uint64,bytes,string,bytes)", bytes4(0)); // overloaded: covered by the interface-id check
        s[15] = Sel(
            "requestService(uint64,address[],bytes,address[],uint64,address,uint256,uint8)",
            ITangle.requestService.selector
        );
        s[16] = Sel("serviceCount()", ITangle.serviceCount.selector);
        s[17] = Sel("setJobEventRates(uint64,uint8[],uint256[])", ITangle.setJobEventRates.selector);
        s[18] = Sel("submitJob(uint64,uint8,bytes)", ITangle.submitJob.selector);
        s[19] = Sel("submitResult(uint64,uint64,bytes)", ITangle.submitResult.selector);
    }

    function test_tangleSubsetMatchesTntCoreBindings() public view {
        string memory json = vm.readFile("contracts/test/fixtures/ITangle.selectors.json");
        uint256 count = vm.parseJsonUint(json, ".count");
        Sel[] memory ours = _tangle();
        assertEq(count, ours.length, "fixture count");
        bytes4 fixtureXor;
        for (uint256 i = 0; i < count; ++i) {
            string memory base = string.concat(".selectors[", vm.toString(i), "]");
            string memory sig = vm.parseJsonString(json, string.concat(base, ".signature"));
            bytes4 sel = bytes4(vm.parseJsonBytes(json, string.concat(base, ".selector")));
            assertEq(bytes32(sel), bytes32(bytes4(keccak256(bytes(sig)))), string.concat("fixture self-check ", sig));
            assertEq(ours[i].signature, sig, "same function, same order");
            if (ours[i].selector != bytes4(0)) {
                assertEq(bytes32(ours[i].selector), bytes32(sel), string.concat("selector of ", sig));
            }
            fixtureXor ^= sel;
        }
        assertEq(bytes32(type(ITangle).interfaceId), bytes32(fixtureXor), "ITangle id = XOR of crate selectors");
    }

    function test_bsmAnswersEverySelector() public {
        // The compiler already forces the BSM to implement the interface; this checks the deployed
        // runtime code's dispatcher really carries each crate selector (a PUSH of it).
        bytes memory code = address(new AgentInstanceBlueprint()).code;
        Sel[] memory ours = _ours();
        for (uint256 i = 0; i < ours.length; ++i) {
            assertTrue(_hasPush4(code, ours[i].selector), string.concat("dispatcher lacks ", ours[i].signature));
        }
    }

    /// @dev True if `code` contains `PUSHn sel` with the selector's leading zero bytes dropped (solc
    ///      pushes e.g. 0x0068080b with PUSH3).
    function _hasPush4(bytes memory code, bytes4 sel) internal pure returns (bool) {
        uint8 skip;
        while (skip < 3 && sel[skip] == 0) ++skip;
        uint8 n = 4 - skip;
        bytes1 opcode = bytes1(0x5f + n);
        for (uint256 i = 0; i + n < code.length; ++i) {
            if (code[i] != opcode) continue;
            bool same = true;
            for (uint256 k = 0; k < n && same; ++k) {
                same = code[i + 1 + k] == sel[skip + k];
            }
            if (same) return true;
        }
        return false;
    }
}
