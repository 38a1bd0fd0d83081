// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {StandaloneRegistryFixture} from "./utils/RegistryFixture.sol";
import {AgentRegistry} from "../src/AgentRegistry.sol";
import {IAgentRegistry} from "../src/interfaces/IAgentRegistry.sol";

/// @notice AgentRegistry lifecycle: register, update, heartbeat, exit, expiry, re-registration, bounds.
contract AgentRegistryLifecycleTest is StandaloneRegistryFixture {
    // ═════════════════════════════════════════════════════════════════════════
    // Happy paths
    // ═════════════════════════════════════════════════════════════════════════

    function test_constructor_setsAdminAndRejectsZero() public {
        assertEq(reg.admin(), ADMIN, "admin");
        assertEq(reg.serviceManager(), address(0), "no service manager");
        assertEq(uint256(reg.MAX_TTL()), 1 days, "MAX_TTL");
        vm.expectRevert(IAgentRegistry.ZeroAddress.selector);
        new AgentRegistry(address(0), address(0));
    }

    function test_register_recordsEveryFieldAndEmits() public {
        bytes32 id = keccak256(abi.encodePacked(KEY));
        IAgentRegistry.AgentParams memory p = _params();
        vm.expectEmit(true, true, true, true, address(reg));
        emit IAgentRegistry.AgentRegistered(
            id, OWNER, SVC, KEY, op1, p.endpoint, p.manifestHash, p.capabilityDigest, p.region, T0 + TTL
        );
        vm.prank(OWNER);
        bytes32 got = reg.register(KEY, SVC, op1, p, TTL);
        assertEq(got, id, "returned id = keccak256(key)");
        assertEq(reg.agentIdOf(KEY), id, "agentIdOf");

        IAgentRegistry.AgentRecord memory r = reg.getAgent(id);
        assertEq(r.agentId, id, "agentId");
        assertEq(r.publicKey, KEY, "publicKey");
        assertEq(r.owner, OWNER, "owner");
        assertEq(uint256(r.serviceId), SVC, "serviceId");
        assertEq(r.operator, op1, "operator");
        assertEq(r.endpoint, p.endpoint, "endpoint");
        assertEq(r.manifestHash, p.manifestHash, "manifestHash");
        assertEq(r.capabilityDigest, p.capabilityDigest, "capabilityDigest");
        assertEq(r.region, p.region, "region");
        assertEq(uint256(r.expiresAt), T0 + TTL, "expiresAt");
        assertEq(uint256(r.status), uint256(IAgentRegistry.AgentStatus.Active), "status");
        assertEq(uint256(r.registeredAt), T0, "registeredAt");
        assertEq(uint256(r.updatedAt), T0, "updatedAt");
        assertTrue(reg.isActive(id), "active");
        assertEq(_status(id), uint256(IAgentRegistry.AgentStatus.Active), "statusOf");
    }

    function test_register_enumeratesIds() public {
        assertEq(reg.agentCount(), 0, "empty");
        bytes32 a = _register(OWNER, KEY);
        bytes32 b = _register(op2, KEY2);
        assertEq(reg.agentCount(), 2, "two");
        assertEq(reg.agentIdAt(0), a, "first");
        assertEq(reg.agentIdAt(1), b, "second");
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.IndexOutOfRange.selector, 2, 2));
        reg.agentIdAt(2);
    }

    function test_update_ownerReplacesFieldsAndEmits() public {
        bytes32 id = _register(OWNER, KEY);
        hevm.warp(T0 + 60);
        IAgentRegistry.AgentParams memory p = _params2();
        vm.expectEmit(true, true, true, true, address(reg));
        emit IAgentRegistry.AgentUpdated(id, p.endpoint, p.manifestHash, p.capabilityDigest, p.region);
        vm.prank(OWNER);
        reg.update(id, p);
        IAgentRegistry.AgentRecord memory r = reg.getAgent(id);
        assertEq(r.endpoint, p.endpoint, "endpoint");
        assertEq(r.manifestHash, p.manifestHash, "manifestHash");
        assertEq(r.capabilityDigest, bytes32(0), "capabilityDigest");
        assertEq(r.region, "", "region");
        assertEq(uint256(r.updatedAt), T0 + 60, "updatedAt");
        assertEq(uint256(r.registeredAt), T0, "registeredAt unchanged");
        assertEq(uint256(r.expiresAt), T0 + TTL, "expiry unchanged");
        assertEq(r.owner, OWNER, "owner unchanged");
    }

    function test_heartbeat_extendsExpiryAndEmits() public {
        bytes32 id = _register(OWNER, KEY);
        hevm.warp(T0 + 100);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IAgentRegistry.AgentHeartbeat(id, T0 + 100 + 2 hours);
        vm.prank(OWNER);
        uint64 exp = reg.heartbeat(id, 2 hours);
        assertEq(uint256(exp), T0 + 100 + 2 hours, "returned expiry");
        IAgentRegistry.AgentRecord memory r = reg.getAgent(id);
        assertEq(uint256(r.expiresAt), T0 + 100 + 2 hours, "stored expiry");
        assertEq(uint256(r.updatedAt), T0 + 100, "updatedAt");
        // A shorter ttl may also shorten the expiry: the owner states how long it vouches for.
        vm.prank(OWNER);
        reg.heartbeat(id, 1);
        assertEq(uint256(reg.getAgent(id).expiresAt), T0 + 101, "shortened");
    }

    function test_exit_ownerExitsAndEmits() public {
        bytes32 id = _register(OWNER, KEY);
        vm.expectEmit(true, true, true, true, address(reg));
        emit IAgentRegistry.AgentExited(id);
        vm.prank(OWNER);
        reg.exit(id);
        assertFalse(reg.isActive(id), "inactive");
        assertEq(_status(id), uint256(IAgentRegistry.AgentStatus.Exited), "Exited");
        assertEq(reg.getAgent(id).owner, OWNER, "owner kept");
        assertEq(reg.agentCount(), 1, "still enumerated");
        // An exited record cannot be updated, heartbeaten or exited again.
        vm.startPrank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.AgentHasExited.selector, id));
        reg.heartbeat(id, TTL);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.AgentHasExited.selector, id));
        reg.update(id, _params2());
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.AgentHasExited.selector, id));
        reg.exit(id);
        vm.stopPrank();
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Double registration, unknown ids
    // ═════════════════════════════════════════════════════════════════════════

    function test_register_ownerCannotRegisterLiveIdTwice() public {
        bytes32 id = _register(OWNER, KEY);
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.AgentAlreadyRegistered.selector, id));
        reg.register(KEY, SVC, OWNER, _params2(), TTL);
    }

    function test_unknownAgent() public {
        bytes32 id = reg.agentIdOf(KEY);
        assertFalse(reg.isActive(id), "unknown inactive");
        assertEq(_status(id), uint256(IAgentRegistry.AgentStatus.None), "None");
        bytes memory err = abi.encodeWithSelector(IAgentRegistry.UnknownAgent.selector, id);
        vm.expectRevert(err);
        reg.getAgent(id);
        vm.startPrank(OWNER);
        vm.expectRevert(err);
        reg.heartbeat(id, TTL);
        vm.expectRevert(err);
        reg.update(id, _params());
        vm.expectRevert(err);
        reg.exit(id);
        vm.stopPrank();
        vm.startPrank(ADMIN);
        vm.expectRevert(err);
        reg.jail(id, "x");
        vm.expectRevert(err);
        reg.unjail(id);
        vm.stopPrank();
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Expiry
    // ═════════════════════════════════════════════════════════════════════════

    function test_expiry_inactiveWithoutTransaction_heartbeatRevives() public {
        bytes32 id = _register(OWNER, KEY);
        hevm.warp(T0 + TTL - 1);
        assertTrue(reg.isActive(id), "active one second before expiry");
        hevm.warp(T0 + TTL);
        assertFalse(reg.isActive(id), "inactive at expiresAt");
        assertEq(_status(id), uint256(IAgentRegistry.AgentStatus.Expired), "Expired");
        assertEq(uint256(reg.getAgent(id).status), uint256(IAgentRegistry.AgentStatus.Active), "stored Active");
        hevm.warp(T0 + 10 days);
        vm.prank(OWNER);
        reg.heartbeat(id, TTL);
        assertTrue(reg.isActive(id), "revived");
        assertEq(_status(id), uint256(IAgentRegistry.AgentStatus.Active), "Active again");
        assertEq(uint256(reg.getAgent(id).expiresAt), T0 + 10 days + TTL, "new expiry");
    }

    function test_expiry_expiredRecordCanBeUpdatedExitedAndJailed() public {
        bytes32 a = _register(OWNER, KEY);
        bytes32 b = _register(OWNER, KEY2);
        hevm.warp(T0 + TTL + 5);
        vm.startPrank(OWNER);
        reg.update(a, _params2());
        assertFalse(reg.isActive(a), "update does not revive");
        reg.exit(a);
        vm.stopPrank();
        vm.prank(ADMIN);
        reg.jail(b, "stale");
        assertEq(_status(b), uint256(IAgentRegistry.AgentStatus.Jailed), "jailed while expired");
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Re-registration after exit
    // ═════════════════════════════════════════════════════════════════════════

    function test_reregister_afterExit_byOwnerOnly() public {
        bytes32 id = _register(OWNER, KEY);
        vm.prank(OWNER);
        reg.exit(id);
        hevm.warp(T0 + 3 days);
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.NotAgentOwner.selector, id, STRANGER, OWNER));
        reg.register(KEY, SVC, STRANGER, _params(), TTL);

        IAgentRegistry.AgentParams memory p = _params2();
        vm.expectEmit(true, true, true, true, address(reg));
        emit IAgentRegistry.AgentRegistered(
            id, OWNER, 12, KEY, op2, p.endpoint, p.manifestHash, p.capabilityDigest, p.region, T0 + 3 days + 60
        );
        vm.prank(OWNER);
        reg.register(KEY, 12, op2, p, 60);
        IAgentRegistry.AgentRecord memory r = reg.getAgent(id);
        assertEq(uint256(r.status), uint256(IAgentRegistry.AgentStatus.Active), "Active");
        assertEq(uint256(r.serviceId), 12, "new service");
        assertEq(r.operator, op2, "new operator");
        assertEq(r.endpoint, p.endpoint, "new endpoint");
        assertEq(uint256(r.registeredAt), T0 + 3 days, "registeredAt renewed");
        assertEq(reg.agentCount(), 1, "not enumerated twice");
        assertTrue(reg.isActive(id), "active");
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Bounds
    // ═════════════════════════════════════════════════════════════════════════

    function _expectRegisterRevert(bytes32 key, IAgentRegistry.AgentParams memory p, uint64 ttl, bytes memory err)
        internal
    {
        vm.prank(OWNER);
        vm.expectRevert(err);
        reg.register(key, SVC, OWNER, p, ttl);
    }

    function test_bounds_register() public {
        uint256 maxEp = reg.MAX_ENDPOINT_LENGTH();
        uint256 maxRegion = reg.MAX_REGION_LENGTH();
        uint64 maxTtl = reg.MAX_TTL();
        IAgentRegistry.AgentParams memory p = _params();

        _expectRegisterRevert(bytes32(0), p, TTL, abi.encodeWithSelector(IAgentRegistry.ZeroPublicKey.selector));
        _expectRegisterRevert(KEY, p, 0, abi.encodeWithSelector(IAgentRegistry.InvalidTtl.selector, 0, maxTtl));
        _expectRegisterRevert(
            KEY, p, maxTtl + 1, abi.encodeWithSelector(IAgentRegistry.InvalidTtl.selector, maxTtl + 1, maxTtl)
        );
        p.endpoint = "";
        _expectRegisterRevert(KEY, p, TTL, abi.encodeWithSelector(IAgentRegistry.EmptyEndpoint.selector));
        p.endpoint = _string(maxEp + 1);
        _expectRegisterRevert(
            KEY, p, TTL, abi.encodeWithSelector(IAgentRegistry.EndpointTooLong.selector, maxEp + 1, maxEp)
        );
        p = _params();
        p.region = _string(maxRegion + 1);
        _expectRegisterRevert(
            KEY, p, TTL, abi.encodeWithSelector(IAgentRegistry.RegionTooLong.selector, maxRegion + 1, maxRegion)
        );
        p = _params();
        p.manifestHash = bytes32(0);
        _expectRegisterRevert(KEY, p, TTL, abi.encodeWithSelector(IAgentRegistry.ZeroManifestHash.selector));
        assertEq(reg.agentCount(), 0, "nothing registered");

        // Exactly at the limits is fine.
        p = _params();
        p.endpoint = _string(maxEp);
        p.region = _string(maxRegion);
        vm.prank(OWNER);
        bytes32 id = reg.register(KEY, SVC, OWNER, p, maxTtl);
        assertEq(uint256(reg.getAgent(id).expiresAt), T0 + maxTtl, "max ttl");
    }

    function test_bounds_updateAndHeartbeat() public {
        bytes32 id = _register(OWNER, KEY);
        uint64 maxTtl = reg.MAX_TTL();
        IAgentRegistry.AgentParams memory p = _params();
        p.endpoint = _string(reg.MAX_ENDPOINT_LENGTH() + 1);
        vm.startPrank(OWNER);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAgentRegistry.EndpointTooLong.selector, reg.MAX_ENDPOINT_LENGTH() + 1, reg.MAX_ENDPOINT_LENGTH()
            )
        );
        reg.update(id, p);
        p = _params();
        p.manifestHash = bytes32(0);
        vm.expectRevert(IAgentRegistry.ZeroManifestHash.selector);
        reg.update(id, p);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.InvalidTtl.selector, 0, maxTtl));
        reg.heartbeat(id, 0);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.InvalidTtl.selector, maxTtl + 1, maxTtl));
        reg.heartbeat(id, maxTtl + 1);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.InvalidTtl.selector, type(uint64).max, maxTtl));
        reg.heartbeat(id, type(uint64).max);
        vm.stopPrank();
    }
}
