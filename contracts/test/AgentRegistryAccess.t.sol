// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {RegistryFixture, StandaloneRegistryFixture} from "./utils/RegistryFixture.sol";
import {AgentRegistry} from "../src/AgentRegistry.sol";
import {IAgentRegistry} from "../src/interfaces/IAgentRegistry.sol";

/// @notice AgentRegistry access control: no takeover of another owner's id, jailing rules.
contract AgentRegistryAccessTest is StandaloneRegistryFixture {
    // ═════════════════════════════════════════════════════════════════════════
    // Takeover attempts
    // ═════════════════════════════════════════════════════════════════════════

    function test_takeover_registerSameIdByAnotherAddressReverts() public {
        bytes32 id = _register(OWNER, KEY);
        bytes memory err = abi.encodeWithSelector(IAgentRegistry.NotAgentOwner.selector, id, STRANGER, OWNER);
        vm.prank(STRANGER);
        vm.expectRevert(err);
        reg.register(KEY, SVC, STRANGER, _params2(), TTL);
        // Not after expiry either ...
        hevm.warp(T0 + TTL + 1);
        assertEq(_status(id), uint256(IAgentRegistry.AgentStatus.Expired), "expired");
        vm.prank(STRANGER);
        vm.expectRevert(err);
        reg.register(KEY, SVC, STRANGER, _params2(), TTL);
        // ... nor after exit.
        vm.prank(OWNER);
        reg.exit(id);
        vm.prank(STRANGER);
        vm.expectRevert(err);
        reg.register(KEY, SVC, STRANGER, _params2(), TTL);
        assertEq(reg.getAgent(id).owner, OWNER, "owner unchanged");
        assertEq(reg.agentCount(), 1, "no second record");
    }

    function test_takeover_strangerCannotUpdateHeartbeatOrExit() public {
        bytes32 id = _register(OWNER, KEY);
        bytes memory err = abi.encodeWithSelector(IAgentRegistry.NotAgentOwner.selector, id, STRANGER, OWNER);
        vm.startPrank(STRANGER);
        vm.expectRevert(err);
        reg.update(id, _params2());
        vm.expectRevert(err);
        reg.heartbeat(id, TTL);
        vm.expectRevert(err);
        reg.exit(id);
        vm.stopPrank();
        // The operator named in the record is not its owner either.
        vm.prank(op1);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotAgentOwner.selector, id, op1, OWNER));
        reg.heartbeat(id, TTL);
        assertEq(reg.getAgent(id).endpoint, _params().endpoint, "record untouched");
        assertTrue(reg.isActive(id), "still active");
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Jailing
    // ═════════════════════════════════════════════════════════════════════════

    function test_jail_byAdmin() public {
        bytes32 id = _register(OWNER, KEY);
        hevm.warp(T0 + 7);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IAgentRegistry.AgentJailed(id, ADMIN, "bad manifest");
        vm.prank(ADMIN);
        reg.jail(id, "bad manifest");
        assertFalse(reg.isActive(id), "jailed is inactive");
        assertEq(_status(id), uint256(IAgentRegistry.AgentStatus.Jailed), "Jailed");
        assertEq(uint256(reg.getAgent(id).updatedAt), T0 + 7, "updatedAt");
        vm.prank(ADMIN);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.AgentIsJailed.selector, id));
        reg.jail(id, "again");
    }

    function test_jail_byAddedJailer_untilRemoved() public {
        bytes32 id = _register(OWNER, KEY);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IAgentRegistry.JailerSet(JAILER, true);
        vm.prank(ADMIN);
        reg.setJailer(JAILER, true);
        assertTrue(reg.isJailer(JAILER), "jailer");
        vm.prank(JAILER);
        reg.jail(id, "slashed");
        vm.expectEmit(true, true, true, true, address(reg));
        emit IAgentRegistry.AgentUnjailed(id, JAILER);
        vm.prank(JAILER);
        reg.unjail(id);

        vm.expectEmit(true, true, true, true, address(reg));
        emit IAgentRegistry.JailerSet(JAILER, false);
        vm.prank(ADMIN);
        reg.setJailer(JAILER, false);
        vm.prank(JAILER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotJailer.selector, JAILER));
        reg.jail(id, "slashed");
    }

    function test_jail_strangerOwnerAndOperatorCannot() public {
        bytes32 id = _register(OWNER, KEY);
        address[3] memory who = [STRANGER, OWNER, op1];
        for (uint256 i = 0; i < who.length; ++i) {
            vm.prank(who[i]);
            vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotJailer.selector, who[i]));
            reg.jail(id, "no");
        }
        vm.prank(ADMIN);
        reg.jail(id, "yes");
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotJailer.selector, OWNER));
        reg.unjail(id);
    }

    function test_setJailer_adminOnly() public {
        vm.prank(JAILER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotAdmin.selector, JAILER));
        reg.setJailer(JAILER, true);
        vm.prank(ADMIN);
        reg.setJailer(JAILER, true);
        // A jailer cannot appoint other jailers.
        vm.prank(JAILER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotAdmin.selector, JAILER));
        reg.setJailer(STRANGER, true);
        vm.prank(ADMIN);
        vm.expectRevert(IAgentRegistry.ZeroAddress.selector);
        reg.setJailer(address(0), true);
    }

    function test_jailed_cannotHeartbeatUpdateOrExit() public {
        bytes32 id = _register(OWNER, KEY);
        vm.prank(ADMIN);
        reg.jail(id, "x");
        bytes memory err = abi.encodeWithSelector(IAgentRegistry.AgentIsJailed.selector, id);
        vm.startPrank(OWNER);
        vm.expectRevert(err);
        reg.heartbeat(id, TTL);
        vm.expectRevert(err);
        reg.update(id, _params2());
        vm.expectRevert(err);
        reg.exit(id);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.AgentAlreadyRegistered.selector, id));
        reg.register(KEY, SVC, OWNER, _params(), TTL);
        vm.stopPrank();
    }

    function test_unjail_restoresActiveKeepsExpiry() public {
        bytes32 id = _register(OWNER, KEY);
        vm.startPrank(ADMIN);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.AgentNotJailed.selector, id));
        reg.unjail(id);
        reg.jail(id, "x");
        vm.expectEmit(true, true, true, true, address(reg));
        emit IAgentRegistry.AgentUnjailed(id, ADMIN);
        reg.unjail(id);
        vm.stopPrank();
        assertTrue(reg.isActive(id), "active again");
        assertEq(uint256(reg.getAgent(id).expiresAt), T0 + TTL, "expiry unchanged");
        vm.prank(OWNER);
        reg.heartbeat(id, TTL);
        // Unjailed after expiry: Expired until the owner heartbeats.
        vm.prank(ADMIN);
        reg.jail(id, "y");
        hevm.warp(T0 + 2 days);
        vm.prank(ADMIN);
        reg.unjail(id);
        assertEq(_status(id), uint256(IAgentRegistry.AgentStatus.Expired), "Expired after unjail");
    }

    function test_jail_exitedReverts() public {
        bytes32 id = _register(OWNER, KEY);
        vm.prank(OWNER);
        reg.exit(id);
        vm.prank(ADMIN);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.AgentHasExited.selector, id));
        reg.jail(id, "x");
    }
}

