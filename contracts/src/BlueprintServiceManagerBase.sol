// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IBlueprintServiceManager, Types} from "./interfaces/IBlueprintServiceManager.sol";

/// @title BlueprintServiceManagerBase
/// @notice Our own base implementation of Tangle's `IBlueprintServiceManager` (tnt-core-bindings
///         0.20.0) with the documented default semantics. Subclasses override the virtual hooks.
/// @dev Defaults:
///      - Tangle core is recorded once, by `onBlueprintCreated`; afterwards every hook may be called
///        only by Tangle core (`OnlyTangleCore`). Before that, every hook reverts.
///      - Configuration views answer "use the protocol default" (`useDefault = true`, zero values).
///      - `getRequiredResultCount` = 1, `requiresAggregation` = false, aggregation threshold 67%
///        count-based, `canJoin` / `canLeave` = true, `forceRemoveAllowsBelowMin` = false,
///        bill adjustment = 10_000 bps (full bill).
///      - Payment assets: native (`address(0)`) is always allowed; any asset is allowed for a service
///        with no explicit allow-list; otherwise only the listed assets.
///      - The blueprint owner receives the developer payment share; this contract is the slashing and
///        dispute origin.
contract BlueprintServiceManagerBase is IBlueprintServiceManager {
    /// @notice A hook was called by someone other than the recorded Tangle core.
    error OnlyTangleCore(address caller);
    /// @notice `onBlueprintCreated` was called a second time.
    error AlreadyInitialized();
    /// @notice `onBlueprintCreated` must be called by the Tangle core it names.
    error TangleCoreMismatch(address caller, address tangleCore);

    /// @notice Emitted once, when Tangle core binds this manager to a blueprint.
    event BlueprintBound(uint64 indexed blueprintId, address indexed owner, address indexed tangleCore);

    /// @notice The Tangle core contract allowed to call hooks (zero until `onBlueprintCreated`).
    address public tangleCore;
    /// @notice The blueprint this manager serves.
    uint64 public blueprintId;
    /// @notice The blueprint owner (developer payment address by default).
    address public blueprintOwner;

    mapping(uint64 serviceId => mapping(address asset => bool)) private _permittedAsset;
    mapping(uint64 serviceId => uint256) private _permittedAssetCount;

    modifier onlyFromTangle() {
        _onlyFromTangle();
        _;
    }

    function _onlyFromTangle() internal view {
        if (msg.sender != tangleCore) revert OnlyTangleCore(msg.sender);
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Blueprint lifecycle
    // ═════════════════════════════════════════════════════════════════════════

    /// @inheritdoc IBlueprintServiceManager
    /// @dev One-shot binder: callable exactly once, by the Tangle core it records (Tangle core passes
    ///      `address(this)` as `tangleCore`). The deployer checks `tangleCore()` after creating the
    ///      blueprint; a front-run binding is visible there and fixed by redeploying.
    function onBlueprintCreated(uint64 _blueprintId, address owner, address _tangleCore) external virtual {
        if (tangleCore != address(0)) revert AlreadyInitialized();
        if (_tangleCore == address(0) || msg.sender != _tangleCore) {
            revert TangleCoreMismatch(msg.sender, _tangleCore);
        }
        tangleCore = _tangleCore;
        blueprintId = _blueprintId;
        blueprintOwner = owner;
        emit BlueprintBound(_blueprintId, owner, _tangleCore);
        _onBlueprintCreated(_blueprintId, owner);
    }

    /// @dev Subclass hook run after the binding was recorded.
    function _onBlueprintCreated(uint64, address) internal virtual {}

    /// @inheritdoc IBlueprintServiceManager
    function onBinaryVersionPublished(uint64, Types.BinaryVersion memory, string memory)
        external
        virtual
        onlyFromTangle
    {}

    /// @inheritdoc IBlueprintServiceManager
    function onOperatorBinaryAcked(uint64, uint64, address) external virtual onlyFromTangle {}

    // ═════════════════════════════════════════════════════════════════════════
    // Operator lifecycle
    // ═════════════════════════════════════════════════════════════════════════

    /// @inheritdoc IBlueprintServiceManager
    function onRegister(address, bytes calldata) external payable virtual onlyFromTangle {}

    /// @inheritdoc IBlueprintServiceManager
    function onUnregister(address) external virtual onlyFromTangle {}

    /// @inheritdoc IBlueprintServiceManager
    function onUpdatePreferences(address, bytes calldata) external payable virtual onlyFromTangle {}

    // ═════════════════════════════════════════════════════════════════════════
    // Service lifecycle
    // ═════════════════════════════════════════════════════════════════════════

    /// @inheritdoc IBlueprintServiceManager
    function onRequest(uint64, address, address[] calldata, bytes calldata, uint64, address, uint256)
        external
        payable
        virtual
        onlyFromTangle
    {}

    /// @inheritdoc IBlueprintServiceManager
    function onApprove(address, uint64, uint8) external payable virtual onlyFromTangle {}

    /// @inheritdoc IBlueprintServiceManager
    function onReject(address, uint64) external virtual onlyFromTangle {}

    /// @inheritdoc IBlueprintServiceManager
    function onServiceInitialized(uint64, uint64, uint64, address, address[] calldata, uint64)
        external
        virtual
        onlyFromTangle
    {}

    /// @inheritdoc IBlueprintServiceManager
    function onServiceTermination(uint64, address) external virtual onlyFromTangle {}

    // ═════════════════════════════════════════════════════════════════════════
    // Dynamic membership
    // ═════════════════════════════════════════════════════════════════════════

    /// @inheritdoc IBlueprintServiceManager
    function canJoin(uint64, address) external view virtual returns (bool allowed) {
        return true;
    }

    /// @inheritdoc IBlueprintServiceManager
    function canLeave(uint64, address) external view virtual returns (bool allowed) {
        return true;
    }

    /// @inheritdoc IBlueprintServiceManager
    function onOperatorJoined(uint64, address, uint16) external virtual onlyFromTangle {}

    /// @inheritdoc IBlueprintServiceManager
    function onOperatorLeft(uint64, address) external virtual onlyFromTangle {}

    /// @inheritdoc IBlueprintServiceManager
    function onExitScheduled(uint64, address, uint64) external virtual onlyFromTangle {}

    /// @inheritdoc IBlueprintServiceManager
    function onExitCanceled(uint64, address) external virtual onlyFromTangle {}

    // ═════════════════════════════════════════════════════════════════════════
    // Jobs
    // ═════════════════════════════════════════════════════════════════════════

    /// @inheritdoc IBlueprintServiceManager
    function onJobCall(uint64, uint8, uint64, bytes calldata) external payable virtual onlyFromTangle {}

    /// @inheritdoc IBlueprintServiceManager
    function onJobResult(uint64, uint8, uint64, address, bytes32, bytes calldata)
        external
        payable
        virtual
        onlyFromTangle
    {}

    /// @inheritdoc IBlueprintServiceManager
    function onAggregatedResult(
        uint64,
        uint8,
        uint64,
        bytes calldata,
        uint256,
        uint256[2] calldata,
        uint256[4] calldata
    ) external virtual onlyFromTangle {}

    /// @inheritdoc IBlueprintServiceManager
    function getRequiredResultCount(uint64, uint8) external view virtual returns (uint32 required) {
        return 1;
    }

    /// @inheritdoc IBlueprintServiceManager
    function requiresAggregation(uint64, uint8) external view virtual returns (bool required) {
        return false;
    }

    /// @inheritdoc IBlueprintServiceManager
    function getAggregationThreshold(uint64, uint8)
        external
        view
        virtual
        returns (uint16 thresholdBps, uint8 thresholdType)
    {
        return (6700, 0); // 67%, count based (only consulted when requiresAggregation is true)
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Slashing
    // ═════════════════════════════════════════════════════════════════════════

    /// @inheritdoc IBlueprintServiceManager
    function onUnappliedSlash(uint64, bytes calldata, uint8) external virtual onlyFromTangle {}

    /// @inheritdoc IBlueprintServiceManager
    function onSlash(uint64, bytes calldata, uint8) external virtual onlyFromTangle {}

    /// @inheritdoc IBlueprintServiceManager
    function querySlashingOrigin(uint64) external view virtual returns (address slashingOrigin) {
        return address(this);
    }

    /// @inheritdoc IBlueprintServiceManager
    function queryDisputeOrigin(uint64) external view virtual returns (address disputeOrigin) {
        return address(this);
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Configuration views: "use the protocol default"
    // ═════════════════════════════════════════════════════════════════════════

    /// @inheritdoc IBlueprintServiceManager
    function getHeartbeatInterval(uint64) external view virtual returns (bool useDefault, uint64 interval) {
        return (true, 0);
    }

    /// @inheritdoc IBlueprintServiceManager
    function getHeartbeatThreshold(uint64) external view virtual returns (bool useDefault, uint8 threshold) {
        return (true, 0);
    }

    /// @inheritdoc IBlueprintServiceManager
    function getSlashingWindow(uint64) external view virtual returns (bool useDefault, uint64 window) {
        return (true, 0);
    }

    /// @inheritdoc IBlueprintServiceManager
    function getExitConfig(uint64)
        external
        view
        virtual
        returns (bool useDefault, uint64 minCommitmentDuration, uint64 exitQueueDuration, bool forceExitAllowed)
    {
        return (true, 0, 0, false);
    }

    /// @inheritdoc IBlueprintServiceManager
    function getNonPaymentTerminationPolicy(uint64)
        external
        view
        virtual
        returns (bool useDefault, uint64 graceIntervals)
    {
        return (true, 0);
    }

    /// @inheritdoc IBlueprintServiceManager
    function getMinOperatorStake() external view virtual returns (bool useDefault, uint256 minStake) {
        return (true, 0);
    }

    /// @inheritdoc IBlueprintServiceManager
    function forceRemoveAllowsBelowMin(uint64) external view virtual returns (bool ok) {
        return false;
    }

    /// @inheritdoc IBlueprintServiceManager
    function computeBillAdjustmentBps(uint64, uint64, uint64) external view virtual returns (uint16 adjustmentBps) {
        return 10_000;
    }

    // ═════════════════════════════════════════════════════════════════════════
    // Payments
    // ═════════════════════════════════════════════════════════════════════════

    /// @inheritdoc IBlueprintServiceManager
    function queryDeveloperPaymentAddress(uint64)
        external
        view
        virtual
        returns (address payable developerPaymentAddress)
    {
        return payable(blueprintOwner);
    }

    /// @inheritdoc IBlueprintServiceManager
    function queryIsPaymentAssetAllowed(uint64 serviceId, address asset)
        external
        view
        virtual
        returns (bool isAllowed)
    {
        if (asset == address(0)) return true;
        if (_permittedAssetCount[serviceId] == 0) return true;
        return _permittedAsset[serviceId][asset];
    }

    /// @dev Adds `asset` to the service's payment allow-list; returns false if it was listed already.
    function _permitAsset(uint64 serviceId, address asset) internal virtual returns (bool added) {
        if (_permittedAsset[serviceId][asset]) return false;
        _permittedAsset[serviceId][asset] = true;
        _permittedAssetCount[serviceId] += 1;
        return true;
    }

    /// @dev Removes `asset` from the service's payment allow-list; returns false if it was not listed.
    function _revokeAsset(uint64 serviceId, address asset) internal virtual returns (bool removed) {
        if (!_permittedAsset[serviceId][asset]) return false;
        _permittedAsset[serviceId][asset] = false;
        _permittedAssetCount[serviceId] -= 1;
        return true;
    }
}
