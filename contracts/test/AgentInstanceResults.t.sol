// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {BsmFixture} from "./utils/BsmFixture.sol";
import {AgentJobs} from "../src/AgentJobs.sol";
import {IAgentInstanceBlueprint} from "../src/interfaces/IAgentInstanceBlueprint.sol";

/// @notice AgentInstanceBlueprint: PROMPT / TASK / SSH result hashes, consensus and the
///         `inspectResult` / `decodeProvisionResult` helpers.
contract AgentInstanceResultsTest is BsmFixture {
    uint64 internal constant SVC = 7;

    function setUp() public {
        bsm = _deployBound();
    }

    // ═════════════════════════════════════════════════════════════════════════
    // PROMPT / TASK result hashes and consensus (DESIGN decision 4)
    // ═════════════════════════════════════════════════════════════════════════

    function test_promptResults_hashesAndConsensus() public {
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        (bytes32 top, uint32 agreeing, uint32 answered) = bsm.getConsensus(SVC, 1);
        assertEq(top, bytes32(0), "no answers: no top hash");
        assertEq(agreeing + answered, 0, "no answers");

        bytes memory yes = _promptOut("42");
        bytes memory no = _promptOut("41");
        vm.expectEmit(true, true, true, true, address(bsm));
        emit IAgentInstanceBlueprint.OperatorResultSubmitted(SVC, AgentJobs.PROMPT, 1, op2, keccak256(no));
        _result(SVC, AgentJobs.PROMPT, 1, op2, no);
        _result(SVC, AgentJobs.PROMPT, 1, op3, yes);
        (top, agreeing, answered) = bsm.getConsensus(SVC, 1);
        assertEq(top, keccak256(no), "tie goes to the lowest ordinal's hash");
        assertEq(agreeing, 1, "tie: one each");
        assertEq(answered, 2, "two answered");
        _result(SVC, AgentJobs.PROMPT, 1, op1, yes);

        (address[] memory ops, bytes32[] memory hashes) = bsm.getJobResultHashes(SVC, 1);
        assertEq(ops.length, 3, "three answers");
        assertEq(ops[0], op1, "ordinal order 0");
        assertEq(ops[1], op2, "ordinal order 1");
        assertEq(ops[2], op3, "ordinal order 2");
        assertEq(hashes[0], keccak256(yes), "op1 hash");
        assertEq(hashes[1], keccak256(no), "op2 hash");
        assertEq(hashes[2], keccak256(yes), "op3 hash");
        (top, agreeing, answered) = bsm.getConsensus(SVC, 1);
        assertEq(top, keccak256(yes), "majority hash");
        assertEq(agreeing, 2, "two agree");
        assertEq(answered, 3, "three answered");
    }

    function test_taskResults_andLeaverStaysInHistory() public {
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        bytes memory out = _taskOut("done");
        _result(SVC, AgentJobs.TASK, 1, op1, out);
        _result(SVC, AgentJobs.TASK, 1, op2, out);
        _leave(SVC, op1);
        (address[] memory ops,) = bsm.getJobResultHashes(SVC, 1);
        assertEq(ops.length, 2, "a leaver's answer stays");
        (bytes32 top, uint32 agreeing,) = bsm.getConsensus(SVC, 1);
        assertEq(top, keccak256(out), "top");
        assertEq(agreeing, 2, "agreeing");
    }

    function test_sshResults_recorded() public {
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        bytes[8] memory outs = _validOutputs(op1);
        _result(SVC, AgentJobs.SSH_PROVISION, 1, op1, outs[AgentJobs.SSH_PROVISION]);
        _result(SVC, AgentJobs.SSH_REVOKE, 2, op1, outs[AgentJobs.SSH_REVOKE]);
        (, bytes32[] memory h1) = bsm.getJobResultHashes(SVC, 1);
        (, bytes32[] memory h2) = bsm.getJobResultHashes(SVC, 2);
        assertEq(h1[0], keccak256(outs[AgentJobs.SSH_PROVISION]), "ssh provision hash");
        assertEq(h2[0], keccak256(outs[AgentJobs.SSH_REVOKE]), "ssh revoke hash");
    }

    function test_inspectResult_helpers() public view {
        bytes[8] memory outs = _validOutputs(op1);
        for (uint8 j = 0; j < 8; ++j) {
            (bytes32 h,,,) = bsm.inspectResult(j, outs[j]);
            assertEq(h, keccak256(outs[j]), "inspectResult hash");
        }
        (, bool ok, uint64 seq, bytes32 root) =
            bsm.inspectResult(AgentJobs.SNAPSHOT, _snapshotOut(7, bytes32(uint256(8))));
        assertTrue(ok, "snapshot success");
        assertEq(seq, 7, "snapshot seq");
        assertEq(root, bytes32(uint256(8)), "snapshot root");
        bytes memory failing = abi.encode(
            AgentJobs.ExecResult({exitCode: 3, stdout: "", stderr: "boom", vesSequence: 1, vesStateRoot: bytes32(0)})
        );
        (, ok,,) = bsm.inspectResult(AgentJobs.EXEC, failing);
        assertFalse(ok, "non-zero exit code is not success");
        (AgentJobs.ProvisionResult memory r, bytes32 ph) = bsm.decodeProvisionResult(outs[0]);
        assertEq(r.sidecarUrl, _provisionResult(op1).sidecarUrl, "decodeProvisionResult");
        assertEq(ph, keccak256(outs[0]), "decodeProvisionResult hash");
    }

    function test_inspectResult_refusesUnknownJobAndNonCanonical() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentInstanceBlueprint.UnknownJob.selector, uint8(9)));
        bsm.inspectResult(9, _promptOut("a"));
        vm.expectRevert(IAgentInstanceBlueprint.NonCanonicalEncoding.selector);
        bsm.inspectResult(AgentJobs.PROMPT, bytes.concat(_promptOut("a"), bytes32(0)));
        vm.expectRevert(IAgentInstanceBlueprint.NonCanonicalEncoding.selector);
        bsm.decodeProvisionResult(bytes.concat(_provisionOut(op1), bytes32(0)));
    }
}
