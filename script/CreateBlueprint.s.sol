// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {console2} from "forge-std/console2.sol";
import {InstanceScriptBase} from "./InstanceScriptBase.s.sol";
import {AgentInstanceBlueprint} from "../contracts/src/AgentInstanceBlueprint.sol";
import {AgentJobs} from "../contracts/src/AgentJobs.sol";
import {ITangle, TangleTypes} from "../contracts/src/interfaces/ITangle.sol";

/// @notice Creates the agent-instance blueprint on Tangle core with our BSM as its manager and the eight
///         job definitions (ids 0..7 = AgentJobs), and checks Tangle core bound the BSM to it.
/// @dev Env:
///      BSM_ADDRESS (required)       the deployed AgentInstanceBlueprint
///      TANGLE_ADDRESS               Tangle core (default: the seeded snapshot's proxy)
///      PRICING                      0 PayOnce, 1 Subscription, 2 EventDriven (default 2: per-job rates)
///      BASE_RATE                    blueprint-wide default event rate in wei (default 0; per-job rates
///                                   come from ConfigureInstanceJobRates.s.sol)
///      MAX_OPERATORS                per-service cap (default 16: what the BSM's onRequest fits in
///                                   Tangle's 500k hook gas budget)
///      METADATA_URI, METADATA_HASH  (defaults: a local URI and keccak256 of it)
///      OPERATOR_BINARY_SHA256       sha256 of the operator binary (default: sha256 of "agent-instance
///                                   operator (development build)"; pass the real digest in production)
///      OPERATOR_ARTIFACT_URI        where operators fetch the binary (default: file URI of a local build)
///      Prints `BLUEPRINT_ID=<id>`.
contract CreateBlueprint is InstanceScriptBase {
    function run() external returns (uint64 blueprintId) {
        address tangle = _tangle();
        AgentInstanceBlueprint bsm = AgentInstanceBlueprint(payable(vm.envAddress("BSM_ADDRESS")));
        TangleTypes.BlueprintDefinition memory def = definition(address(bsm));

        vm.startBroadcast();
        blueprintId = ITangle(tangle).createBlueprint(def);
        vm.stopBroadcast();

        require(bsm.tangleCore() == tangle, "BSM bound to another Tangle core");
        require(bsm.blueprintId() == blueprintId, "BSM bound to another blueprint");
        console2.log(string.concat("BLUEPRINT_ID=", vm.toString(uint256(blueprintId))));
        console2.log("manager (BSM):", address(bsm));
        console2.log("blueprint owner:", bsm.blueprintOwner());
    }

    function definition(address manager) public view returns (TangleTypes.BlueprintDefinition memory def) {
        string memory uri = vm.envOr("METADATA_URI", string("file://agent-instance-blueprint/metadata.json"));
        def.metadataUri = uri;
        def.metadataHash = vm.envOr("METADATA_HASH", keccak256(bytes(uri)));
        def.manager = manager;
        def.masterManagerRevision = 0; // latest master manager
        def.hasConfig = true;
        def.config = TangleTypes.BlueprintConfig({
            membership: 1, // Dynamic: operators may join and leave running services
            pricing: uint8(vm.envOr("PRICING", uint256(2))),
            minOperators: 1,
            maxOperators: uint32(vm.envOr("MAX_OPERATORS", uint256(16))),
            subscriptionRate: 0,
            subscriptionInterval: 0,
            eventRate: vm.envOr("BASE_RATE", uint256(0))
        });
        def.metadata = TangleTypes.BlueprintMetadata({
            name: "agent-instance",
            description: "Verifiable agent sandboxes: N operators each run one sandbox and answer the same jobs",
            author: "agent-instance-blueprint",
            category: "AI agents",
            codeRepository: "",
            logo: "",
            website: "",
            license: "MIT",
            profilingData: ""
        });
        def.jobs = jobs();
        def.registrationSchema = "";
        def.requestSchema = "";
        def.sources = sources();
        def.supportedMemberships = new uint8[](2);
        def.supportedMemberships[0] = 0; // Fixed
        def.supportedMemberships[1] = 1; // Dynamic
    }

    /// @dev Index = job id. Schemas stay empty: Tangle core then skips its own schema validation and the
    ///      BSM validates inputs (onJobCall) and outputs (onJobResult) against AgentJobs.
    function jobs() public pure returns (TangleTypes.JobDefinition[] memory j) {
        j = new TangleTypes.JobDefinition[](AgentJobs.JOB_COUNT);
        j[AgentJobs.PROVISION] =
            _job("provision", "Start this operator's sandbox; returns endpoint, attestation, sealed access");
        j[AgentJobs.EXEC] = _job("exec", "Run a command in the sandbox");
        j[AgentJobs.PROMPT] =
            _job("prompt", "One agent prompt; every operator answers, result hashes compared on chain");
        j[AgentJobs.TASK] = _job("task", "Agent task or workflow run; every operator answers");
        j[AgentJobs.SSH_PROVISION] = _job("ssh_provision", "Authorise an SSH key");
        j[AgentJobs.SSH_REVOKE] = _job("ssh_revoke", "Revoke an SSH key");
        j[AgentJobs.SNAPSHOT] = _job("snapshot", "Snapshot the sandbox");
        j[AgentJobs.DEPROVISION] = _job("deprovision", "Stop and remove the sandbox");
    }

    function _job(string memory name, string memory description)
        private
        pure
        returns (TangleTypes.JobDefinition memory)
    {
        return TangleTypes.JobDefinition({
            name: name, description: description, metadataUri: "", paramsSchema: "", resultSchema: ""
        });
    }

    function sources() public view returns (TangleTypes.BlueprintSource[] memory s) {
        s = new TangleTypes.BlueprintSource[](1);
        s[0].kind = 2; // Native
        s[0].native = TangleTypes.NativeSource({
            fetcher: 0, // None: operators bring the binary (development)
            artifactUri: vm.envOr("OPERATOR_ARTIFACT_URI", string("file://target/release/operator")),
            entrypoint: "operator"
        });
        s[0].testing = TangleTypes.TestingSource({cargoPackage: "agent-operator", cargoBin: "operator", basePath: "."});
        s[0].binaries = new TangleTypes.BlueprintBinary[](1);
        s[0].binaries[0] = TangleTypes.BlueprintBinary({
            arch: 5, // Amd64
            os: 1, // Linux
            name: "operator",
            sha256: vm.envOr("OPERATOR_BINARY_SHA256", sha256("agent-instance operator (development build)"))
        });
    }
}
