#!/usr/bin/env bash
# The main job. Sets up the machine (idempotent), builds the operator, the customer CLI and the
# devnet driver, then runs the local demo: anvil with the SDK's seeded Tangle core, our BSM
# deployed by the forge scripts, three operator processes (each its own keystore, data dir and
# Docker sandbox), and every job through real on-chain calls, verified. Cleans up after itself
# and exits non-zero on any failure.
#
# Env: DEVNET_LLM_BASE_URL / DEVNET_LLM_MODEL  an OpenAI-compatible endpoint reachable from the
#      sandboxes (default: a canned local stand-in, labelled as such in the output).
# Args are passed to the devnet binary (e.g. --keep to leave it running, --operators 2).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

"$ROOT/script/setup.sh"
image="$(sandbox_image)"
[ -n "$image" ] || die "no sandbox image was built"

step "building the operator, agentctl and the devnet driver"
export CARGO_TARGET_DIR="$TARGET_DIR"
cargo build --locked -q -p agent-operator -p agent-cli -p agent-indexer -p agent-devnet
forge build -q contracts script

step "running the devnet (sandbox image $image)"
exec "$TARGET_DIR/debug/devnet" --root "$ROOT" --sandbox-image "$image" "$@"
