#!/usr/bin/env bash
# The test command: set-up (idempotent), formatting, lints, every Rust test (including the
# ones that drive the real Docker engine and the SDK's seeded anvil chain), and forge tests.
# Ends with one summary line: "N passed, N failed".
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$ROOT"

"$ROOT/script/setup.sh"
SANDBOX_IMAGE="$(sandbox_image)"; export SANDBOX_IMAGE
[ -n "$SANDBOX_IMAGE" ] || die "no sandbox image was built"

export VES_TEST_DATABASE_URL="${VES_TEST_DATABASE_URL:-postgres://ves:ves@127.0.0.1:${VES_PG_PORT:-55432}/ves_test}"  # script/postgres-up.sh
export VES_TEST_PG_CA="${VES_TEST_PG_CA:-$CACHE_DIR/pg-ca.crt}"  # script/postgres-up.sh (TLS tests)
results="$LOG_DIR/test-results.txt"; : >"$results"
t0=$(date +%s)

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -q -- -D warnings

step "binaries and artifacts the end-to-end tests run (operator, agentctl, forge build)"
cargo build --locked -q -p agent-operator -p agent-cli -p agent-indexer
forge build -q contracts script

step "cargo test --workspace (sandbox image $SANDBOX_IMAGE)"
set +e
cargo test --workspace --locked 2>&1 | tee "$LOG_DIR/cargo-test.log"
cargo_rc=${PIPESTATUS[0]}
set -e
grep -E '^test result:' "$LOG_DIR/cargo-test.log" >>"$results" || true

step "forge fmt --check && forge test"
forge fmt --check contracts script
set +e
forge test --gas-report 2>&1 | tee "$LOG_DIR/forge-test.log"
forge_rc=${PIPESTATUS[0]}
set -e
grep -E '^Ran [0-9]+ test suites' "$LOG_DIR/forge-test.log" >>"$results" || true

step "contracts on the seeded Tangle chain (deploy, create blueprint, rates, jobs)"
set +e
bash "$ROOT/script/contracts-e2e.sh" 2>&1 | tee "$LOG_DIR/contracts-e2e.log"
e2e_rc=${PIPESTATUS[0]}
set -e

# One closing line over both runners.
passed=0; failed=0
while read -r line; do
  case "$line" in
    "test result:"*)
      p=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
      passed=$((passed + p)); failed=$((failed + f)) ;;
    "Ran "*)
      p=$(sed -E 's/.*: ([0-9]+) tests passed.*/\1/' <<<"$line"); f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
      passed=$((passed + p)); failed=$((failed + f)) ;;
  esac
done <"$results"
echo
echo "cargo: $(grep -c '^test result:' "$results") test binaries; forge: $(grep -E '^Ran ' "$results" || echo 'no suites')"
echo "tests finished in $(( $(date +%s) - t0 ))s"
[ "$e2e_rc" -eq 0 ] && passed=$((passed + 1)) || failed=$((failed + 1))
echo "$passed passed, $failed failed"
[ "$cargo_rc" -eq 0 ] && [ "$forge_rc" -eq 0 ] && [ "$e2e_rc" -eq 0 ] && [ "$failed" -eq 0 ]
