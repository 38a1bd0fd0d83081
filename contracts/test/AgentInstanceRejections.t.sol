// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {BsmFixture} from "./utils/BsmFixture.sol";
import {Cheats} from "./utils/TestBase.sol";
import {AgentJobs} from "../src/AgentJobs.sol";
import {IAgentInstanceBlueprint} from "../src/interfaces/IAgentInstanceBlueprint.sol";

/// @notice AgentInstanceBlueprint: every `onJobResult` rejection branch (DESIGN decision 2) and VES
///         anchoring.
contract AgentInstanceRejectionsTest is BsmFixture {
    uint64 internal constant SVC = 7;

    function setUp() public {
        bsm = _deployBound();
    }

    // ═════════════════════════════════════════════════════════════════════════
    // onJobResult: every rejection branch (DESIGN decision 2)
    // ═════════════════════════════════════════════════════════════════════════

    function test_reject_serviceNotActive() public {
        _expectRejected(
            SVC, AgentJobs.PROVISION, 0, op1, _provisionOut(op1), IAgentInstanceBlueprint.RejectReason.ServiceNotActive
        );
        assertEq(bsm.provisionedCount(SVC), 0, "nothing recorded");
    }

    function test_reject_unknownJob() public {
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        _expectRejected(SVC, 8, 1, op1, _promptOut("a"), IAgentInstanceBlueprint.RejectReason.UnknownJob);
        _expectRejected(SVC, 255, 1, op1, _promptOut("a"), IAgentInstanceBlueprint.RejectReason.UnknownJob);
    }

    function test_reject_nonMemberOperator() public {
        _service(SVC, _ops3());
        _expectRejected(
            SVC,
            AgentJobs.PROVISION,
            0,
            STRANGER,
            _provisionOut(STRANGER),
            IAgentInstanceBlueprint.RejectReason.NotServiceOperator
        );
        assertEq(bsm.provisionedCount(SVC), 0, "stranger not provisioned");
        (address[] memory eps,) = bsm.getOperatorEndpoints(SVC);
        assertEq(eps.length, 0, "no endpoint for a stranger");

        _provisionAll(SVC, 0, _ops3());
        _leave(SVC, op3);
        _expectRejected(
            SVC, AgentJobs.PROMPT, 1, op3, _promptOut("a"), IAgentInstanceBlueprint.RejectReason.NotServiceOperator
        );
        _expectRejected(
            SVC, AgentJobs.PROMPT, 1, STRANGER, _promptOut("a"), IAgentInstanceBlueprint.RejectReason.NotServiceOperator
        );
    }

    function test_reject_unprovisionedOperator_everyJobButProvision() public {
        _service(SVC, _ops3());
        _jobCall(SVC, AgentJobs.PROVISION, 0, abi.encode(_provisionRequest()));
        _result(SVC, AgentJobs.PROVISION, 0, op1, _provisionOut(op1)); // only op1 provisioned
        bytes[8] memory outs = _validOutputs(op2);
        for (uint8 j = 1; j < 8; ++j) {
            _expectRejected(SVC, j, 10 + j, op2, outs[j], IAgentInstanceBlueprint.RejectReason.NotProvisioned);
        }
        assertEq(bsm.provisionedCount(SVC), 1, "unchanged");
    }

    function test_reject_duplicate() public {
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        _expectRejected(
            SVC, AgentJobs.PROVISION, 0, op1, _provisionOut(op1), IAgentInstanceBlueprint.RejectReason.Duplicate
        );
        _result(SVC, AgentJobs.PROMPT, 1, op1, _promptOut("first"));
        _expectRejected(
            SVC, AgentJobs.PROMPT, 1, op1, _promptOut("second"), IAgentInstanceBlueprint.RejectReason.Duplicate
        );
        (, bytes32[] memory hashes) = bsm.getJobResultHashes(SVC, 1);
        assertEq(hashes[0], keccak256(_promptOut("first")), "first result kept");
        _result(SVC, AgentJobs.EXEC, 2, op2, _execOut(4, bytes32(uint256(4))));
        _expectRejected(
            SVC,
            AgentJobs.EXEC,
            2,
            op2,
            _execOut(5, bytes32(uint256(5))),
            IAgentInstanceBlueprint.RejectReason.Duplicate
        );
        (uint64 seq,) = bsm.getStreamAnchor(SVC, op2);
        assertEq(seq, 4, "duplicate did not move the anchor");
    }

    function test_reject_malformedOutputs_everyJob() public {
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        bytes[8] memory outs = _validOutputs(op1);
        for (uint8 j = 0; j < 8; ++j) {
            bytes memory good = outs[j];
            bytes[] memory bad = new bytes[](5);
            bad[0] = "";
            bad[1] = hex"01";
            bad[2] = _truncate(good, 1);
            bad[3] = bytes.concat(good, hex"00"); // trailing garbage: not canonical
            bad[4] = bytes.concat(good, bytes32(0)); // trailing word: not canonical
            for (uint256 k = 0; k < bad.length; ++k) {
                _expectRejected(SVC, j, 100 + j, op1, bad[k], IAgentInstanceBlueprint.RejectReason.MalformedOutput);
            }
        }
        // Flat tuple encoding (no leading offset word) of a dynamic struct is refused (decision 3).
        bytes memory flat = _drop(outs[AgentJobs.PROMPT], 32);
        _expectRejected(SVC, AgentJobs.PROMPT, 120, op1, flat, IAgentInstanceBlueprint.RejectReason.MalformedOutput);
        // Dirty bool (2) is refused.
        bytes memory dirty = abi.encode(AgentJobs.DeprovisionResult({success: true}));
        dirty[31] = 0x02;
        _expectRejected(
            SVC, AgentJobs.DEPROVISION, 121, op1, dirty, IAgentInstanceBlueprint.RejectReason.MalformedOutput
        );
        assertEq(bsm.provisionedCount(SVC), 3, "nothing changed");
    }

    function test_reject_invalidProvision() public {
        _service(SVC, _ops3());
        AgentJobs.ProvisionResult[] memory bad = new AgentJobs.ProvisionResult[](4);
        for (uint256 i = 0; i < 4; ++i) {
            bad[i] = _provisionResult(op1);
        }
        bad[0].sandboxId = "";
        bad[1].sidecarUrl = "";
        bad[2].sealedAccess = "";
        bad[3].sidecarPublicKey = bytes32(0);
        for (uint256 i = 0; i < 4; ++i) {
            _expectRejected(
                SVC,
                AgentJobs.PROVISION,
                0,
                op1,
                abi.encode(bad[i]),
                IAgentInstanceBlueprint.RejectReason.InvalidProvision
            );
        }
        assertEq(bsm.provisionedCount(SVC), 0, "nothing provisioned");
        assertFalse(bsm.isProvisioned(SVC, op1), "op1 not provisioned");
    }

    function test_reject_staleAndConflictingAnchors() public {
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        bytes32 r10 = keccak256("root10");
        vm.expectEmit(true, true, true, true, address(bsm));
        emit IAgentInstanceBlueprint.StreamAnchored(SVC, op1, 1, 10, r10);
        _result(SVC, AgentJobs.EXEC, 1, op1, _execOut(10, r10));

        _expectRejected(
            SVC,
            AgentJobs.EXEC,
            2,
            op1,
            _execOut(9, keccak256("root9")),
            IAgentInstanceBlueprint.RejectReason.StaleAnchor
        );
        _expectRejected(
            SVC,
            AgentJobs.SNAPSHOT,
            3,
            op1,
            _snapshotOut(10, keccak256("other")),
            IAgentInstanceBlueprint.RejectReason.AnchorConflict
        );
        (uint64 seq, bytes32 root) = bsm.getStreamAnchor(SVC, op1);
        assertEq(seq, 10, "anchor kept");
        assertEq(root, r10, "root kept");

        // Same head again is fine; a later head moves the anchor; other operators are independent.
        _result(SVC, AgentJobs.SNAPSHOT, 4, op1, _snapshotOut(10, r10));
        _result(SVC, AgentJobs.SNAPSHOT, 5, op1, _snapshotOut(12, keccak256("root12")));
        (seq, root) = bsm.getStreamAnchor(SVC, op1);
        assertEq(seq, 12, "latest anchor");
        assertEq(root, keccak256("root12"), "latest root");
        _result(SVC, AgentJobs.EXEC, 6, op2, _execOut(1, keccak256("op2")));
        (seq,) = bsm.getStreamAnchor(SVC, op2);
        assertEq(seq, 1, "op2 anchored independently");
    }

    function test_exec_withoutVesHead_recordsButDoesNotAnchor() public {
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        _result(SVC, AgentJobs.EXEC, 1, op1, _execOut(10, keccak256("r")));
        vm.recordLogs();
        _result(SVC, AgentJobs.EXEC, 2, op1, _execOut(0, bytes32(0)));
        Cheats.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countLogs(logs, IAgentInstanceBlueprint.OperatorResultSubmitted.selector), 1, "recorded");
        assertEq(_countLogs(logs, IAgentInstanceBlueprint.StreamAnchored.selector), 0, "not anchored");
        (uint64 seq,) = bsm.getStreamAnchor(SVC, op1);
        assertEq(seq, 10, "anchor untouched");
    }

    function test_reject_deprovisionReportedFailure() public {
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        _expectRejected(
            SVC,
            AgentJobs.DEPROVISION,
            1,
            op1,
            _deprovisionOut(false),
            IAgentInstanceBlueprint.RejectReason.ReportedFailure
        );
        assertTrue(bsm.isProvisioned(SVC, op1), "endpoint kept");
        assertEq(bsm.provisionedCount(SVC), 3, "count kept");
    }
}
