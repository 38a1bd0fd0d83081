// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {BsmFixture} from "./utils/BsmFixture.sol";
import {TestBase, Cheats} from "./utils/TestBase.sol";
import {AgentRegistry} from "../src/AgentRegistry.sol";
import {IAgentRegistry} from "../src/interfaces/IAgentRegistry.sol";

/// @dev Cheatcodes the shared `Cheats` interface does not declare.
interface RegistryCheats {
    function warp(uint256) external;
}

/// @dev Shared helpers of the registry tests.
abstract contract RegistryFixture is BsmFixture {
    RegistryCheats internal constant hevm = RegistryCheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    AgentRegistry internal reg;

    address internal constant ADMIN = address(0xAD);
    address internal constant JAILER = address(0x1A11);
    address internal constant OWNER = address(0x0A);
    bytes32 internal constant KEY = keccak256("agent ed25519 public key");
    bytes32 internal constant KEY2 = keccak256("second agent key");
    uint64 internal constant SVC = 11;
    uint64 internal constant TTL = 1 hours;
    uint64 internal constant T0 = 1_700_000_000;

    function _params() internal pure returns (IAgentRegistry.AgentParams memory p) {
        p = IAgentRegistry.AgentParams({
            endpoint: "https://op1.example:8443/",
            manifestHash: keccak256("manifest v1"),
            capabilityDigest: keccak256("caps v1"),
            region: "eu-west"
        });
    }

    function _params2() internal pure returns (IAgentRegistry.AgentParams memory p) {
        p = IAgentRegistry.AgentParams({
            endpoint: "https://op1.example:9443/agent",
            manifestHash: keccak256("manifest v2"),
            capabilityDigest: bytes32(0),
            region: ""
        });
    }

    function _register(address who, bytes32 key) internal returns (bytes32 id) {
        vm.prank(who);
        id = reg.register(key, SVC, who, _params(), TTL);
    }

    function _string(uint256 len) internal pure returns (string memory s) {
        bytes memory b = new bytes(len);
        for (uint256 i = 0; i < len; ++i) {
            b[i] = "a";
        }
        s = string(b);
    }

    function _status(bytes32 id) internal view returns (uint256) {
        return uint256(reg.statusOf(id));
    }
}

