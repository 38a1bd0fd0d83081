// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {BsmFixture} from "./utils/BsmFixture.sol";
import {Cheats} from "./utils/TestBase.sol";
import {AgentJobs} from "../src/AgentJobs.sol";
import {IAgentInstanceBlueprint} from "../src/interfaces/IAgentInstanceBlueprint.sol";

/// @notice Fuzzing the decoders behind `onJobCall` / `onJobResult` (DESIGN decisions 2 and 3).
contract FuzzTest is BsmFixture {
    uint64 internal constant SVC = 21;

    function setUp() public {
        bsm = _deployBound();
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        _result(SVC, AgentJobs.EXEC, 1, op1, _execOut(50, keccak256("head")));
    }

    function _isStaticResult(uint8 job) internal pure returns (bool) {
        return job == AgentJobs.SSH_REVOKE || job == AgentJobs.DEPROVISION;
    }

    /// @dev Bytes that cannot be the canonical encoding of the job's result struct: a dynamic struct's
    ///      canonical encoding starts with the word 0x20; a static one ({bool}) is exactly 0 or 1.
    function _assumeNotCanonical(uint8 job, bytes memory junk) internal pure {
        if (_isStaticResult(job)) {
            vm.assume(!(junk.length == 32 && word0(junk) <= 1));
        } else {
            vm.assume(junk.length < 32 || word0(junk) != 0x20);
        }
    }

    /// @dev Snapshot of everything a result could change for op1.
    function _state() internal view returns (bytes32) {
        (uint64 seq, bytes32 root) = bsm.getStreamAnchor(SVC, op1);
        IAgentInstanceBlueprint.OperatorEndpoint memory e = bsm.getOperatorEndpoint(SVC, op1);
        return keccak256(abi.encode(seq, root, e, bsm.provisionedCount(SVC), bsm.operatorCount(SVC)));
    }

    function _assertRejectedOnly(
        uint8 job,
        uint64 callId,
        bytes memory outputs,
        IAgentInstanceBlueprint.RejectReason reason
    ) internal {
        bytes32 before = _state();
        vm.recordLogs();
        vm.prank(TANGLE);
        (bool ok, bytes memory ret) =
            address(bsm).call(abi.encodeCall(bsm.onJobResult, (SVC, job, callId, op1, bytes32(0), outputs)));
        assertTrue(ok, string.concat("onJobResult reverted: ", vm.toString(ret)));
        Cheats.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "exactly one event");
        assertEq(logs[0].topics[0], IAgentInstanceBlueprint.ResultRejected.selector, "ResultRejected");
        (, IAgentInstanceBlueprint.RejectReason got) =
            abi.decode(logs[0].data, (uint8, IAgentInstanceBlueprint.RejectReason));
        assertEq(uint256(got), uint256(reason), "reason");
        (address[] memory answered,) = bsm.getJobResultHashes(SVC, callId);
        assertEq(answered.length, 0, "nothing recorded");
        assertEq(_state(), before, "state unchanged");
    }

    /// forge-config: default.fuzz.runs = 1024
    function testFuzz_randomOutputs_neverRevert_neverRecord(uint8 jobSeed, bytes memory junk) public {
        uint8 job = jobSeed % AgentJobs.JOB_COUNT;
        _assumeNotCanonical(job, junk);
        _assertRejectedOnly(job, 1000, junk, IAgentInstanceBlueprint.RejectReason.MalformedOutput);
    }

    /// @dev Random words behind a correct leading offset word are still refused unless canonical.
    function testFuzz_offsetPrefixedJunk_neverRecord(uint8 jobSeed, bytes32 a, bytes32 b, bytes memory tail) public {
        uint8 job = jobSeed % AgentJobs.JOB_COUNT;
        vm.assume(!_isStaticResult(job));
        bytes memory junk = bytes.concat(bytes32(uint256(0x20)), a, b, tail);
        bool canonical;
        try bsm.inspectResult(job, junk) returns (bytes32, bool, uint64, bytes32) {
            canonical = true;
        } catch {}
        vm.assume(!canonical); // (a random canonical encoding is legitimately accepted)
        _assertRejectedOnly(job, 1001, junk, IAgentInstanceBlueprint.RejectReason.MalformedOutput);
    }

    /// @dev A valid result with bytes appended, or cut short, is never recorded.
    function testFuzz_mutatedValidOutputs_neverRecord(uint8 jobSeed, bytes memory suffix, uint256 cut) public {
        uint8 job = jobSeed % AgentJobs.JOB_COUNT;
        bytes[8] memory valid = [
            _provisionOut(op1),
            _execOut(60, keccak256("h60")),
            _promptOut("p"),
            _taskOut("t"),
            abi.encode(AgentJobs.SshProvisionResult({success: true, fingerprint: "fp"})),
            abi.encode(AgentJobs.SshRevokeResult({success: true})),
            _snapshotOut(61, keccak256("h61")),
            _deprovisionOut(true)
        ];
        bytes memory good = valid[job];
        bytes memory mutated;
        if (suffix.length > 0) {
            mutated = bytes.concat(good, suffix);
        } else {
            cut = bound(cut, 1, good.length);
            mutated = new bytes(good.length - cut);
            for (uint256 i = 0; i < mutated.length; ++i) {
                mutated[i] = good[i];
            }
        }
        _assertRejectedOnly(job, 1002, mutated, IAgentInstanceBlueprint.RejectReason.MalformedOutput);
    }

    /// @dev Any well-formed PROMPT result is recorded under keccak256(outputs).
    function testFuzz_validPrompt_recorded(bool success, string memory response, bytes32 digest, uint64 callId) public {
        vm.assume(callId > 1);
        bytes memory out =
            abi.encode(AgentJobs.PromptResult({success: success, response: response, transcriptDigest: digest}));
        _result(SVC, AgentJobs.PROMPT, callId, op2, out);
        (address[] memory ops, bytes32[] memory hashes) = bsm.getJobResultHashes(SVC, callId);
        assertEq(ops.length, 1, "recorded");
        assertEq(ops[0], op2, "by op2");
        assertEq(hashes[0], keccak256(out), "hash of the outputs");
    }

    /// @dev The anchored VES sequence never decreases, whatever EXEC/SNAPSHOT results arrive.
    function testFuzz_anchorMonotonic(uint64[6] memory seqs, bool[6] memory snap) public {
        (uint64 high, bytes32 highRoot) = bsm.getStreamAnchor(SVC, op1);
        for (uint64 i = 0; i < seqs.length; ++i) {
            bytes32 root = keccak256(abi.encode(seqs[i]));
            bytes memory out = snap[i] ? _snapshotOut(seqs[i], root) : _execOut(seqs[i], root);
            _result(SVC, snap[i] ? AgentJobs.SNAPSHOT : AgentJobs.EXEC, 100 + i, op1, out);
            if (seqs[i] > high) (high, highRoot) = (seqs[i], root);
            (uint64 seq, bytes32 anchoredRoot) = bsm.getStreamAnchor(SVC, op1);
            assertEq(seq, high, "anchor = highest sequence seen");
            assertEq(anchoredRoot, highRoot, "root of the highest sequence");
        }
    }

    /// @dev Junk job inputs make `onJobCall` revert with MalformedJobInputs and nothing else.
    function testFuzz_junkInputs_refusedByOnJobCall(uint8 jobSeed, bytes memory junk) public {
        uint8 job = jobSeed % AgentJobs.JOB_COUNT;
        vm.assume(junk.length < 32 || word0(junk) != 0x20); // every request struct is dynamic
        vm.prank(TANGLE);
        vm.expectRevert(abi.encodeWithSelector(IAgentInstanceBlueprint.MalformedJobInputs.selector, job));
        bsm.onJobCall(SVC, job, 2000, junk);
    }

    /// @dev Results from arbitrary non-member addresses are refused, never recorded.
    function testFuzz_nonMemberResults_refused(address who, uint8 jobSeed) public {
        vm.assume(who != op1 && who != op2 && who != op3);
        uint8 job = jobSeed % AgentJobs.JOB_COUNT;
        bytes memory out = _promptOut("x");
        vm.recordLogs();
        _result(SVC, job, 3000, who, out);
        Cheats.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "one event");
        assertEq(logs[0].topics[0], IAgentInstanceBlueprint.ResultRejected.selector, "rejected");
        (address[] memory answered,) = bsm.getJobResultHashes(SVC, 3000);
        assertEq(answered.length, 0, "nothing recorded");
    }
}
