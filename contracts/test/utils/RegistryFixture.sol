// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {BsmFixture} from "./BsmFixture.sol";
import {AgentRegistry} from "../../src/AgentRegistry.sol";
import {IAgentRegistry} from "../../src/interfaces/IAgentRegistry.sol";

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

/// @dev A registry without a service manager (any caller may register), created at `T0` by `ADMIN`.
abstract contract StandaloneRegistryFixture is RegistryFixture {
    function setUp() public {
        hevm.warp(T0);
        reg = new AgentRegistry(ADMIN, address(0));
    }
}