/// @notice With a service manager configured, `register` requires the caller to be a current
///         operator of the service it names.
contract AgentRegistryServiceManagerTest is RegistryFixture {
    function setUp() public {
        bsm = _deployBound();
        _service(SVC, _ops3());
        reg = new AgentRegistry(BP_OWNER, address(bsm));
    }

    function test_register_checksOperatorAgainstBsm() public {
        assertEq(reg.serviceManager(), address(bsm), "serviceManager");
        // The caller must be the operator it names.
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.OperatorMismatch.selector, STRANGER, op1));
        reg.register(KEY, SVC, op1, _params(), TTL);
        // ... and an operator of the service.
        vm.prank(op4);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotServiceOperator.selector, SVC, op4));
        reg.register(KEY, SVC, op4, _params(), TTL);
        vm.prank(op1);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotServiceOperator.selector, SVC + 1, op1));
        reg.register(KEY, SVC + 1, op1, _params(), TTL);

        bytes32 id = _register(op1, KEY);
        assertEq(reg.getAgent(id).owner, op1, "operator owns its agent");
        // The blueprint owner is the admin.
        vm.prank(BP_OWNER);
        reg.jail(id, "x");
        assertEq(_status(id), uint256(IAgentRegistry.AgentStatus.Jailed), "jailed by blueprint owner");
    }

    function test_reregister_afterLeavingServiceReverts() public {
        bytes32 id = _register(op2, KEY);
        vm.prank(op2);
        reg.exit(id);
        _leave(SVC, op2);
        vm.prank(op2);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotServiceOperator.selector, SVC, op2));
        reg.register(KEY, SVC, op2, _params(), TTL);
    }
}
