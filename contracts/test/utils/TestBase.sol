// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @dev The cheatcodes these tests use, declared at the cheatcode address. The npm forge-std 1.1.2
///      lacks most of them (and its Test.sol needs ds-test, which the npm package does not ship), so
///      the tests use this small base instead. forge 1.7.1 implements all of them.
interface Cheats {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    struct Gas {
        uint64 gasLimit;
        uint64 gasTotalUsed;
        uint64 gasMemoryUsed;
        int64 gasRefunded;
        uint64 gasRemaining;
    }

    function prank(address) external;
    function startPrank(address) external;
    function stopPrank() external;
    function expectRevert(bytes calldata) external;
    function expectRevert(bytes4) external;
    function expectRevert() external;
    function expectEmit(bool, bool, bool, bool, address) external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory);
    function assume(bool) external pure;
    function addr(uint256) external pure returns (address);
    function label(address, string calldata) external;
    function cool(address) external;
    function lastCallGas() external view returns (Gas memory);
    function readFile(string calldata) external view returns (string memory);
    function parseJsonBytes(string calldata, string calldata) external pure returns (bytes memory);
    function parseJsonBytes32(string calldata, string calldata) external pure returns (bytes32);
    function parseJsonString(string calldata, string calldata) external pure returns (string memory);
    function parseJsonStringArray(string calldata, string calldata) external pure returns (string[] memory);
    function parseJsonUint(string calldata, string calldata) external pure returns (uint256);
    function parseJsonInt(string calldata, string calldata) external pure returns (int256);
    function parseJsonBool(string calldata, string calldata) external pure returns (bool);
    function parseJsonKeys(string calldata, string calldata) external pure returns (string[] memory);
    function toString(uint256) external pure returns (string memory);
    function toString(int256) external pure returns (string memory);
    function toString(address) external pure returns (string memory);
    function toString(bytes32) external pure returns (string memory);
    function toString(bytes calldata) external pure returns (string memory);
    function toString(bool) external pure returns (string memory);
}

/// @dev Minimal test base: cheatcodes plus assertions that revert with a message (a revert fails the
///      test in forge).
abstract contract TestBase {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    bool public IS_TEST = true;

    function fail(string memory err) internal pure {
        revert(string.concat("assertion failed: ", err));
    }

    function assertTrue(bool c, string memory err) internal pure {
        if (!c) fail(err);
    }

    function assertFalse(bool c, string memory err) internal pure {
        if (c) fail(err);
    }

    function assertEq(uint256 a, uint256 b, string memory err) internal pure {
        if (a != b) fail(string.concat(err, ": ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(int256 a, int256 b, string memory err) internal pure {
        if (a != b) fail(string.concat(err, ": ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(address a, address b, string memory err) internal pure {
        if (a != b) fail(string.concat(err, ": ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(bytes32 a, bytes32 b, string memory err) internal pure {
        if (a != b) fail(string.concat(err, ": ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(bool a, bool b, string memory err) internal pure {
        if (a != b) fail(string.concat(err, ": ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertEq(string memory a, string memory b, string memory err) internal pure {
        if (keccak256(bytes(a)) != keccak256(bytes(b))) fail(string.concat(err, ": '", a, "' != '", b, "'"));
    }

    function assertEq(bytes memory a, bytes memory b, string memory err) internal pure {
        if (keccak256(a) != keccak256(b)) fail(string.concat(err, ": ", vm.toString(a), " != ", vm.toString(b)));
    }

    function assertLe(uint256 a, uint256 b, string memory err) internal pure {
        if (a > b) fail(string.concat(err, ": ", vm.toString(a), " > ", vm.toString(b)));
    }

    function assertGt(uint256 a, uint256 b, string memory err) internal pure {
        if (a <= b) fail(string.concat(err, ": ", vm.toString(a), " <= ", vm.toString(b)));
    }

    /// @dev The first 32-byte word of `b` (zero-padded when shorter).
    function word0(bytes memory b) internal pure returns (uint256 w) {
        bytes memory padded = bytes.concat(b, new bytes(32));
        assembly ("memory-safe") {
            w := mload(add(padded, 32))
        }
    }

    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (lo > hi) fail("bound: lo > hi");
        return lo + (x % (hi - lo + 1));
    }
}