/// @notice AgentRegistry: registration, ownership (no takeover), expiry, jailing, exit, bounds.
contract AgentRegistryTest is RegistryFixture {
    function setUp() public {
        hevm.warp(T0);
        reg = new AgentRegistry(ADMIN, address(0));
    }

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

    // ═════════════════════════════════════════════════════════════════════════
    // Fuzz
    // ═════════════════════════════════════════════════════════════════════════

    /// @dev Any ttl / endpoint / region length: accepted exactly within the bounds, and then active
    ///      exactly until `block.timestamp + ttl`.
    function testFuzz_register_bounds(uint64 ttl, uint16 endpointLen, uint8 regionLen, bytes32 key) public {
        vm.assume(key != bytes32(0));
        endpointLen = uint16(bound(endpointLen, 0, reg.MAX_ENDPOINT_LENGTH() + 8));
        IAgentRegistry.AgentParams memory p = _params();
        p.endpoint = _string(endpointLen);
        p.region = _string(regionLen % 48);
        bool ok = ttl > 0 && ttl <= reg.MAX_TTL() && endpointLen > 0 && endpointLen <= reg.MAX_ENDPOINT_LENGTH()
            && regionLen % 48 <= reg.MAX_REGION_LENGTH();
        vm.prank(OWNER);
        (bool success,) = address(reg).call(abi.encodeCall(reg.register, (key, SVC, OWNER, p, ttl)));
        assertEq(success, ok, "accepted iff within bounds");
        bytes32 id = reg.agentIdOf(key);
        if (!ok) {
            assertEq(_status(id), uint256(IAgentRegistry.AgentStatus.None), "nothing stored");
            return;
        }
        assertEq(reg.getAgent(id).endpoint, p.endpoint, "endpoint stored");
        hevm.warp(T0 + ttl - 1);
        assertTrue(reg.isActive(id), "active before expiry");
        hevm.warp(T0 + ttl);
        assertFalse(reg.isActive(id), "inactive at expiry");
    }

    function testFuzz_heartbeat_ttl(uint64 ttl, uint32 later) public {
        bytes32 id = _register(OWNER, KEY);
        hevm.warp(T0 + later);
        vm.prank(OWNER);
        (bool success,) = address(reg).call(abi.encodeCall(reg.heartbeat, (id, ttl)));
        assertEq(success, ttl > 0 && ttl <= reg.MAX_TTL(), "accepted iff 0 < ttl <= MAX_TTL");
        uint256 want = success ? T0 + later + ttl : T0 + TTL;
        assertEq(uint256(reg.getAgent(id).expiresAt), want, "expiry");
    }

    function testFuzz_takeover_neverSucceeds(address attacker, uint8 action) public {
        vm.assume(attacker != OWNER);
        bytes32 id = _register(OWNER, KEY);
        bytes memory call;
        uint8 a = action % 4;
        if (a == 0) call = abi.encodeCall(reg.register, (KEY, SVC, attacker, _params2(), TTL));
        else if (a == 1) call = abi.encodeCall(reg.update, (id, _params2()));
        else if (a == 2) call = abi.encodeCall(reg.heartbeat, (id, TTL));
        else call = abi.encodeCall(reg.exit, (id));
        vm.prank(attacker);
        (bool success, bytes memory ret) = address(reg).call(call);
        assertFalse(success, "takeover call reverted");
        assertEq(ret, abi.encodeWithSelector(IAgentRegistry.NotAgentOwner.selector, id, attacker, OWNER), "error");
        assertEq(reg.getAgent(id).owner, OWNER, "owner unchanged");
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

/// @notice Drives the registry with random actors, keys and actions (most of them unauthorised).
contract RegistryHandler {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));
    RegistryCheats internal constant hevm = RegistryCheats(address(uint160(uint256(keccak256("hevm cheat code")))));
    address internal constant ADMIN = address(0xAD);

    AgentRegistry public immutable reg;
    address[4] internal actors = [address(0xA0), address(0xA1), address(0xA2), address(0xA3)];
    bytes32[5] public keys;
    mapping(bytes32 agentId => address) public firstOwner;
    uint256 public registeredKeys;
    uint256 public now_ = 1_700_000_000;

    constructor(AgentRegistry r) {
        reg = r;
        for (uint256 i = 0; i < keys.length; ++i) {
            keys[i] = keccak256(abi.encode("key", i));
        }
        hevm.warp(now_);
    }

    function keyCount() external view returns (uint256) {
        return keys.length;
    }

    function _params(uint256 seed) internal pure returns (IAgentRegistry.AgentParams memory p) {
        p = IAgentRegistry.AgentParams({
            endpoint: seed % 2 == 0 ? "https://a/" : "https://b/",
            manifestHash: keccak256(abi.encode(seed)),
            capabilityDigest: bytes32(seed),
            region: "r"
        });
    }

    /// @dev Pranks the next call as one of the actors: call it right before the registry call, after
    ///      every argument was computed (an argument computed by a registry view would eat the prank).
    function _as(uint256 seed) internal returns (address a) {
        a = actors[seed % actors.length];
        vm.prank(a);
    }

    function register(uint256 actor, uint256 key, uint64 ttl) external {
        bytes32 k = keys[key % keys.length];
        bytes32 id = reg.agentIdOf(k);
        IAgentRegistry.AgentParams memory p = _params(actor);
        uint64 t = 1 + (ttl % reg.MAX_TTL());
        address a = _as(actor);
        try reg.register(k, 1, a, p, t) {
            if (firstOwner[id] == address(0)) {
                firstOwner[id] = a;
                ++registeredKeys;
            }
        } catch {}
    }

    function update(uint256 actor, uint256 key) external {
        bytes32 id = reg.agentIdOf(keys[key % keys.length]);
        IAgentRegistry.AgentParams memory p = _params(actor ^ 1);
        _as(actor);
        try reg.update(id, p) {} catch {}
    }

    function heartbeat(uint256 actor, uint256 key, uint64 ttl) external {
        bytes32 id = reg.agentIdOf(keys[key % keys.length]);
        uint64 t = ttl % (reg.MAX_TTL() + 2);
        _as(actor);
        try reg.heartbeat(id, t) {} catch {}
    }

    function exit(uint256 actor, uint256 key) external {
        bytes32 id = reg.agentIdOf(keys[key % keys.length]);
        _as(actor);
        try reg.exit(id) {} catch {}
    }

    function jail(uint256 key, bool unjail) external {
        bytes32 id = reg.agentIdOf(keys[key % keys.length]);
        vm.prank(ADMIN);
        if (unjail) {
            try reg.unjail(id) {} catch {}
        } else {
            try reg.jail(id, "fuzz") {} catch {}
        }
    }

    function warp(uint32 dt) external {
        now_ += dt % 2 days;
        hevm.warp(now_);
    }
}

