#!/usr/bin/env bash
# A private PostgreSQL server for the sequencer's PostgreSQL backend tests. Idempotent:
#   - if role `ves` can already log in to `ves_test` on 127.0.0.1:$VES_PG_PORT: nothing to do;
#   - if nothing answers on that port: initialise a cluster (once) and start it with pg_ctl,
#     listening on 127.0.0.1 only, and wait until it accepts connections;
#   - create role `ves` (password `ves`) and database `ves_test` when missing.
# Uses the Debian `postgresql` package's binaries (/usr/lib/postgresql/<version>/bin).
# As root the cluster belongs to the `postgres` OS user (data in /var/lib/agent-instance/pg);
# otherwise to the current user (data in $CACHE_DIR/pg). Override with VES_PG_DIR.
# Connection URL for the tests: postgres://ves:ves@127.0.0.1:$VES_PG_PORT/ves_test
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

PORT="${VES_PG_PORT:-55432}"
export PGCONNECT_TIMEOUT=5

PG_BIN="${VES_PG_BIN:-}"
if [ -z "$PG_BIN" ]; then
  PG_BIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -1)"
fi
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/pg_ctl" ] || die "PostgreSQL server binaries not found (apt-get install postgresql)"

ves_login_ok() {
  PGPASSWORD=ves "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U ves -d ves_test -XAtqc 'SELECT 1' >/dev/null 2>&1
}

ssl_on() {
  [ "$(PGPASSWORD=ves "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U ves -d ves_test -XAtqc 'SHOW ssl' 2>/dev/null)" = on ]
}

if ves_login_ok && ssl_on && [ -s "$CACHE_DIR/pg-ca.crt" ]; then
  info "PostgreSQL answers on 127.0.0.1:$PORT (role ves, database ves_test, TLS on)"; exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  OWNER=postgres
  PG_DIR="${VES_PG_DIR:-/var/lib/agent-instance/pg}"
  id "$OWNER" >/dev/null 2>&1 || die "no 'postgres' OS user (apt-get install postgresql)"
  as_owner() {
    if command -v runuser >/dev/null 2>&1; then runuser -u "$OWNER" -- "$@"
    else su "$OWNER" -s /bin/sh -c "$(printf '%q ' "$@")"; fi
  }
else
  OWNER="$(id -un)"
  PG_DIR="${VES_PG_DIR:-$CACHE_DIR/pg}"
  as_owner() { "$@"; }
fi
DATA="$PG_DIR/data"
SOCK="$PG_DIR/run"
LOG="$PG_DIR/postgres.log"

mkdir -p "$PG_DIR"
if [ "$(id -u)" -eq 0 ]; then chown "$OWNER": "$PG_DIR"; fi
chmod 700 "$PG_DIR"
as_owner mkdir -p "$SOCK"

if "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q; then
  # Something answers but role ves cannot log in: it must be our cluster to fix that.
  as_owner "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1 \
    || die "a PostgreSQL server not started by this script answers on port $PORT and role ves cannot log in; set VES_PG_PORT to another port"
else
  if [ ! -f "$DATA/PG_VERSION" ]; then
    info "initialising a PostgreSQL cluster in $DATA (owner $OWNER)"
    as_owner "$PG_BIN/initdb" -D "$DATA" --auth-local=peer --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
      || { tail -20 "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  fi
  # A server killed without shutting down leaves its pid file behind, and postgres refuses
  # to start while that pid exists, even as an unreaped zombie or a reused pid. Nothing
  # answers on the port, so a pid file that names no live postgres process is stale.
  if [ -f "$DATA/postmaster.pid" ]; then
    pid="$(head -1 "$DATA/postmaster.pid")"
    if [ ! -r "/proc/$pid/stat" ] || [ "$(awk '{print $3}' "/proc/$pid/stat")" = Z ] \
       || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != postgres ]; then
      info "removing the stale pid file of server $pid"
      rm -f "$DATA/postmaster.pid"
    fi
  fi
  info "starting PostgreSQL on 127.0.0.1:$PORT (log: $LOG)"
  as_owner "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$SOCK -c max_connections=200" \
    >/dev/null || { tail -20 "$LOG" >&2; die "PostgreSQL did not start"; }
fi

for _ in $(seq 1 120); do
  "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q && break
  sleep 0.5
done
"$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q || die "PostgreSQL does not accept connections on port $PORT"

# As the cluster's superuser over its Unix socket (peer authentication).
su_psql() { as_owner "$PG_BIN/psql" -h "$SOCK" -p "$PORT" -d postgres -XAtq -v ON_ERROR_STOP=1 "$@"; }
if [ "$(su_psql -c "SELECT 1 FROM pg_roles WHERE rolname = 'ves'")" != 1 ]; then
  su_psql -c "CREATE ROLE ves LOGIN PASSWORD 'ves'"
fi
if [ "$(su_psql -c "SELECT 1 FROM pg_database WHERE datname = 'ves_test'")" != 1 ]; then
  su_psql -c "CREATE DATABASE ves_test OWNER ves"
fi
ves_login_ok || die "role ves cannot log in to ves_test on 127.0.0.1:$PORT"

# TLS for the tests of encrypted connections: a private CA and a server certificate for
# 127.0.0.1/localhost (made once, kept with the cluster); the CA certificate is copied to
# $CACHE_DIR/pg-ca.crt for the tests (sslmode=verify-full). SSL settings take effect on reload.
TLS="$PG_DIR/tls"
if [ ! -s "$TLS/server.crt" ] || [ ! -s "$TLS/server.key" ] || [ ! -s "$TLS/ca.crt" ]; then
  command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
  info "making a private CA and a server certificate for PostgreSQL in $TLS"
  as_owner mkdir -p "$TLS"
  work="$(mktemp -d)"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=agent-instance test CA" \
    -keyout "$work/ca.key" -out "$work/ca.crt" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1 || die "openssl: CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$work/server.key" -out "$work/server.csr" >/dev/null 2>&1 || die "openssl: CSR"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$work/ext"
  openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
    -CAcreateserial -days 3650 -extfile "$work/ext" -out "$work/server.crt" >/dev/null 2>&1 \
    || die "openssl: server certificate"
  install -m 0644 "$work/ca.crt" "$TLS/ca.crt"
  install -m 0644 "$work/server.crt" "$TLS/server.crt"
  install -m 0600 "$work/server.key" "$TLS/server.key"
  if [ "$(id -u)" -eq 0 ]; then chown -R "$OWNER": "$TLS"; fi
  rm -rf "$work"
fi
if [ "$(su_psql -c 'SHOW ssl')" != on ]; then
  su_psql -c "ALTER SYSTEM SET ssl_cert_file = '$TLS/server.crt'"
  su_psql -c "ALTER SYSTEM SET ssl_key_file = '$TLS/server.key'"
  su_psql -c "ALTER SYSTEM SET ssl = on"
  su_psql -c "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 1 20); do [ "$(su_psql -c 'SHOW ssl')" = on ] && break; sleep 0.25; done
  [ "$(su_psql -c 'SHOW ssl')" = on ] || { tail -20 "$LOG" >&2; die "PostgreSQL did not turn TLS on"; }
fi
mkdir -p "$CACHE_DIR"
cp "$TLS/ca.crt" "$CACHE_DIR/pg-ca.crt"
info "PostgreSQL ready: postgres://ves:ves@127.0.0.1:$PORT/ves_test (TLS: CA $CACHE_DIR/pg-ca.crt)"
