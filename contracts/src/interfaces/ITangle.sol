// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.20;

// The subset of Tangle core's ABI our scripts and e2e use. Generated from tnt-core-bindings 0.20.0
// `abi/ITangleFull.json` (see README.md in this folder): the ABI filtered to these functions, then
// `cast interface -n ITangle -p ^0.8.20`, with the library renamed `TangleTypes` (so it does not clash
// with `Types` in IBlueprintServiceManager.sol) and cast's `type X is uint8` enum stand-ins replaced by
// plain `uint8` (ABI-identical). Enum values (tnt-core `Types.sol`):
//   MembershipModel: 0 Fixed, 1 Dynamic          PricingModel: 0 PayOnce, 1 Subscription, 2 EventDriven
//   ServiceStatus: 0 Pending, 1 Active, 2 Terminated
//   ConfidentialityPolicy: 0 Any, 1 TeeRequired, 2 StandardRequired, 3 TeePreferred
//   BlueprintSourceKind: 0 Container, 1 Wasm, 2 Native   BlueprintFetcherKind: 0 None, 1 Ipfs, 2 Http, 3 Github
//   BlueprintArchitecture: ... 5 Amd64 ...   BlueprintOperatingSystem: 0 Unknown, 1 Linux, ...

library TangleTypes {
    struct ApprovalParams {
        uint64 requestId;
        AssetSecurityCommitment[] securityCommitments;
        uint256[4] blsPubkey;
        uint256[2] blsPopSignature;
        TeeAttestationCommitment[] teeCommitments;
    }

    struct Asset {
        uint8 kind;
        address token;
    }

    struct AssetSecurityCommitment {
        Asset asset;
        uint16 exposureBps;
    }

    struct Blueprint {
        address owner;
        address manager;
        uint64 createdAt;
        uint8 membership;
        uint8 pricing;
        bool active;
    }

    struct BlueprintBinary {
        uint8 arch;
        uint8 os;
        string name;
        bytes32 sha256;
    }

    struct BlueprintConfig {
        uint8 membership;
        uint8 pricing;
        uint32 minOperators;
        uint32 maxOperators;
        uint256 subscriptionRate;
        uint64 subscriptionInterval;
        uint256 eventRate;
    }

    struct BlueprintDefinition {
        string metadataUri;
        bytes32 metadataHash;
        address manager;
        uint32 masterManagerRevision;
        bool hasConfig;
        BlueprintConfig config;
        BlueprintMetadata metadata;
        JobDefinition[] jobs;
        bytes registrationSchema;
        bytes requestSchema;
        BlueprintSource[] sources;
        uint8[] supportedMemberships;
    }

    struct BlueprintMetadata {
        string name;
        string description;
        string author;
        string category;
        string codeRepository;
        string logo;
        string website;
        string license;
        string profilingData;
    }

    struct BlueprintSource {
        uint8 kind;
        ImageRegistrySource container;
        WasmSource wasm;
        NativeSource native;
        TestingSource testing;
        BlueprintBinary[] binaries;
    }

    struct ImageRegistrySource {
        string registry;
        string image;
        string tag;
    }

    struct JobCall {
        uint8 jobIndex;
        address caller;
        uint64 createdAt;
        uint32 resultCount;
        bool completed;
        bool isRFQ;
        uint256 payment;
    }

    struct JobDefinition {
        string name;
        string description;
        string metadataUri;
        bytes paramsSchema;
        bytes resultSchema;
    }

    struct NativeSource {
        uint8 fetcher;
        string artifactUri;
        string entrypoint;
    }

    struct Service {
        uint64 blueprintId;
        address owner;
        uint64 createdAt;
        uint64 ttl;
        uint64 terminatedAt;
        uint64 lastPaymentAt;
        uint32 operatorCount;
        uint32 minOperators;
        uint32 maxOperators;
        uint8 membership;
        uint8 pricing;
        uint8 status;
        uint8 confidentiality;
    }

    struct ServiceRequest {
        uint64 blueprintId;
        address requester;
        uint64 createdAt;
        uint64 ttl;
        uint32 operatorCount;
        uint32 approvalCount;
        address paymentToken;
        uint256 paymentAmount;
        uint8 membership;
        uint32 minOperators;
        uint32 maxOperators;
        bool rejected;
        uint8 confidentiality;
        bool activated;
    }

    struct TeeAttestationCommitment {
        uint8 backend;
        bytes32 expectedMeasurement;
        bytes32 nonceBinding;
        uint64 expiresAt;
    }

    struct TestingSource {
        string cargoPackage;
        string cargoBin;
        string basePath;
    }

    struct WasmSource {
        uint8 runtime;
        uint8 fetcher;
        string artifactUri;
        string entrypoint;
    }
}

interface ITangle {
    function approveService(TangleTypes.ApprovalParams memory params) external;
    function blueprintCount() external view returns (uint64);
    function blueprintDefinitionHash(uint64 blueprintId) external view returns (bytes32);
    function createBlueprint(TangleTypes.BlueprintDefinition memory definition) external returns (uint64 blueprintId);
    function getBlueprint(uint64 blueprintId) external view returns (TangleTypes.Blueprint memory);
    function getBlueprintConfig(uint64 blueprintId) external view returns (TangleTypes.BlueprintConfig memory);
    function getBlueprintSettlementAsset(uint64 blueprintId) external view returns (address);
    function getJobCall(uint64 serviceId, uint64 callId) external view returns (TangleTypes.JobCall memory);
    function getJobEventRate(uint64 blueprintId, uint8 jobIndex) external view returns (uint256 rate);
    function getService(uint64 serviceId) external view returns (TangleTypes.Service memory);
    function getServiceOperators(uint64 serviceId) external view returns (address[] memory);
    function getServiceRequest(uint64 requestId) external view returns (TangleTypes.ServiceRequest memory);
    function isPermittedCaller(uint64 serviceId, address caller) external view returns (bool);
    function registerOperator(
        uint64 blueprintId,
        bytes memory ecdsaPublicKey,
        string memory rpcAddress,
        bytes memory registrationInputs
    ) external;
    function registerOperator(uint64 blueprintId, bytes memory ecdsaPublicKey, string memory rpcAddress) external;
    function requestService(
        uint64 blueprintId,
        address[] memory operators,
        bytes memory config,
        address[] memory permittedCallers,
        uint64 ttl,
        address paymentToken,
        uint256 paymentAmount,
        uint8 confidentiality
    ) external payable returns (uint64 requestId);
    function serviceCount() external view returns (uint64);
    function setJobEventRates(uint64 blueprintId, uint8[] memory jobIndexes, uint256[] memory rates) external;
    function submitJob(uint64 serviceId, uint8 jobIndex, bytes memory inputs) external payable returns (uint64 callId);
    function submitResult(uint64 serviceId, uint64 callId, bytes memory result) external;
}
