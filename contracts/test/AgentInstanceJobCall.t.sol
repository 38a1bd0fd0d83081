// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {BsmFixture} from "./utils/BsmFixture.sol";
import {AgentJobs} from "../src/AgentJobs.sol";
import {IAgentInstanceBlueprint} from "../src/interfaces/IAgentInstanceBlueprint.sol";

/// @notice AgentInstanceBlueprint: `onJobCall` / `validateJobInputs` input validation, job ids and
///         pricing.
contract AgentInstanceJobCallTest is BsmFixture {
    uint64 internal constant SVC = 7;

    function setUp() public {
        bsm = _deployBound();
    }

    // ═════════════════════════════════════════════════════════════════════════
    // onJobCall
    // ═════════════════════════════════════════════════════════════════════════

    function _taskReq(string memory p, string memory wf) internal pure returns (AgentJobs.TaskRequest memory) {
        return AgentJobs.TaskRequest({
            prompt: p, systemPrompt: "", model: "m", maxTurns: 4, seed: 1, timeoutMs: 1000, workflowJson: wf
        });
    }

    function _execReq(string memory cmd) internal pure returns (AgentJobs.ExecRequest memory) {
        string[] memory env = new string[](1);
        env[0] = "A=1";
        return AgentJobs.ExecRequest({command: cmd, cwd: "/", env: env, timeoutMs: 1000});
    }

    function _validInputs() internal pure returns (bytes[8] memory inputs) {
        inputs[0] = abi.encode(_provisionRequest());
        inputs[1] = abi.encode(_execReq("ls"));
        inputs[2] = abi.encode(_promptReq("hello"));
        inputs[3] = abi.encode(_taskReq("do it", ""));
        inputs[4] = abi.encode(AgentJobs.SshProvisionRequest({username: "agent", publicKey: "ssh-ed25519 AAAA"}));
        inputs[5] = abi.encode(AgentJobs.SshRevokeRequest({username: "agent", publicKey: ""}));
        inputs[6] = abi.encode(AgentJobs.SnapshotRequest({destinationUrl: "", includeState: true, dockerCommit: false}));
        inputs[7] = abi.encode(AgentJobs.DeprovisionRequest({reason: ""}));
    }

    function test_onJobCall_unknownServiceOrJob() public {
        vm.prank(TANGLE);
        vm.expectRevert(abi.encodeWithSelector(IAgentInstanceBlueprint.ServiceNotActive.selector, SVC));
        bsm.onJobCall(SVC, AgentJobs.PROVISION, 0, _validInputs()[0]);
        _service(SVC, _ops3());
        vm.prank(TANGLE);
        vm.expectRevert(abi.encodeWithSelector(IAgentInstanceBlueprint.UnknownJob.selector, uint8(8)));
        bsm.onJobCall(SVC, 8, 0, "");
    }

    function test_onJobCall_refusesJobsBeforeAnyProvision() public {
        _service(SVC, _ops3());
        bytes[8] memory inputs = _validInputs();
        for (uint8 j = 1; j < 8; ++j) {
            vm.prank(TANGLE);
            vm.expectRevert(abi.encodeWithSelector(IAgentInstanceBlueprint.NoProvisionedOperator.selector, SVC));
            bsm.onJobCall(SVC, j, j, inputs[j]);
        }
        _jobCall(SVC, AgentJobs.PROVISION, 0, inputs[0]); // PROVISION is allowed
        _result(SVC, AgentJobs.PROVISION, 0, op2, _provisionOut(op2));
        for (uint8 j = 0; j < 8; ++j) {
            _jobCall(SVC, j, 10 + j, inputs[j]); // one provisioned operator unlocks every job
        }
        // DEPROVISION of the only provisioned operator locks them again.
        _result(SVC, AgentJobs.DEPROVISION, 17, op2, _deprovisionOut(true));
        vm.prank(TANGLE);
        vm.expectRevert(abi.encodeWithSelector(IAgentInstanceBlueprint.NoProvisionedOperator.selector, SVC));
        bsm.onJobCall(SVC, AgentJobs.EXEC, 20, inputs[1]);
    }

    function test_onJobCall_malformedInputs() public {
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        bytes[8] memory inputs = _validInputs();
        for (uint8 j = 0; j < 8; ++j) {
            bytes memory good = inputs[j];
            bytes[] memory bad = new bytes[](4);
            bad[0] = hex"deadbeef";
            bad[1] = _truncate(good, 32);
            bad[2] = bytes.concat(good, hex"00"); // trailing byte: not canonical
            bad[3] = ""; // empty
            for (uint256 k = 0; k < bad.length; ++k) {
                vm.prank(TANGLE);
                vm.expectRevert(abi.encodeWithSelector(IAgentInstanceBlueprint.MalformedJobInputs.selector, j));
                bsm.onJobCall(SVC, j, 100, bad[k]);
            }
        }
        // A non-canonical offset word (0x40 instead of 0x20, with padding) decodes but is refused.
        bytes memory shifted = bytes.concat(bytes32(uint256(0x40)), bytes32(0), _drop(inputs[2], 32));
        vm.prank(TANGLE);
        vm.expectRevert(abi.encodeWithSelector(IAgentInstanceBlueprint.MalformedJobInputs.selector, uint8(2)));
        bsm.onJobCall(SVC, AgentJobs.PROMPT, 101, shifted);
    }

    function test_onJobCall_validatesFields() public {
        _service(SVC, _ops3());
        AgentJobs.ProvisionRequest memory p = _provisionRequest();
        p.customerX25519PublicKey = bytes32(0);
        _expectInvalid(AgentJobs.PROVISION, abi.encode(p), "customerX25519PublicKey");

        _provisionAll(SVC, 0, _ops3());
        _expectInvalid(AgentJobs.EXEC, abi.encode(_execReq("")), "command");
        _expectInvalid(AgentJobs.PROMPT, abi.encode(_promptReq("")), "prompt");
        _expectInvalid(AgentJobs.TASK, abi.encode(_taskReq("", "")), "prompt");
        _jobCall(SVC, AgentJobs.TASK, 50, abi.encode(_taskReq("", "{\"steps\":[]}"))); // workflow-only task
        _expectInvalid(
            AgentJobs.SSH_PROVISION,
            abi.encode(AgentJobs.SshProvisionRequest({username: "", publicKey: "k"})),
            "username"
        );
        _expectInvalid(
            AgentJobs.SSH_PROVISION,
            abi.encode(AgentJobs.SshProvisionRequest({username: "u", publicKey: ""})),
            "publicKey"
        );
        _expectInvalid(
            AgentJobs.SSH_REVOKE, abi.encode(AgentJobs.SshRevokeRequest({username: "", publicKey: "k"})), "username"
        );
    }

    function _expectInvalid(uint8 job, bytes memory inputs, string memory field) internal {
        vm.prank(TANGLE);
        vm.expectRevert(abi.encodeWithSelector(IAgentInstanceBlueprint.InvalidJobInput.selector, job, field));
        bsm.onJobCall(SVC, job, 99, inputs);
        assertEq(bsm.validateJobInputs(job, inputs), field, "validateJobInputs names the field");
    }

    function test_validateJobInputs_helpers() public {
        bytes[8] memory inputs = _validInputs();
        for (uint8 j = 0; j < 8; ++j) {
            assertEq(bsm.validateJobInputs(j, inputs[j]), "", "valid inputs");
        }
        vm.expectRevert(abi.encodeWithSelector(IAgentInstanceBlueprint.UnknownJob.selector, uint8(8)));
        bsm.validateJobInputs(8, inputs[0]);
        vm.expectRevert(IAgentInstanceBlueprint.NonCanonicalEncoding.selector);
        bsm.validateJobInputs(0, bytes.concat(inputs[0], bytes32(0)));
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Job ids and pricing
    // ═════════════════════════════════════════════════════════════════════════

    function test_jobIdsAndRates() public view {
        uint8[8] memory ids = bsm.jobIds();
        for (uint256 i = 0; i < 8; ++i) {
            assertEq(ids[i], i, "job ids are 0..7");
        }
        uint256[8] memory want = [uint256(50), 1, 20, 250, 2, 1, 5, 1];
        uint256[8] memory m = bsm.jobMultipliers();
        uint256[8] memory rates = bsm.defaultJobRates(1e15);
        for (uint256 i = 0; i < 8; ++i) {
            assertEq(m[i], want[i], "multiplier");
            assertEq(rates[i], want[i] * 1e15, "rate");
        }
        uint256[8] memory zero = bsm.defaultJobRates(0);
        assertEq(zero[3], 0, "zero base");
    }

    function test_defaultJobRates_overflowReverts() public {
        vm.expectRevert();
        bsm.defaultJobRates(type(uint256).max / 100);
    }
}
