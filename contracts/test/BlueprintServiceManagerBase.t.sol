// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {TestBase} from "./utils/TestBase.sol";
import {BlueprintServiceManagerBase} from "../src/BlueprintServiceManagerBase.sol";
import {AgentInstanceBlueprint} from "../src/AgentInstanceBlueprint.sol";
import {IBlueprintServiceManager} from "../src/interfaces/IBlueprintServiceManager.sol";

/// @dev Exposes the base's internal payment-asset allow-list helpers.
contract BaseHarness is BlueprintServiceManagerBase {
    function permit(uint64 serviceId, address asset) external returns (bool) {
        return _permitAsset(serviceId, asset);
    }

    function revoke(uint64 serviceId, address asset) external returns (bool) {
        return _revokeAsset(serviceId, asset);
    }
}

contract BlueprintServiceManagerBaseTest is TestBase {
    address internal constant TANGLE = address(0x7A11);
    address internal constant OWNER = address(0xB0B);
    address internal constant TOKEN = address(0x70C);
    address internal constant OTHER_TOKEN = address(0x70D);

    BaseHarness internal base;

    function setUp() public {
        base = new BaseHarness();
        vm.prank(TANGLE);
        base.onBlueprintCreated(4, OWNER, TANGLE);
    }

    /// @dev The documented defaults, checked on the bare base and on our BSM (which must not change them).
    function _checkDefaults(IBlueprintServiceManager m) internal view {
        _checkConfigDefaults(m);
        _checkPolicyDefaults(m);
    }

    function _checkConfigDefaults(IBlueprintServiceManager m) internal view {
        (bool d1, uint64 interval) = m.getHeartbeatInterval(1);
        assertTrue(d1 && interval == 0, "heartbeat interval: default");
        (bool d2, uint8 threshold) = m.getHeartbeatThreshold(1);
        assertTrue(d2 && threshold == 0, "heartbeat threshold: default");
        (bool d3, uint64 window) = m.getSlashingWindow(1);
        assertTrue(d3 && window == 0, "slashing window: default");
        (bool d4, uint64 minCommit, uint64 exitQueue, bool force) = m.getExitConfig(1);
        assertTrue(d4 && minCommit == 0 && exitQueue == 0 && !force, "exit config: default");
        (bool d5, uint64 grace) = m.getNonPaymentTerminationPolicy(1);
        assertTrue(d5 && grace == 0, "non-payment policy: default");
        (bool d6, uint256 minStake) = m.getMinOperatorStake();
        assertTrue(d6 && minStake == 0, "min stake: default");
    }

    function _checkPolicyDefaults(IBlueprintServiceManager m) internal view {
        assertFalse(m.forceRemoveAllowsBelowMin(1), "force remove keeps the floor");
        assertEq(m.computeBillAdjustmentBps(1, 0, 100), 10_000, "full bill");
        assertFalse(m.requiresAggregation(1, 0), "no aggregation");
        (uint16 bps, uint8 kind) = m.getAggregationThreshold(1, 0);
        assertEq(bps, 6700, "aggregation threshold");
        assertEq(kind, 0, "count based");
        assertTrue(m.canJoin(1, address(0xA)), "canJoin");
        assertTrue(m.canLeave(1, address(0xA)), "canLeave");
        assertEq(m.querySlashingOrigin(1), address(m), "slashing origin");
        assertEq(m.queryDisputeOrigin(1), address(m), "dispute origin");
        assertEq(m.queryDeveloperPaymentAddress(1), OWNER, "developer payment address = blueprint owner");
        assertTrue(m.queryIsPaymentAssetAllowed(1, address(0)), "native allowed");
        assertTrue(m.queryIsPaymentAssetAllowed(1, TOKEN), "any token allowed without a list");
    }

    function test_defaults_base() public view {
        _checkDefaults(base);
        assertEq(base.getRequiredResultCount(1, 0), 1, "one result by default");
        assertEq(base.getRequiredResultCount(1, 200), 1, "one result for any job");
    }

    function test_defaults_agentInstanceBlueprint() public {
        AgentInstanceBlueprint b = new AgentInstanceBlueprint();
        vm.prank(TANGLE);
        b.onBlueprintCreated(4, OWNER, TANGLE);
        _checkDefaults(b);
    }

    function test_paymentAssetAllowList() public {
        assertTrue(base.permit(1, TOKEN), "added");
        assertFalse(base.permit(1, TOKEN), "already listed");
        assertTrue(base.queryIsPaymentAssetAllowed(1, TOKEN), "listed token allowed");
        assertFalse(base.queryIsPaymentAssetAllowed(1, OTHER_TOKEN), "unlisted token refused");
        assertTrue(base.queryIsPaymentAssetAllowed(1, address(0)), "native always allowed");
        assertTrue(base.queryIsPaymentAssetAllowed(2, OTHER_TOKEN), "lists are per service");
        assertFalse(base.revoke(1, OTHER_TOKEN), "not listed");
        assertTrue(base.revoke(1, TOKEN), "removed");
        assertTrue(base.queryIsPaymentAssetAllowed(1, OTHER_TOKEN), "empty list allows all again");
    }

    function test_hooks_onlyTangleCore_andNoOpsForTangle() public {
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(BlueprintServiceManagerBase.OnlyTangleCore.selector, address(0xBAD)));
        base.onJobResult(1, 0, 0, address(0xA), bytes32(0), "");
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(BlueprintServiceManagerBase.OnlyTangleCore.selector, address(0xBAD)));
        base.onRequest(1, address(0xC), new address[](0), "", 0, address(0), 0);
        vm.startPrank(TANGLE);
        base.onRequest(1, address(0xC), new address[](0), "", 0, address(0), 0);
        base.onServiceInitialized(4, 1, 1, address(0xC), new address[](0), 0);
        base.onJobCall(1, 0, 0, "");
        base.onJobResult(1, 0, 0, address(0xA), bytes32(0), "");
        base.onOperatorJoined(1, address(0xA), 1);
        base.onOperatorLeft(1, address(0xA));
        base.onServiceTermination(1, address(0xC));
        vm.stopPrank();
    }

    function test_binding_onlyOnce() public {
        vm.prank(TANGLE);
        vm.expectRevert(BlueprintServiceManagerBase.AlreadyInitialized.selector);
        base.onBlueprintCreated(5, OWNER, TANGLE);
    }
}
