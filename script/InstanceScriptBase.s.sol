// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @dev The cheatcodes our forge scripts use (the npm forge-std 1.1.2 `Script.sol` lacks the env ones).
interface ScriptCheats {
    function startBroadcast() external;
    function stopBroadcast() external;
    function envAddress(string calldata) external view returns (address);
    function envUint(string calldata) external view returns (uint256);
    function envOr(string calldata, uint256) external view returns (uint256);
    function envOr(string calldata, address) external view returns (address);
    function envOr(string calldata, string calldata) external view returns (string memory);
    function envOr(string calldata, bytes32) external view returns (bytes32);
    function toString(address) external pure returns (string memory);
    function toString(uint256) external pure returns (string memory);
}

/// @dev Shared base of the agent-instance forge scripts.
abstract contract InstanceScriptBase {
    ScriptCheats internal constant vm = ScriptCheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    bool public IS_SCRIPT = true;

    /// @dev Tangle core proxy in the SDK's seeded anvil snapshot (blueprint-chain-setup-anvil).
    address internal constant SEEDED_TANGLE = 0x0165878A594ca255338adfa4d48449f69242Eb8F;

    function _tangle() internal view returns (address) {
        return vm.envOr("TANGLE_ADDRESS", SEEDED_TANGLE);
    }
}
