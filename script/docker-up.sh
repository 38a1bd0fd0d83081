#!/usr/bin/env bash
# Start the Docker daemon when none answers, then wait until it does. Idempotent.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

if docker_ok; then info "daemon answers"; exit 0; fi
command -v dockerd >/dev/null 2>&1 || die "dockerd not installed (run script/setup.sh)"
mkdir -p "$LOG_DIR"
# systemd is usually absent in containers and CI sandboxes: start dockerd directly, detached.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  as_root systemctl start docker || true
fi
if ! docker_ok; then
  info "starting dockerd (log: $LOG_DIR/dockerd.log)"
  as_root setsid nohup dockerd >>"$LOG_DIR/dockerd.log" 2>&1 </dev/null &
fi
for _ in $(seq 1 120); do
  docker_ok && { info "daemon answers: $(docker version --format '{{.Server.Version}}')"; exit 0; }
  sleep 0.5
done
tail -20 "$LOG_DIR/dockerd.log" >&2 || true
die "Docker daemon did not answer within 60s"
