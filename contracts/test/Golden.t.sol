// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {BsmFixture} from "./utils/BsmFixture.sol";
import {AgentJobs} from "../src/AgentJobs.sol";
import {IAgentInstanceBlueprint} from "../src/interfaces/IAgentInstanceBlueprint.sol";

/// @notice DESIGN decision 3: one ABI encoding end to end. `fixtures/golden-outputs.json` holds sample
///         field values and the bytes `cast abi-encode` (alloy) made for them; the Rust side asserts its
///         `abi_encode()` of the same values is byte-identical. Here solc must (1) produce the same bytes
///         from the same values and (2) accept exactly those bytes through the real hooks.
contract GoldenTest is BsmFixture {
    uint64 internal constant SVC = 11;
    string internal json;

    function setUp() public {
        bsm = _deployBound();
        json = vm.readFile("contracts/test/fixtures/golden-outputs.json");
        _service(SVC, _ops3());
    }

    function _k(string memory section, string memory name, string memory field) internal pure returns (string memory) {
        return string.concat(".", section, ".", name, ".fields.", field);
    }

    function _r(string memory name, string memory field) internal pure returns (string memory) {
        return _k("results", name, field);
    }

    function _q(string memory name, string memory field) internal pure returns (string memory) {
        return _k("requests", name, field);
    }

    function _encoded(string memory section, string memory name) internal view returns (bytes memory) {
        return vm.parseJsonBytes(json, string.concat(".", section, ".", name, ".encoded"));
    }

    function _job(string memory section, string memory name) internal view returns (uint8) {
        return uint8(vm.parseJsonUint(json, string.concat(".", section, ".", name, ".job")));
    }

    // ── results built from the JSON fields ───────────────────────────────────

    function _provision() internal view returns (AgentJobs.ProvisionResult memory r) {
        string memory n = "ProvisionResult";
        r.sandboxId = vm.parseJsonString(json, _r(n, "sandboxId"));
        r.sidecarUrl = vm.parseJsonString(json, _r(n, "sidecarUrl"));
        r.sshPort = uint16(vm.parseJsonUint(json, _r(n, "sshPort")));
        r.attestation = vm.parseJsonBytes(json, _r(n, "attestation"));
        r.sealedAccess = vm.parseJsonBytes(json, _r(n, "sealedAccess"));
        r.sidecarPublicKey = vm.parseJsonBytes32(json, _r(n, "sidecarPublicKey"));
    }

    function _exec() internal view returns (AgentJobs.ExecResult memory r) {
        string memory n = "ExecResult";
        r.exitCode = int32(vm.parseJsonInt(json, _r(n, "exitCode")));
        r.stdout = vm.parseJsonString(json, _r(n, "stdout"));
        r.stderr = vm.parseJsonString(json, _r(n, "stderr"));
        r.vesSequence = uint64(vm.parseJsonUint(json, _r(n, "vesSequence")));
        r.vesStateRoot = vm.parseJsonBytes32(json, _r(n, "vesStateRoot"));
    }

    function _prompt() internal view returns (AgentJobs.PromptResult memory r) {
        string memory n = "PromptResult";
        r.success = vm.parseJsonBool(json, _r(n, "success"));
        r.response = vm.parseJsonString(json, _r(n, "response"));
        r.transcriptDigest = vm.parseJsonBytes32(json, _r(n, "transcriptDigest"));
    }

    function _task() internal view returns (AgentJobs.TaskResult memory r) {
        string memory n = "TaskResult";
        r.success = vm.parseJsonBool(json, _r(n, "success"));
        r.finalText = vm.parseJsonString(json, _r(n, "finalText"));
        r.transcriptDigest = vm.parseJsonBytes32(json, _r(n, "transcriptDigest"));
        r.outputHash = vm.parseJsonBytes32(json, _r(n, "outputHash"));
    }

    function _snapshot() internal view returns (AgentJobs.SnapshotResult memory r) {
        string memory n = "SnapshotResult";
        r.snapshotId = vm.parseJsonString(json, _r(n, "snapshotId"));
        r.sha256 = vm.parseJsonBytes32(json, _r(n, "sha256"));
        r.sizeBytes = uint64(vm.parseJsonUint(json, _r(n, "sizeBytes")));
        r.location = vm.parseJsonString(json, _r(n, "location"));
        r.vesSequence = uint64(vm.parseJsonUint(json, _r(n, "vesSequence")));
        r.vesStateRoot = vm.parseJsonBytes32(json, _r(n, "vesStateRoot"));
    }

    function test_golden_solcEncodesResultsIdentically() public view {
        assertEq(abi.encode(_provision()), _encoded("results", "ProvisionResult"), "ProvisionResult bytes");
        assertEq(abi.encode(_exec()), _encoded("results", "ExecResult"), "ExecResult bytes");
        assertEq(abi.encode(_prompt()), _encoded("results", "PromptResult"), "PromptResult bytes");
        assertEq(abi.encode(_task()), _encoded("results", "TaskResult"), "TaskResult bytes");
        assertEq(abi.encode(_snapshot()), _encoded("results", "SnapshotResult"), "SnapshotResult bytes");
        AgentJobs.SshProvisionResult memory sp = AgentJobs.SshProvisionResult({
            success: vm.parseJsonBool(json, _r("SshProvisionResult", "success")),
            fingerprint: vm.parseJsonString(json, _r("SshProvisionResult", "fingerprint"))
        });
        assertEq(abi.encode(sp), _encoded("results", "SshProvisionResult"), "SshProvisionResult bytes");
        AgentJobs.SshRevokeResult memory sr =
            AgentJobs.SshRevokeResult({success: vm.parseJsonBool(json, _r("SshRevokeResult", "success"))});
        assertEq(abi.encode(sr), _encoded("results", "SshRevokeResult"), "SshRevokeResult bytes");
        AgentJobs.DeprovisionResult memory dr =
            AgentJobs.DeprovisionResult({success: vm.parseJsonBool(json, _r("DeprovisionResult", "success"))});
        assertEq(abi.encode(dr), _encoded("results", "DeprovisionResult"), "DeprovisionResult bytes");
        // Dynamic structs carry the leading offset word; static ones do not.
        assertEq(bytes32(_encoded("results", "PromptResult")), bytes32(uint256(0x20)), "offset word");
        assertEq(_encoded("results", "SshRevokeResult").length, 32, "static struct: one word");
    }

    function test_golden_solcEncodesRequestsIdentically() public view {
        string memory n = "ProvisionRequest";
        AgentJobs.ProvisionRequest memory p = AgentJobs.ProvisionRequest({
            cpuMillis: uint32(vm.parseJsonUint(json, _q(n, "cpuMillis"))),
            memoryMb: uint64(vm.parseJsonUint(json, _q(n, "memoryMb"))),
            diskGb: uint32(vm.parseJsonUint(json, _q(n, "diskGb"))),
            lifetimeSecs: uint64(vm.parseJsonUint(json, _q(n, "lifetimeSecs"))),
            idleTimeoutSecs: uint64(vm.parseJsonUint(json, _q(n, "idleTimeoutSecs"))),
            image: vm.parseJsonString(json, _q(n, "image")),
            sshPublicKey: vm.parseJsonString(json, _q(n, "sshPublicKey")),
            customerX25519PublicKey: vm.parseJsonBytes32(json, _q(n, "customerX25519PublicKey")),
            attestationNonce: vm.parseJsonBytes32(json, _q(n, "attestationNonce"))
        });
        assertEq(abi.encode(p), _encoded("requests", n), "ProvisionRequest bytes");

        n = "ExecRequest";
        AgentJobs.ExecRequest memory e = AgentJobs.ExecRequest({
            command: vm.parseJsonString(json, _q(n, "command")),
            cwd: vm.parseJsonString(json, _q(n, "cwd")),
            env: vm.parseJsonStringArray(json, _q(n, "env")),
            timeoutMs: uint64(vm.parseJsonUint(json, _q(n, "timeoutMs")))
        });
        assertEq(abi.encode(e), _encoded("requests", n), "ExecRequest bytes");

        n = "PromptRequest";
        AgentJobs.PromptRequest memory pr = AgentJobs.PromptRequest({
            prompt: vm.parseJsonString(json, _q(n, "prompt")),
            systemPrompt: vm.parseJsonString(json, _q(n, "systemPrompt")),
            model: vm.parseJsonString(json, _q(n, "model")),
            maxTokens: uint32(vm.parseJsonUint(json, _q(n, "maxTokens"))),
            seed: uint64(vm.parseJsonUint(json, _q(n, "seed"))),
            timeoutMs: uint64(vm.parseJsonUint(json, _q(n, "timeoutMs")))
        });
        assertEq(abi.encode(pr), _encoded("requests", n), "PromptRequest bytes");

        n = "TaskRequest";
        AgentJobs.TaskRequest memory t = AgentJobs.TaskRequest({
            prompt: vm.parseJsonString(json, _q(n, "prompt")),
            systemPrompt: vm.parseJsonString(json, _q(n, "systemPrompt")),
            model: vm.parseJsonString(json, _q(n, "model")),
            maxTurns: uint32(vm.parseJsonUint(json, _q(n, "maxTurns"))),
            seed: uint64(vm.parseJsonUint(json, _q(n, "seed"))),
            timeoutMs: uint64(vm.parseJsonUint(json, _q(n, "timeoutMs"))),
            workflowJson: vm.parseJsonString(json, _q(n, "workflowJson"))
        });
        assertEq(abi.encode(t), _encoded("requests", n), "TaskRequest bytes");

        n = "SshProvisionRequest";
        AgentJobs.SshProvisionRequest memory sp = AgentJobs.SshProvisionRequest({
            username: vm.parseJsonString(json, _q(n, "username")),
            publicKey: vm.parseJsonString(json, _q(n, "publicKey"))
        });
        assertEq(abi.encode(sp), _encoded("requests", n), "SshProvisionRequest bytes");

        n = "SshRevokeRequest";
        AgentJobs.SshRevokeRequest memory sr = AgentJobs.SshRevokeRequest({
            username: vm.parseJsonString(json, _q(n, "username")),
            publicKey: vm.parseJsonString(json, _q(n, "publicKey"))
        });
        assertEq(abi.encode(sr), _encoded("requests", n), "SshRevokeRequest bytes");

        n = "SnapshotRequest";
        AgentJobs.SnapshotRequest memory s = AgentJobs.SnapshotRequest({
            destinationUrl: vm.parseJsonString(json, _q(n, "destinationUrl")),
            includeState: vm.parseJsonBool(json, _q(n, "includeState")),
            dockerCommit: vm.parseJsonBool(json, _q(n, "dockerCommit"))
        });
        assertEq(abi.encode(s), _encoded("requests", n), "SnapshotRequest bytes");

        n = "DeprovisionRequest";
        AgentJobs.DeprovisionRequest memory d =
            AgentJobs.DeprovisionRequest({reason: vm.parseJsonString(json, _q(n, "reason"))});
        assertEq(abi.encode(d), _encoded("requests", n), "DeprovisionRequest bytes");
    }

    /// @dev Every golden request passes `onJobCall` (after PROVISION unlocked the other jobs).
    function test_golden_requestsPassOnJobCall() public {
        string[8] memory names = [
            "ProvisionRequest",
            "ExecRequest",
            "PromptRequest",
            "TaskRequest",
            "SshProvisionRequest",
            "SshRevokeRequest",
            "SnapshotRequest",
            "DeprovisionRequest"
        ];
        _jobCall(SVC, AgentJobs.PROVISION, 0, _encoded("requests", names[0]));
        _result(SVC, AgentJobs.PROVISION, 0, op1, _encoded("results", "ProvisionResult"));
        for (uint8 j = 0; j < 8; ++j) {
            assertEq(_job("requests", names[j]), j, "job id in fixture");
            bytes memory inputs = _encoded("requests", names[j]);
            assertEq(bsm.validateJobInputs(j, inputs), "", names[j]);
            _jobCall(SVC, j, 10 + j, inputs);
        }
    }

    /// @dev The golden result bytes go through `onJobResult` and land as the decoded fields.
    function test_golden_resultsThroughOnJobResult() public {
        bytes memory provisionOut = _encoded("results", "ProvisionResult");
        AgentJobs.ProvisionResult memory p = _provision();
        vm.recordLogs();
        _result(SVC, _job("results", "ProvisionResult"), 0, op1, provisionOut);
        assertEq(
            _countLogs(vm.getRecordedLogs(), IAgentInstanceBlueprint.OperatorProvisioned.selector), 1, "provisioned"
        );
        IAgentInstanceBlueprint.OperatorEndpoint memory e = bsm.getOperatorEndpoint(SVC, op1);
        assertTrue(e.provisioned, "provisioned");
        assertEq(e.sandboxId, p.sandboxId, "sandboxId");
        assertEq(e.sidecarUrl, p.sidecarUrl, "sidecarUrl");
        assertEq(e.sshPort, p.sshPort, "sshPort");
        assertEq(e.sidecarPublicKey, p.sidecarPublicKey, "sidecarPublicKey");
        assertEq(e.attestationHash, keccak256(p.attestation), "attestationHash");
        (AgentJobs.ProvisionResult memory decoded,) = bsm.decodeProvisionResult(provisionOut);
        assertEq(decoded.sealedAccess, p.sealedAccess, "sealedAccess decodes");

        bytes memory execOut = _encoded("results", "ExecResult");
        AgentJobs.ExecResult memory x = abi.decode(execOut, (AgentJobs.ExecResult));
        assertEq(int256(x.exitCode), int256(-2), "negative exit code decodes");
        assertEq(x.stderr, _exec().stderr, "stderr decodes");
        _result(SVC, _job("results", "ExecResult"), 1, op1, execOut);
        (uint64 seq, bytes32 root) = bsm.getStreamAnchor(SVC, op1);
        assertEq(seq, _exec().vesSequence, "EXEC anchors its VES sequence");
        assertEq(root, _exec().vesStateRoot, "EXEC anchors its VES root");

        bytes memory snapOut = _encoded("results", "SnapshotResult");
        _result(SVC, _job("results", "SnapshotResult"), 2, op1, snapOut);
        (seq, root) = bsm.getStreamAnchor(SVC, op1);
        assertEq(seq, _snapshot().vesSequence, "SNAPSHOT anchors its VES sequence");
        assertEq(root, _snapshot().vesStateRoot, "SNAPSHOT anchors its VES root");
        assertEq(abi.decode(snapOut, (AgentJobs.SnapshotResult)).sizeBytes, _snapshot().sizeBytes, "sizeBytes");

        string[4] memory plain = ["PromptResult", "TaskResult", "SshProvisionResult", "SshRevokeResult"];
        for (uint64 i = 0; i < plain.length; ++i) {
            bytes memory out = _encoded("results", plain[i]);
            _result(SVC, _job("results", plain[i]), 3 + i, op1, out);
            (address[] memory ops, bytes32[] memory hashes) = bsm.getJobResultHashes(SVC, 3 + i);
            assertEq(ops.length, 1, plain[i]);
            assertEq(hashes[0], keccak256(out), string.concat(plain[i], " hash = keccak256(outputs)"));
        }
        assertEq(
            abi.decode(_encoded("results", "PromptResult"), (AgentJobs.PromptResult)).response,
            _prompt().response,
            "utf-8 response"
        );
        assertEq(
            abi.decode(_encoded("results", "TaskResult"), (AgentJobs.TaskResult)).outputHash,
            _task().outputHash,
            "outputHash"
        );

        _result(SVC, _job("results", "DeprovisionResult"), 9, op1, _encoded("results", "DeprovisionResult"));
        assertFalse(bsm.isProvisioned(SVC, op1), "DEPROVISION golden removed the endpoint");
        assertEq(bsm.provisionedCount(SVC), 0, "none provisioned");
    }
}
