// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {BsmFixture} from "./utils/BsmFixture.sol";
import {AgentJobs} from "../src/AgentJobs.sol";
import {IAgentInstanceBlueprint} from "../src/interfaces/IAgentInstanceBlueprint.sol";

/// @notice AgentInstanceBlueprint: PROVISION / DEPROVISION results and the operator endpoints they
///         record.
contract AgentInstanceProvisioningTest is BsmFixture {
    uint64 internal constant SVC = 7;

    function setUp() public {
        bsm = _deployBound();
    }

    // ═════════════════════════════════════════════════════════════════════════
    // onJobResult: PROVISION / DEPROVISION across several operators
    // ═════════════════════════════════════════════════════════════════════════

    function test_provision_threeOperators_thenOneDeprovisions() public {
        _service(SVC, _ops3());
        _jobCall(SVC, AgentJobs.PROVISION, 0, abi.encode(_provisionRequest()));
        address[] memory ops = _ops3();
        for (uint256 i = 0; i < 3; ++i) {
            AgentJobs.ProvisionResult memory r = _provisionResult(ops[i]);
            bytes memory out = abi.encode(r);
            vm.expectEmit(true, true, true, true, address(bsm));
            emit IAgentInstanceBlueprint.OperatorResultSubmitted(SVC, AgentJobs.PROVISION, 0, ops[i], keccak256(out));
            vm.expectEmit(true, true, false, true, address(bsm));
            emit IAgentInstanceBlueprint.OperatorProvisioned(
                SVC, ops[i], r.sandboxId, r.sidecarUrl, r.sshPort, r.sidecarPublicKey, keccak256(r.attestation)
            );
            _result(SVC, AgentJobs.PROVISION, 0, ops[i], out);
            assertEq(bsm.provisionedCount(SVC), i + 1, "provisionedCount grows");
        }

        (address[] memory eps, string[] memory urls) = bsm.getOperatorEndpoints(SVC);
        assertEq(eps.length, 3, "three endpoints");
        for (uint256 i = 0; i < 3; ++i) {
            AgentJobs.ProvisionResult memory r = _provisionResult(ops[i]);
            assertEq(eps[i], ops[i], "endpoint operator");
            assertEq(urls[i], r.sidecarUrl, "endpoint url");
            IAgentInstanceBlueprint.OperatorEndpoint memory e = bsm.getOperatorEndpoint(SVC, ops[i]);
            assertTrue(e.provisioned, "provisioned");
            assertEq(e.sandboxId, r.sandboxId, "sandboxId");
            assertEq(e.sidecarUrl, r.sidecarUrl, "sidecarUrl");
            assertEq(e.sshPort, r.sshPort, "sshPort");
            assertEq(e.sidecarPublicKey, r.sidecarPublicKey, "sidecarPublicKey");
            assertEq(e.attestationHash, keccak256(r.attestation), "attestationHash");
            assertEq(bsm.getAttestationHash(SVC, ops[i]), keccak256(r.attestation), "getAttestationHash");
        }
        (address[] memory answered, bytes32[] memory hashes) = bsm.getJobResultHashes(SVC, 0);
        assertEq(answered.length, 3, "three PROVISION results");
        assertEq(hashes[1], keccak256(_provisionOut(op2)), "op2 hash");

        // op2 deprovisions.
        _jobCall(SVC, AgentJobs.DEPROVISION, 1, abi.encode(AgentJobs.DeprovisionRequest({reason: "done"})));
        _result(SVC, AgentJobs.EXEC, 2, op2, _execOut(3, bytes32(uint256(3))));
        vm.expectEmit(true, true, false, true, address(bsm));
        emit IAgentInstanceBlueprint.OperatorDeprovisioned(SVC, op2);
        _result(SVC, AgentJobs.DEPROVISION, 1, op2, _deprovisionOut(true));

        assertEq(bsm.provisionedCount(SVC), 2, "two left");
        assertEq(bsm.operatorCount(SVC), 3, "still three operators");
        assertFalse(bsm.isProvisioned(SVC, op2), "op2 deprovisioned");
        IAgentInstanceBlueprint.OperatorEndpoint memory gone = bsm.getOperatorEndpoint(SVC, op2);
        assertEq(bytes(gone.sandboxId).length, 0, "sandboxId removed");
        assertEq(bytes(gone.sidecarUrl).length, 0, "url removed");
        assertEq(gone.sshPort, 0, "port removed");
        assertEq(gone.sidecarPublicKey, bytes32(0), "key removed");
        assertEq(gone.attestationHash, bytes32(0), "attestation removed");
        (uint64 seq, bytes32 root) = bsm.getStreamAnchor(SVC, op2);
        assertEq(seq, 0, "anchor reset");
        assertEq(root, bytes32(0), "root reset");
        (eps, urls) = bsm.getOperatorEndpoints(SVC);
        assertEq(eps.length, 2, "two endpoints");
        assertEq(eps[0], op1, "op1 kept");
        assertEq(eps[1], op3, "op3 kept");

        // op2's later results are refused (not provisioned); PROVISION brings it back.
        _expectRejected(
            SVC, AgentJobs.PROMPT, 3, op2, _promptOut("x"), IAgentInstanceBlueprint.RejectReason.NotProvisioned
        );
        _result(SVC, AgentJobs.PROVISION, 4, op2, _provisionOut(op2));
        assertEq(bsm.provisionedCount(SVC), 3, "op2 back");
    }

    function test_provision_refreshSameSandboxKeepsAnchor_newSandboxResetsIt() public {
        _service(SVC, _ops3());
        _provisionAll(SVC, 0, _ops3());
        _result(SVC, AgentJobs.EXEC, 1, op1, _execOut(9, bytes32(uint256(9))));

        AgentJobs.ProvisionResult memory r = _provisionResult(op1);
        r.sidecarUrl = "http://127.0.0.1:5000/new";
        r.attestation = "fresh quote";
        _result(SVC, AgentJobs.PROVISION, 2, op1, abi.encode(r));
        assertEq(bsm.provisionedCount(SVC), 3, "count unchanged on refresh");
        assertEq(bsm.getOperatorEndpoint(SVC, op1).sidecarUrl, "http://127.0.0.1:5000/new", "url refreshed");
        assertEq(bsm.getAttestationHash(SVC, op1), keccak256("fresh quote"), "attestation refreshed");
        (uint64 seq,) = bsm.getStreamAnchor(SVC, op1);
        assertEq(seq, 9, "same sandbox keeps its anchor");

        r.sandboxId = "sbx-replacement";
        r.attestation = "";
        _result(SVC, AgentJobs.PROVISION, 3, op1, abi.encode(r));
        assertEq(bsm.provisionedCount(SVC), 3, "count unchanged on replacement");
        assertEq(bsm.getOperatorEndpoint(SVC, op1).sandboxId, "sbx-replacement", "sandbox replaced");
        assertEq(bsm.getAttestationHash(SVC, op1), bytes32(0), "no attestation: zero hash");
        bytes32 root;
        (seq, root) = bsm.getStreamAnchor(SVC, op1);
        assertEq(seq, 0, "new sandbox: anchor reset");
        assertEq(root, bytes32(0), "new sandbox: root reset");
    }
}
