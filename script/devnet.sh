#!/usr/bin/env bash
# The main job. Sets up the machine (idempotent), then runs the local demo.
# Current stage: a smoke run of the sandbox — start a container from the sandbox image with a
# fresh access token, wait for the sidecar's /health, check that the token is enforced, and
# clean up. Later stages grow this into the full devnet (anvil + Tangle core + our BSM + three
# operators + every job through real on-chain calls).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

"$ROOT/script/setup.sh"
image="$(sandbox_image)"
[ -n "$image" ] || die "no sandbox image was built"

step "starting a sandbox from $image"
token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
t0=$(date +%s%N)
cid=$(docker run -d --rm --label agent-instance.devnet=1 \
  --cap-drop ALL $(printf -- '--cap-add %s ' CHOWN DAC_OVERRIDE FOWNER SETUID SETGID KILL NET_BIND_SERVICE SYS_CHROOT AUDIT_WRITE) \
  --security-opt no-new-privileges --pids-limit 512 --memory 512m \
  -e SIDECAR_TOKEN="$token" -p 127.0.0.1::8080 "$image")
trap 'docker rm -f "$cid" >/dev/null 2>&1 || true' EXIT
port=$(docker port "$cid" 8080/tcp | head -1 | sed 's/.*://')
url="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
  curl -fsS "$url/health" >/dev/null 2>&1 && break
  sleep 0.02
done
curl -fsS "$url/health" >/dev/null || { docker logs "$cid" >&2; die "sidecar did not become healthy"; }
t1=$(date +%s%N)
info "container ${cid:0:12} healthy at $url in $(( (t1 - t0) / 1000000 )) ms (docker run included)"

step "checking the sidecar"
info "GET /health            -> $(curl -sS "$url/health")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/info")
[ "$code" = 401 ] || die "unauthenticated request got $code, expected 401"
info "GET /v1/info (no token) -> 401 (token enforced)"
body=$(curl -fsS -H "Authorization: Bearer $token" "$url/v1/info")
info "GET /v1/info (token)    -> $body"

step "running a command in the sandbox (as the unprivileged workspace user)"
auth=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')
out=$(curl -fsS "${auth[@]}" -d '{"command":"echo hello from $(id -un) in $(pwd)","timeout_ms":10000}' "$url/v1/exec")
info "POST /v1/exec -> $out"
grep -q '"exit_code":0' <<<"$out" || die "exec failed: $out"

step "the sandbox's signed event log (VES)"
commit=$(curl -fsS "${auth[@]}" -X POST "$url/v1/ves/commit")
info "POST /v1/ves/commit -> $commit"
events=$(curl -fsS "${auth[@]}" "$url/api/v1/events?tenant_id=$(sed -E 's/.*"tenant_id":"([^"]+)".*/\1/' <<<"$body")&store_id=$(sed -E 's/.*"store_id":"([^"]+)".*/\1/' <<<"$body")&from=1&limit=10")
info "GET /api/v1/events -> $(grep -o '"event_type":"[^"]*"' <<<"$events" | tr '\n' ' ')"

step "cleaning up"
docker rm -f "$cid" >/dev/null
trap - EXIT
info "removed ${cid:0:12}"
echo "devnet smoke run: OK"
