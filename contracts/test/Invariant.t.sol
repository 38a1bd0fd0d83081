// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {TestBase, Cheats} from "./utils/TestBase.sol";
import {AgentJobs} from "../src/AgentJobs.sol";
import {AgentInstanceBlueprint} from "../src/AgentInstanceBlueprint.sol";
import {IAgentInstanceBlueprint} from "../src/interfaces/IAgentInstanceBlueprint.sol";

/// @notice Drives the BSM the way Tangle core would (any order of join / leave / provision /
///         deprovision / results / termination) and keeps a model of who should be a member and who
///         should be provisioned.
contract BsmHandler {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));
    address internal constant TANGLE = address(0x7A11);

    AgentInstanceBlueprint public immutable bsm;
    uint64 public serviceId = 1;
    uint64 internal nextCall = 1;
    uint64 internal nextRequest = 1;

    address[] public pool; // candidate operators (index 0..5) plus one stranger who never joins
    mapping(uint64 => mapping(address => bool)) public modelMember;
    mapping(uint64 => mapping(address => bool)) public modelProvisioned;
    mapping(uint64 => mapping(address => uint64)) public modelAnchor;

    constructor(AgentInstanceBlueprint b) {
        bsm = b;
        for (uint256 i = 0; i < 7; ++i) {
            pool.push(vm.addr(0xF00 + i));
        }
        _newService(3);
    }

    function poolSize() external view returns (uint256) {
        return pool.length;
    }

    function _op(uint256 seed) internal view returns (address) {
        return pool[seed % 6];
    }

    function _newService(uint256 n) internal {
        address[] memory ops = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            ops[i] = pool[i];
            modelMember[serviceId][pool[i]] = true;
        }
        uint64 requestId = nextRequest++;
        vm.prank(TANGLE);
        bsm.onRequest(requestId, address(0xC), ops, "", 0, address(0), 0);
        vm.prank(TANGLE);
        bsm.onServiceInitialized(7, requestId, serviceId, address(0xC), new address[](0), 0);
    }

    // ── actions ──────────────────────────────────────────────────────────────

    function join(uint256 seed) external {
        address op = _op(seed);
        vm.prank(TANGLE);
        bsm.onOperatorJoined(serviceId, op, 10_000);
        modelMember[serviceId][op] = true;
    }

    function leave(uint256 seed) external {
        address op = _op(seed);
        vm.prank(TANGLE);
        bsm.onOperatorLeft(serviceId, op);
        modelMember[serviceId][op] = false;
        modelProvisioned[serviceId][op] = false;
        modelAnchor[serviceId][op] = 0;
    }

    function provision(uint256 seed, bool sameSandbox) external {
        address op = _op(seed);
        AgentJobs.ProvisionResult memory r = AgentJobs.ProvisionResult({
            sandboxId: sameSandbox ? "sbx" : string.concat("sbx-", vm.toString(nextCall)),
            sidecarUrl: "http://127.0.0.1:1/",
            sshPort: 22,
            attestation: "q",
            sealedAccess: "s",
            sidecarPublicKey: bytes32(uint256(1))
        });
        bool wasProvisioned = modelProvisioned[serviceId][op];
        bool replaced;
        if (wasProvisioned) {
            // Replacing the sandbox resets the anchor; refreshing the same one keeps it.
            string memory stored = bsm.getOperatorEndpoint(serviceId, op).sandboxId;
            replaced = keccak256(bytes(stored)) != keccak256(bytes(r.sandboxId));
        }
        _submit(op, AgentJobs.PROVISION, abi.encode(r));
        if (modelMember[serviceId][op]) {
            modelProvisioned[serviceId][op] = true;
            if (replaced || !wasProvisioned) modelAnchor[serviceId][op] = 0;
        }
    }

    function deprovision(uint256 seed, bool ok) external {
        address op = _op(seed);
        _submit(op, AgentJobs.DEPROVISION, abi.encode(AgentJobs.DeprovisionResult({success: ok})));
        if (ok && modelProvisioned[serviceId][op]) {
            modelProvisioned[serviceId][op] = false;
            modelAnchor[serviceId][op] = 0;
        }
    }

    function prompt(uint256 seed, string calldata response) external {
        _submit(
            _op(seed),
            AgentJobs.PROMPT,
            abi.encode(AgentJobs.PromptResult({success: true, response: response, transcriptDigest: bytes32(0)}))
        );
    }

    function exec(uint256 seed, uint64 seq) external {
        address op = _op(seed);
        bytes32 root = keccak256(abi.encode(seq));
        _submit(
            op,
            AgentJobs.EXEC,
            abi.encode(
                AgentJobs.ExecResult({exitCode: 0, stdout: "", stderr: "", vesSequence: seq, vesStateRoot: root})
            )
        );
        if (modelProvisioned[serviceId][op] && seq > modelAnchor[serviceId][op]) modelAnchor[serviceId][op] = seq;
    }

    function junk(uint256 seed, uint8 job, bytes calldata outputs) external {
        // Never a canonical encoding: dynamic structs start with the word 0x20, static ones are 0 or 1.
        vm.assume(outputs.length < 32 || (word0(outputs) > 1 && word0(outputs) != 0x20));
        _submit(_op(seed), job, outputs);
    }

    function stranger(uint8 job) external {
        _submit(pool[6], job % 8, abi.encode(AgentJobs.DeprovisionResult({success: true})));
    }

    /// @dev Terminates the service and starts a new one (fresh id) with the first `n` pool operators.
    function terminateAndRestart(uint256 n) external {
        vm.prank(TANGLE);
        bsm.onServiceTermination(serviceId, address(0xC));
        ++serviceId;
        _newService(1 + (n % 6));
    }

    function word0(bytes memory b) internal pure returns (uint256 w) {
        bytes memory padded = bytes.concat(b, new bytes(32));
        assembly ("memory-safe") {
            w := mload(add(padded, 32))
        }
    }

    function _submit(address op, uint8 job, bytes memory outputs) internal {
        vm.prank(TANGLE);
        bsm.onJobResult(serviceId, job, nextCall++, op, bytes32(0), outputs); // never reverts
    }
}

