# Shared helpers for the shell entry points in script/. Source it; do not run it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS_DIR="$ROOT/.tools"
CACHE_DIR="${AGENT_CACHE_DIR:-$HOME/.cache/agent-instance}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
LOG_DIR="${AGENT_LOG_DIR:-$CACHE_DIR/logs}"
export PATH="$TOOLS_DIR/bin:$PATH"

# Image tags. The foundry tag is the one blueprint-sdk's anvil harness asks Docker for.
FOUNDRY_IMAGE="ghcr.io/foundry-rs/foundry:v1.7.1"
SANDBOX_REPO="agent-sandbox"
SANDBOX_TAG_FILE="$CACHE_DIR/sandbox-image"

step() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Run as root when we are not already root (fresh Debian machines may have sudo).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

docker_ok() { docker info >/dev/null 2>&1; }

sha256_of() { sha256sum "$@" | awk '{print $1}'; }

# The sandbox image tag last built by script/build-image.sh (empty when none).
sandbox_image() {
  if [ -n "${SANDBOX_IMAGE:-}" ]; then echo "$SANDBOX_IMAGE"; return; fi
  [ -f "$SANDBOX_TAG_FILE" ] && cat "$SANDBOX_TAG_FILE"
}
mkdir -p "$CACHE_DIR" "$LOG_DIR"
