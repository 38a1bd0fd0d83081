// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {BsmFixture} from "./utils/BsmFixture.sol";
import {AgentJobs} from "../src/AgentJobs.sol";
import {AgentInstanceBlueprint} from "../src/AgentInstanceBlueprint.sol";
import {console2} from "forge-std/console2.sol";

/// @dev Stands in for Tangle core: calls a hook with Tangle's per-hook gas cap (500k by default,
///      `MANAGER_HOOK_GAS_LIMIT_DEFAULT`) and measures the gas the hook used. Measuring inside this
///      contract keeps the number free of the test's own transaction overhead (also under
///      `forge test --gas-report`, which runs every top-level call as its own transaction).
contract TangleCoreProbe {
    uint256 public constant HOOK_GAS = 500_000;

    function hook(address manager, bytes calldata data) external returns (bool ok, uint256 used) {
        uint256 before = gasleft();
        (ok,) = manager.call{gas: HOOK_GAS}(data);
        used = before - gasleft();
    }
}

/// @notice Gas budgets: recording a PROMPT/TASK result hash stays cheap (target <= 60k), and every
///         hook fits Tangle core's 500k hook budget with room to spare.
contract GasTest is BsmFixture {
    uint64 internal constant SVC = 31;
    TangleCoreProbe internal core;

    function setUp() public {
        core = new TangleCoreProbe();
        bsm = new AgentInstanceBlueprint();
        _hook(abi.encodeCall(bsm.onBlueprintCreated, (BLUEPRINT_ID, BP_OWNER, address(core))));
        _hook(abi.encodeCall(bsm.onRequest, (1, CUSTOMER, _ops3(), "", 0, address(0), 0)));
        _hook(abi.encodeCall(bsm.onServiceInitialized, (BLUEPRINT_ID, 1, SVC, CUSTOMER, _one(CUSTOMER), 0)));
        address[] memory ops = _ops3();
        for (uint256 i = 0; i < ops.length; ++i) {
            _hook(_resultCall(AgentJobs.PROVISION, 0, ops[i], _provisionOut(ops[i])));
        }
        assertEq(bsm.provisionedCount(SVC), 3, "set-up provisioned three operators");
    }

    function _resultCall(uint8 job, uint64 callId, address op, bytes memory out) internal view returns (bytes memory) {
        return abi.encodeCall(bsm.onJobResult, (SVC, job, callId, op, keccak256("inputs"), out));
    }

    /// @dev Runs a hook through the probe with every storage slot cold; fails if the hook failed.
    function _hook(bytes memory data) internal returns (uint256 used) {
        vm.cool(address(bsm));
        bool ok;
        (ok, used) = core.hook(address(bsm), data);
        assertTrue(ok, "hook failed within Tangle's 500k budget");
    }

    function test_gas_promptResult() public {
        bytes memory out = _promptOut("The answer is 42.");
        uint256 first = _hook(_resultCall(AgentJobs.PROMPT, 1, op1, out));
        uint256 second = _hook(_resultCall(AgentJobs.PROMPT, 1, op2, out));
        console2.log("gas: onJobResult PROMPT, first result of a call", first);
        console2.log("gas: onJobResult PROMPT, second result of a call", second);
        (address[] memory answered,) = bsm.getJobResultHashes(SVC, 1);
        assertEq(answered.length, 2, "both recorded");
        assertLe(first, 60_000, "recording one PROMPT result hash <= 60k gas");
        assertLe(second, 60_000, "recording one PROMPT result hash <= 60k gas");
    }

    function test_gas_taskResult() public {
        uint256 used = _hook(_resultCall(AgentJobs.TASK, 1, op1, _taskOut("Done: all tests pass.")));
        console2.log("gas: onJobResult TASK", used);
        assertLe(used, 60_000, "recording one TASK result hash <= 60k gas");
    }

    function test_gas_execAnchor() public {
        uint256 used = _hook(_resultCall(AgentJobs.EXEC, 1, op1, _execOut(7, keccak256("root"))));
        console2.log("gas: onJobResult EXEC with VES anchor", used);
        (uint64 seq,) = bsm.getStreamAnchor(SVC, op1);
        assertEq(seq, 7, "anchored");
        assertLe(used, 100_000, "EXEC anchor");
    }

    function test_gas_provisionGolden() public {
        bytes memory out = vm.parseJsonBytes(
            vm.readFile("contracts/test/fixtures/golden-outputs.json"), ".results.ProvisionResult.encoded"
        );
        _hook(abi.encodeCall(bsm.onOperatorJoined, (SVC, op4, 10_000)));
        uint256 used = _hook(_resultCall(AgentJobs.PROVISION, 2, op4, out));
        console2.log("gas: onJobResult PROVISION (golden sample)", used);
        assertTrue(bsm.isProvisioned(SVC, op4), "recorded");
        assertLe(used, 300_000, "PROVISION well inside the 500k hook budget");
    }

    function test_gas_provisionWithLargeAttestation() public {
        AgentJobs.ProvisionResult memory r = _provisionResult(op4);
        r.attestation = new bytes(5000); // a TDX quote is ~5 KB
        r.sandboxId = "sbx-7f3c2a19-4e0b-4d7e-9a51-2f6c8d0e1b37-with-a-long-suffix";
        r.sidecarUrl = "https://operator-one.example.org:49213/v1/sandboxes/sbx-7f3c2a19-4e0b-4d7e-9a51-2f6c8d0e1b37";
        _hook(abi.encodeCall(bsm.onOperatorJoined, (SVC, op4, 10_000)));
        uint256 used = _hook(_resultCall(AgentJobs.PROVISION, 2, op4, abi.encode(r)));
        console2.log("gas: onJobResult PROVISION (5 KB attestation, long URL)", used);
        assertTrue(bsm.isProvisioned(SVC, op4), "recorded");
        assertLe(used, 350_000, "PROVISION inside the 500k hook budget");
    }

    function test_gas_onJobCall() public {
        uint256 used = _hook(abi.encodeCall(bsm.onJobCall, (SVC, AgentJobs.PROMPT, 5, abi.encode(_promptReqSample()))));
        console2.log("gas: onJobCall PROMPT", used);
        assertLe(used, 60_000, "onJobCall");
    }

    /// @dev `onRequest` is a reverting hook on Tangle core: a request whose operator set does not fit
    ///      the budget is refused as a whole. 16 operators must fit; activation must not grow with them.
    function test_gas_requestAndActivationWithSixteenOperators() public {
        address[] memory ops = new address[](16);
        for (uint256 i = 0; i < ops.length; ++i) {
            ops[i] = vm.addr(0x100 + i);
        }
        uint256 request = _hook(abi.encodeCall(bsm.onRequest, (9, CUSTOMER, ops, "", 0, address(0), 0)));
        uint256 init16 =
            _hook(abi.encodeCall(bsm.onServiceInitialized, (BLUEPRINT_ID, 9, 99, CUSTOMER, _one(CUSTOMER), 0)));
        _hook(abi.encodeCall(bsm.onRequest, (10, CUSTOMER, _one(op1), "", 0, address(0), 0)));
        uint256 init1 =
            _hook(abi.encodeCall(bsm.onServiceInitialized, (BLUEPRINT_ID, 10, 98, CUSTOMER, _one(CUSTOMER), 0)));
        console2.log("gas: onRequest with 16 operators", request);
        console2.log("gas: onServiceInitialized with 16 operators", init16);
        console2.log("gas: onServiceInitialized with 1 operator", init1);
        assertEq(bsm.operatorCount(99), 16, "sixteen operators");
        assertEq(bsm.getRequiredResultCount(99, AgentJobs.PROMPT), 16, "required = 16");
        assertEq(init16, init1, "activation cost does not depend on the operator count");
        assertLe(init16, 150_000, "activation");
    }

    function _promptReqSample() internal pure returns (AgentJobs.PromptRequest memory) {
        return AgentJobs.PromptRequest({
            prompt: "Summarise the repository.", systemPrompt: "", model: "m", maxTokens: 64, seed: 1, timeoutMs: 1000
        });
    }
}