contract InvariantTest is TestBase {
    AgentInstanceBlueprint internal bsm;
    BsmHandler internal handler;

    function setUp() public {
        bsm = new AgentInstanceBlueprint();
        vm.prank(address(0x7A11));
        bsm.onBlueprintCreated(7, address(0xB0B), address(0x7A11));
        handler = new BsmHandler(bsm);
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_operatorSetMatchesModel() public view {
        uint64 svc = handler.serviceId();
        uint32 members;
        for (uint256 i = 0; i < handler.poolSize(); ++i) {
            address op = handler.pool(i);
            bool m = bsm.isServiceOperator(svc, op);
            assertEq(m, handler.modelMember(svc, op), "membership matches the model");
            if (m) ++members;
        }
        assertEq(bsm.operatorCount(svc), members, "operatorCount = number of members");
        address[] memory listed = bsm.serviceOperators(svc);
        assertEq(listed.length, members, "serviceOperators() length");
        for (uint256 i = 0; i < listed.length; ++i) {
            assertTrue(bsm.isServiceOperator(svc, listed[i]), "listed operators are members");
            for (uint256 j = i + 1; j < listed.length; ++j) {
                assertTrue(listed[i] != listed[j], "no duplicates");
            }
        }
        uint32 want = members == 0 ? 1 : members;
        assertEq(bsm.getRequiredResultCount(svc, AgentJobs.PROMPT), want, "required = operator count");
        assertEq(bsm.getRequiredResultCount(svc, AgentJobs.EXEC), 1, "EXEC required = 1");
    }

    function invariant_provisionedSubsetOfMembers() public view {
        uint64 svc = handler.serviceId();
        uint256 provisioned;
        for (uint256 i = 0; i < handler.poolSize(); ++i) {
            address op = handler.pool(i);
            bool p = bsm.isProvisioned(svc, op);
            assertEq(p, handler.modelProvisioned(svc, op), "provisioned matches the model");
            if (p) {
                ++provisioned;
                assertTrue(bsm.isServiceOperator(svc, op), "provisioned implies member");
                assertGt(bytes(bsm.getOperatorEndpoint(svc, op).sidecarUrl).length, 0, "provisioned has a URL");
            } else {
                IAgentInstanceBlueprint.OperatorEndpoint memory e = bsm.getOperatorEndpoint(svc, op);
                assertEq(bytes(e.sidecarUrl).length + bytes(e.sandboxId).length, 0, "unprovisioned has no endpoint");
                (uint64 seq,) = bsm.getStreamAnchor(svc, op);
                assertEq(seq, 0, "unprovisioned has no anchor");
            }
            (uint64 anchored,) = bsm.getStreamAnchor(svc, op);
            assertEq(anchored, handler.modelAnchor(svc, op), "anchor matches the model");
        }
        assertEq(bsm.provisionedCount(svc), provisioned, "provisionedCount");
        (address[] memory eps, string[] memory urls) = bsm.getOperatorEndpoints(svc);
        assertEq(eps.length, provisioned, "getOperatorEndpoints length");
        assertEq(urls.length, provisioned, "urls length");
    }

    function invariant_terminatedServicesAreEmpty() public view {
        uint64 svc = handler.serviceId();
        for (uint64 old = 1; old < svc; ++old) {
            assertFalse(bsm.isServiceActive(old), "terminated service inactive");
            assertEq(bsm.operatorCount(old), 0, "terminated: no operators");
            assertEq(bsm.provisionedCount(old), 0, "terminated: none provisioned");
        }
        assertTrue(bsm.isServiceActive(svc), "current service active");
    }
}