/// @notice No record ever changes owner; enumeration holds each registered id exactly once.
contract AgentRegistryInvariantTest is TestBase {
    AgentRegistry internal reg;
    RegistryHandler internal handler;

    function setUp() public {
        reg = new AgentRegistry(address(0xAD), address(0));
        handler = new RegistryHandler(reg);
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    /// @dev The handler's actions do take effect (the pranks reach the registry).
    function test_handlerMakesProgress() public {
        handler.register(0, 0, 100);
        handler.register(1, 0, 100); // another actor, same key: refused
        handler.heartbeat(0, 0, 200);
        assertEq(handler.registeredKeys(), 1, "one id registered");
        bytes32 id = reg.agentIdOf(handler.keys(0));
        assertEq(reg.getAgent(id).owner, address(0xA0), "first actor owns it");
        assertEq(uint256(reg.getAgent(id).expiresAt), block.timestamp + 200, "heartbeat applied");
        handler.exit(0, 0);
        assertEq(uint256(reg.statusOf(id)), uint256(IAgentRegistry.AgentStatus.Exited), "exit applied");
    }

    function invariant_ownerNeverChanges() public view {
        for (uint256 i = 0; i < handler.keyCount(); ++i) {
            bytes32 id = reg.agentIdOf(handler.keys(i));
            address first = handler.firstOwner(id);
            if (first == address(0)) {
                assertEq(uint256(reg.statusOf(id)), uint256(IAgentRegistry.AgentStatus.None), "unregistered");
            } else {
                IAgentRegistry.AgentRecord memory r = reg.getAgent(id);
                assertEq(r.owner, first, "owner is the first registrant");
                assertEq(r.agentId, id, "agentId");
                assertEq(r.publicKey, handler.keys(i), "publicKey");
            }
        }
    }

    function invariant_enumerationMatches() public view {
        uint256 n = reg.agentCount();
        assertEq(n, handler.registeredKeys(), "agentCount = distinct registered ids");
        for (uint256 i = 0; i < n; ++i) {
            bytes32 id = reg.agentIdAt(i);
            assertTrue(handler.firstOwner(id) != address(0), "enumerated id was registered");
            for (uint256 j = i + 1; j < n; ++j) {
                assertTrue(id != reg.agentIdAt(j), "no duplicates");
            }
        }
    }

    function invariant_activeMeansUnexpired() public view {
        for (uint256 i = 0; i < handler.keyCount(); ++i) {
            bytes32 id = reg.agentIdOf(handler.keys(i));
            if (!reg.isActive(id)) continue;
            IAgentRegistry.AgentRecord memory r = reg.getAgent(id);
            assertEq(uint256(r.status), uint256(IAgentRegistry.AgentStatus.Active), "stored Active");
            assertGt(r.expiresAt, block.timestamp, "not expired");
            assertLe(r.expiresAt, block.timestamp + reg.MAX_TTL(), "expiry within MAX_TTL");
        }
    }
}
