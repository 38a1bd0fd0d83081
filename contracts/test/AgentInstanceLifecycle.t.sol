// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {BsmFixture} from "./utils/BsmFixture.sol";
import {Cheats} from "./utils/TestBase.sol";
import {AgentJobs} from "../src/AgentJobs.sol";
import {AgentInstanceBlueprint} from "../src/AgentInstanceBlueprint.sol";
import {BlueprintServiceManagerBase} from "../src/BlueprintServiceManagerBase.sol";
import {IAgentInstanceBlueprint} from "../src/interfaces/IAgentInstanceBlueprint.sol";
import {Types} from "../src/interfaces/IBlueprintServiceManager.sol";

/// @notice AgentInstanceBlueprint: blueprint binding, hook access control, the service lifecycle
///         (request, activation, join/leave, termination) and required result counts.
contract AgentInstanceLifecycleTest is BsmFixture {
    uint64 internal constant SVC = 7;

    function setUp() public {
        bsm = _deployBound();
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Binding and access control
    // ═════════════════════════════════════════════════════════════════════════

    function test_onBlueprintCreated_recordsBindingOnce() public {
        assertEq(bsm.tangleCore(), TANGLE, "tangleCore");
        assertEq(bsm.blueprintId(), BLUEPRINT_ID, "blueprintId");
        assertEq(bsm.blueprintOwner(), BP_OWNER, "blueprintOwner");
        vm.prank(TANGLE);
        vm.expectRevert(BlueprintServiceManagerBase.AlreadyInitialized.selector);
        bsm.onBlueprintCreated(9, STRANGER, TANGLE);
        vm.prank(STRANGER);
        vm.expectRevert(BlueprintServiceManagerBase.AlreadyInitialized.selector);
        bsm.onBlueprintCreated(9, STRANGER, STRANGER);
        assertEq(bsm.blueprintId(), BLUEPRINT_ID, "blueprintId unchanged");
    }

    function test_onBlueprintCreated_callerMustBeTheCoreItNames() public {
        AgentInstanceBlueprint fresh = new AgentInstanceBlueprint();
        vm.prank(STRANGER);
        vm.expectRevert(
            abi.encodeWithSelector(BlueprintServiceManagerBase.TangleCoreMismatch.selector, STRANGER, TANGLE)
        );
        fresh.onBlueprintCreated(1, BP_OWNER, TANGLE);
        vm.prank(STRANGER);
        vm.expectRevert(
            abi.encodeWithSelector(BlueprintServiceManagerBase.TangleCoreMismatch.selector, STRANGER, address(0))
        );
        fresh.onBlueprintCreated(1, BP_OWNER, address(0));
        assertEq(fresh.tangleCore(), address(0), "still unbound");

        vm.recordLogs();
        vm.prank(TANGLE);
        fresh.onBlueprintCreated(1, BP_OWNER, TANGLE);
        Cheats.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countLogs(logs, BlueprintServiceManagerBase.BlueprintBound.selector), 1, "BlueprintBound emitted");
    }

    function test_hooksRevertBeforeBinding() public {
        AgentInstanceBlueprint fresh = new AgentInstanceBlueprint();
        vm.prank(TANGLE);
        vm.expectRevert(abi.encodeWithSelector(BlueprintServiceManagerBase.OnlyTangleCore.selector, TANGLE));
        fresh.onRequest(1, CUSTOMER, _ops3(), "", 0, address(0), 0);
    }

    function _hookCalls() internal view returns (bytes[] memory c) {
        uint256[2] memory sig;
        uint256[4] memory pk;
        Types.BinaryVersion memory v;
        c = new bytes[](19);
        c[0] = abi.encodeCall(bsm.onRegister, (op1, ""));
        c[1] = abi.encodeCall(bsm.onUnregister, (op1));
        c[2] = abi.encodeCall(bsm.onUpdatePreferences, (op1, ""));
        c[3] = abi.encodeCall(bsm.onRequest, (1, CUSTOMER, _ops3(), "", 0, address(0), 0));
        c[4] = abi.encodeCall(bsm.onApprove, (op1, 1, 100));
        c[5] = abi.encodeCall(bsm.onReject, (op1, 2));
        c[6] = abi.encodeCall(bsm.onServiceInitialized, (BLUEPRINT_ID, 1, SVC + 1, CUSTOMER, _one(CUSTOMER), 0));
        c[7] = abi.encodeCall(bsm.onOperatorJoined, (SVC, op4, 10_000));
        c[8] = abi.encodeCall(bsm.onOperatorLeft, (SVC, op4));
        c[9] = abi.encodeCall(bsm.onExitScheduled, (SVC, op1, 100));
        c[10] = abi.encodeCall(bsm.onExitCanceled, (SVC, op1));
        c[11] = abi.encodeCall(bsm.onJobCall, (SVC, AgentJobs.PROVISION, 0, abi.encode(_provisionRequest())));
        c[12] = abi.encodeCall(bsm.onJobResult, (SVC, AgentJobs.PROVISION, 0, op1, bytes32(0), _provisionOut(op1)));
        c[13] = abi.encodeCall(bsm.onAggregatedResult, (SVC, 1, 0, "", 1, sig, pk));
        c[14] = abi.encodeCall(bsm.onUnappliedSlash, (SVC, abi.encodePacked(op1), 10));
        c[15] = abi.encodeCall(bsm.onSlash, (SVC, abi.encodePacked(op1), 10));
        c[16] = abi.encodeCall(bsm.onBinaryVersionPublished, (BLUEPRINT_ID, v, "ipfs://x"));
        c[17] = abi.encodeCall(bsm.onOperatorBinaryAcked, (SVC, 1, op1));
        c[18] = abi.encodeCall(bsm.onServiceTermination, (SVC, CUSTOMER));
    }

    function test_everyHook_onlyTangleCore() public {
        _service(SVC, _ops3());
        bytes[] memory calls = _hookCalls();
        address[3] memory intruders = [STRANGER, BP_OWNER, CUSTOMER];
        for (uint256 k = 0; k < intruders.length; ++k) {
            for (uint256 i = 0; i < calls.length; ++i) {
                vm.prank(intruders[k]);
                (bool ok, bytes memory ret) = address(bsm).call(calls[i]);
                assertFalse(ok, string.concat("hook accepted a foreign caller: #", vm.toString(i)));
                assertEq(
                    ret,
                    abi.encodeWithSelector(BlueprintServiceManagerBase.OnlyTangleCore.selector, intruders[k]),
                    string.concat("OnlyTangleCore for hook #", vm.toString(i))
                );
            }
        }
    }

    function test_everyHook_acceptsTangleCore() public {
        _service(SVC, _ops3());
        bytes[] memory calls = _hookCalls();
        for (uint256 i = 0; i < calls.length; ++i) {
            vm.prank(TANGLE);
            (bool ok,) = address(bsm).call(calls[i]);
            assertTrue(ok, string.concat("Tangle core call failed: hook #", vm.toString(i)));
        }
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Service lifecycle
    // ═════════════════════════════════════════════════════════════════════════

    function test_onRequest_recordsDeduplicatedOperators() public {
        address[] memory ops = new address[](4);
        (ops[0], ops[1], ops[2], ops[3]) = (op1, op2, op1, op3);
        vm.expectEmit(true, true, false, true, address(bsm));
        emit IAgentInstanceBlueprint.ServiceRequestRecorded(55, CUSTOMER, 3);
        _request(55, ops);
        address[] memory got = bsm.requestOperators(55);
        assertEq(got.length, 3, "deduplicated");
        assertEq(got[0], op1, "op1");
        assertEq(got[1], op2, "op2");
        assertEq(got[2], op3, "op3");
        assertEq(bsm.requestOperators(56).length, 0, "unknown request");
    }

    function test_onServiceInitialized_movesOperatorsAndRecordsOwner() public {
        _request(55, _ops3());
        address[] memory callers = new address[](2);
        (callers[0], callers[1]) = (CUSTOMER, STRANGER);
        vm.expectEmit(true, true, true, true, address(bsm));
        emit IAgentInstanceBlueprint.ServiceInitialized(SVC, 55, CUSTOMER, 3);
        vm.prank(TANGLE);
        bsm.onServiceInitialized(BLUEPRINT_ID, 55, SVC, CUSTOMER, callers, 0);

        assertTrue(bsm.isServiceActive(SVC), "active");
        assertEq(bsm.operatorCount(SVC), 3, "operatorCount");
        assertEq(bsm.provisionedCount(SVC), 0, "provisionedCount");
        address[] memory ops = bsm.serviceOperators(SVC);
        assertEq(ops.length, 3, "serviceOperators");
        assertEq(ops[0], op1, "op1");
        assertEq(ops[2], op3, "op3");
        assertTrue(bsm.isServiceOperator(SVC, op2), "isServiceOperator");
        assertFalse(bsm.isServiceOperator(SVC, op4), "not an operator");
        assertEq(bsm.serviceOwner(SVC), CUSTOMER, "owner");
        address[] memory pc = bsm.permittedCallers(SVC);
        assertEq(pc.length, 2, "permitted callers");
        assertEq(pc[1], STRANGER, "permitted caller 1");
        assertEq(bsm.requestOperators(55).length, 0, "request consumed");
    }

    function test_onServiceInitialized_unknownRequestStartsEmpty() public {
        _initialize(999, SVC);
        assertTrue(bsm.isServiceActive(SVC), "active");
        assertEq(bsm.operatorCount(SVC), 0, "no operators known");
        assertEq(bsm.serviceOwner(SVC), CUSTOMER, "owner");
        _join(SVC, op1);
        assertEq(bsm.operatorCount(SVC), 1, "joined");
    }

    function test_onReject_forgetsRequest() public {
        _request(55, _ops3());
        vm.prank(TANGLE);
        bsm.onReject(op2, 55);
        assertEq(bsm.requestOperators(55).length, 0, "forgotten");
        _initialize(55, SVC);
        assertEq(bsm.operatorCount(SVC), 0, "a rejected request's operators are not attached");
    }

    function test_joinAndLeave_updateOperatorSet() public {
        _service(SVC, _ops3());
        vm.expectEmit(true, true, false, true, address(bsm));
        emit IAgentInstanceBlueprint.OperatorJoined(SVC, op4);
        _join(SVC, op4);
        assertEq(bsm.operatorCount(SVC), 4, "after join");

        vm.recordLogs();
        _join(SVC, op4); // already a member: no-op
        assertEq(vm.getRecordedLogs().length, 0, "re-join emits nothing");
        assertEq(bsm.operatorCount(SVC), 4, "re-join is a no-op");

        vm.expectEmit(true, true, false, true, address(bsm));
        emit IAgentInstanceBlueprint.OperatorLeft(SVC, op2);
        _leave(SVC, op2);
        assertEq(bsm.operatorCount(SVC), 3, "after leave");
        assertFalse(bsm.isServiceOperator(SVC, op2), "op2 left");
        address[] memory ops = bsm.serviceOperators(SVC);
        assertEq(ops.length, 3, "three left");
        assertEq(ops[0], op1, "order kept 0");
        assertEq(ops[1], op3, "order kept 1");
        assertEq(ops[2], op4, "order kept 2");

        vm.recordLogs();
        _leave(SVC, op2); // not a member any more: no-op
        _leave(SVC, STRANGER);
        assertEq(vm.getRecordedLogs().length, 0, "leaving twice emits nothing");
        assertEq(bsm.operatorCount(SVC), 3, "unchanged");

        _join(SVC, op2); // rejoin
        assertEq(bsm.operatorCount(SVC), 4, "rejoined");
    }

    function test_leave_ofProvisionedOperator_dropsEndpoint() public {
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        assertEq(bsm.provisionedCount(SVC), 3, "all provisioned");
        _leave(SVC, op2);
        assertEq(bsm.provisionedCount(SVC), 2, "one fewer provisioned");
        assertFalse(bsm.isProvisioned(SVC, op2), "op2 not provisioned");
        IAgentInstanceBlueprint.OperatorEndpoint memory e = bsm.getOperatorEndpoint(SVC, op2);
        assertEq(bytes(e.sidecarUrl).length, 0, "url cleared");
        assertEq(e.attestationHash, bytes32(0), "attestation cleared");
        (address[] memory ops,) = bsm.getOperatorEndpoints(SVC);
        assertEq(ops.length, 2, "two endpoints");
        // Its PROVISION result hash stays in the call's history.
        (address[] memory answered,) = bsm.getJobResultHashes(SVC, 0);
        assertEq(answered.length, 3, "history kept");
    }

    function test_onOperatorJoined_unknownServiceStartsTracking() public {
        _join(SVC, op1);
        assertTrue(bsm.isServiceActive(SVC), "tracked");
        assertEq(bsm.operatorCount(SVC), 1, "one operator");
        assertEq(bsm.serviceOwner(SVC), address(0), "owner unknown");
    }

    function test_hooksOnTerminatedOrUnknownService_areNoOps() public {
        _leave(SVC, op1); // unknown service
        assertFalse(bsm.isServiceActive(SVC), "leave does not create a service");
        vm.prank(TANGLE);
        bsm.onServiceTermination(SVC, CUSTOMER); // unknown service
        assertFalse(bsm.isServiceActive(SVC), "still unknown");

        _service(SVC, _ops3());
        _terminate(SVC);
        _join(SVC, op4);
        assertFalse(bsm.isServiceActive(SVC), "a join does not revive a terminated service");
        assertEq(bsm.operatorCount(SVC), 0, "no operators");
    }

    function test_termination_clearsLiveStateKeepsHistory() public {
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        _jobCall(SVC, AgentJobs.PROMPT, 1, abi.encode(_promptReq("hi")));
        _result(SVC, AgentJobs.PROMPT, 1, op1, _promptOut("a"));
        _result(SVC, AgentJobs.EXEC, 2, op1, _execOut(5, bytes32(uint256(5))));

        vm.expectEmit(true, true, false, true, address(bsm));
        emit IAgentInstanceBlueprint.ServiceTerminated(SVC, CUSTOMER);
        _terminate(SVC);

        assertFalse(bsm.isServiceActive(SVC), "inactive");
        assertEq(bsm.operatorCount(SVC), 0, "operators cleared");
        assertEq(bsm.provisionedCount(SVC), 0, "provisioned cleared");
        assertEq(bsm.serviceOperators(SVC).length, 0, "operator list cleared");
        assertEq(bsm.serviceOwner(SVC), address(0), "owner cleared");
        assertEq(bsm.permittedCallers(SVC).length, 0, "callers cleared");
        (address[] memory eps,) = bsm.getOperatorEndpoints(SVC);
        assertEq(eps.length, 0, "endpoints cleared");
        assertEq(bsm.getAttestationHash(SVC, op1), bytes32(0), "attestation cleared");
        (uint64 seq,) = bsm.getStreamAnchor(SVC, op1);
        assertEq(seq, 0, "anchor cleared");
        assertEq(bsm.getRequiredResultCount(SVC, AgentJobs.PROMPT), 1, "required back to 1");

        (address[] memory answered, bytes32[] memory hashes) = bsm.getJobResultHashes(SVC, 1);
        assertEq(answered.length, 1, "history readable");
        assertEq(hashes[0], keccak256(_promptOut("a")), "history hash");

        vm.prank(TANGLE);
        vm.expectRevert(abi.encodeWithSelector(IAgentInstanceBlueprint.ServiceNotActive.selector, SVC));
        bsm.onJobCall(SVC, AgentJobs.PROVISION, 3, abi.encode(_provisionRequest()));
        _expectRejected(
            SVC, AgentJobs.PROMPT, 1, op2, _promptOut("a"), IAgentInstanceBlueprint.RejectReason.ServiceNotActive
        );
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Required result counts (DESIGN decision 1)
    // ═════════════════════════════════════════════════════════════════════════

    function test_getRequiredResultCount_everyOperatorForFleetJobs() public {
        assertEq(bsm.getRequiredResultCount(SVC, AgentJobs.PROVISION), 1, "unknown service: 1");
        _service(SVC, _ops3());
        uint32[8] memory want = [uint32(3), 1, 3, 3, 1, 1, 1, 3];
        for (uint8 j = 0; j < 8; ++j) {
            assertEq(bsm.getRequiredResultCount(SVC, j), want[j], string.concat("job ", vm.toString(uint256(j))));
        }
        assertEq(bsm.getRequiredResultCount(SVC, 8), 1, "unknown job: 1");
        _join(SVC, op4);
        assertEq(bsm.getRequiredResultCount(SVC, AgentJobs.TASK), 4, "after join");
        _leave(SVC, op1);
        _leave(SVC, op2);
        assertEq(bsm.getRequiredResultCount(SVC, AgentJobs.DEPROVISION), 2, "after leaves");
        assertEq(bsm.getRequiredResultCount(SVC, AgentJobs.EXEC), 1, "EXEC stays 1");
    }
}
