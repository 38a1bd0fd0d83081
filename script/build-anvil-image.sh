#!/usr/bin/env bash
# Build the image blueprint-sdk's anvil harness starts (ghcr.io/foundry-rs/foundry:v1.7.1)
# from the npm anvil + cast binaries with `docker import`, since nothing can be pulled here.
# The harness runs it with entrypoint `anvil`, waits for "Listening on" and execs `cast rpc`.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

if docker image inspect "$FOUNDRY_IMAGE" >/dev/null 2>&1; then info "present"; exit 0; fi
anvil_bin=$(readlink -f "$TOOLS_DIR/bin/anvil"); cast_bin=$(readlink -f "$TOOLS_DIR/bin/cast")
[ -x "$anvil_bin" ] && [ -x "$cast_bin" ] || die "anvil/cast missing (run script/setup.sh)"

root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/local/bin" "$root/tmp" "$root/etc" "$root/root"
chmod 1777 "$root/tmp"
cp "$anvil_bin" "$cast_bin" "$root/usr/local/bin/"
# The binaries link glibc dynamically: copy exactly the libraries they load.
for lib in $(ldd "$anvil_bin" "$cast_bin" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done
# cast's HTTP client refuses to start without a CA bundle, even for a loopback RPC.
mkdir -p "$root/etc/ssl/certs"
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
tar -C "$root" -c . | docker import \
  --change 'ENTRYPOINT ["anvil"]' \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --message "anvil+cast 1.7.1 from npm (@foundry-rs), imported offline" \
  - "$FOUNDRY_IMAGE" >/dev/null
info "built $FOUNDRY_IMAGE"
