// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {StandaloneRegistryFixture, RegistryCheats} from "./utils/RegistryFixture.sol";
import {TestBase, Cheats} from "./utils/TestBase.sol";
import {AgentRegistry} from "../src/AgentRegistry.sol";
import {IAgentRegistry} from "../src/interfaces/IAgentRegistry.sol";

/// @notice AgentRegistry fuzz tests: bounds, ttl and takeover attempts with random inputs.
contract AgentRegistryFuzzTest is StandaloneRegistryFixture {
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
