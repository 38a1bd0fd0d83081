#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian (bookworm) machine. Installs everything the project
# needs, offline apart from the package registries (apt, npm, crates.io):
#   apt packages, a running Docker daemon, the pinned foundry toolchain + solc-js from npm,
#   the local anvil image the SDK's test harness asks for, and the sandbox image.
# A second run changes nothing and takes seconds.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

APT_PACKAGES=(
  docker.io          # the Docker engine (images are built locally; nothing is pulled)
  cmake protobuf-compiler libprotobuf-dev libclang-dev clang pkg-config libssl-dev  # blueprint-sdk build deps
  # (libprotobuf-dev: the well-known .proto files, e.g. google/protobuf/empty.proto, that
  #  blueprint-manager-bridge compiles; only a recommendation of protobuf-compiler)
  debootstrap        # the sandbox base root filesystem
  openssh-client     # ssh/ssh-keygen: the image test logs in to a sandbox's sshd
  postgresql         # the sequencer's PostgreSQL backend tests
  curl ca-certificates git
)

start=$(date +%s)
mkdir -p "$CACHE_DIR" "$LOG_DIR" "$TOOLS_DIR/bin"

step "apt packages"
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  info "installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$LOG_DIR/apt.log" 2>&1 || { tail -20 "$LOG_DIR/apt.log"; die "apt-get install failed"; }
else
  info "all present"
fi

step "Docker daemon"
"$ROOT/script/docker-up.sh"
step "PostgreSQL for the sequencer tests"; "$ROOT/script/postgres-up.sh"

step "foundry toolchain and solc-js (npm, pinned)"
lock_hash=$(sha256_of "$ROOT/script/tools/package-lock.json")
if [ "$(cat "$TOOLS_DIR/.npm-stamp" 2>/dev/null)" != "$lock_hash" ]; then
  cp "$ROOT/script/tools/package.json" "$ROOT/script/tools/package-lock.json" "$TOOLS_DIR/"
  (cd "$TOOLS_DIR" && npm install --no-audit --no-fund --ignore-scripts >"$LOG_DIR/npm.log" 2>&1) \
    || { tail -20 "$LOG_DIR/npm.log"; die "npm install failed"; }
  echo "$lock_hash" >"$TOOLS_DIR/.npm-stamp"
fi
# The npm launchers are node scripts; link the platform binaries directly.
for t in forge anvil cast; do
  ln -sfn "../node_modules/@foundry-rs/$t-linux-amd64/bin/$t" "$TOOLS_DIR/bin/$t"
done
ln -sfn "../../script/tools/solc" "$TOOLS_DIR/bin/solc"
info "$(forge --version | head -1); $(solc --version | tail -1)"

step "anvil image for the SDK test harness ($FOUNDRY_IMAGE)"
"$ROOT/script/build-anvil-image.sh"

step "sandbox image"
"$ROOT/script/build-image.sh"

info "set-up finished in $(( $(date +%s) - start ))s"
