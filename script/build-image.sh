#!/usr/bin/env bash
# Build the sandbox image offline:
#   1. a Debian bookworm minbase root filesystem from debootstrap (cached in $CACHE_DIR),
#      imported as agent-sandbox-base:<hash> — or BASE_IMAGE, on machines that can pull;
#   2. the sidecar (release build) on top, tagged agent-sandbox:<content hash>, so a changed
#      sidecar or Dockerfile gives a new tag. The tag is written to $CACHE_DIR/sandbox-image.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

SUITE="${DEBIAN_SUITE:-bookworm}"
INCLUDE="openssh-server,git,ca-certificates,tini,curl,procps,less"

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  # The mirror apt already uses on this machine (deb822 or one-line format).
  local m
  m=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1)
  [ -n "$m" ] || m=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -1)
  echo "${m:-http://deb.debian.org/debian}"
}

if [ -n "${BASE_IMAGE:-}" ]; then
  base="$BASE_IMAGE"
  docker image inspect "$base" >/dev/null 2>&1 || docker pull "$base"
  info "base: $base (from BASE_IMAGE)"
else
  base_hash=$(printf '%s|%s|v1' "$SUITE" "$INCLUDE" | sha256sum | cut -c1-12)
  base="agent-sandbox-base:$SUITE-$base_hash"
  if docker image inspect "$base" >/dev/null 2>&1; then
    info "base: $base (present)"
  else
    tarball="$CACHE_DIR/rootfs/$SUITE-minbase-$base_hash.tar"
    if [ ! -s "$tarball" ]; then
      mirror=$(debian_mirror)
      info "debootstrap $SUITE minbase from $mirror (about a minute)"
      rootfs=$(mktemp -d "$CACHE_DIR/rootfs-build.XXXXXX")
      trap 'as_root rm -rf "$rootfs"' EXIT
      as_root debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$rootfs" "$mirror" \
        >"$LOG_DIR/debootstrap.log" 2>&1 || { tail -30 "$LOG_DIR/debootstrap.log"; die "debootstrap failed"; }
      # No package lists, caches, or host keys baked in: keys are made per sandbox at start.
      as_root rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/etc/ssh/ssh_host_* "$rootfs"/tmp/*
      mkdir -p "$(dirname "$tarball")"
      as_root tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
      mv "$tarball.tmp" "$tarball"
    fi
    docker import --message "debian $SUITE minbase ($INCLUDE)" "$tarball" "$base" >/dev/null
    info "base: $base (imported)"
  fi
fi

info "building the sidecar (release)"
cargo build --release --locked -q -p agent-sidecar --bin sidecar
sidecar_bin="$TARGET_DIR/release/sidecar"
[ -x "$sidecar_bin" ] || die "sidecar binary not found at $sidecar_bin"

ctx=$(mktemp -d); trap 'rm -rf "$ctx"' EXIT
cp "$ROOT/sidecar/image/Dockerfile" "$sidecar_bin" "$ctx/"
base_id=$(docker image inspect --format '{{.Id}}' "$base")
tag_hash=$( (cat "$ctx/Dockerfile" "$ctx/sidecar"; echo "$base_id") | sha256sum | cut -c1-16)
image="$SANDBOX_REPO:$tag_hash"
if docker image inspect "$image" >/dev/null 2>&1; then
  info "image: $image (present)"
else
  DOCKER_BUILDKIT=0 docker build -q --build-arg BASE_IMAGE="$base" -t "$image" "$ctx" >/dev/null \
    || die "docker build of $image failed"
  info "image: $image (built)"
fi
docker tag "$image" "$SANDBOX_REPO:latest"
mkdir -p "$CACHE_DIR"; echo "$image" >"$SANDBOX_TAG_FILE"
