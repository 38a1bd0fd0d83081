#!/usr/bin/env bash
# End-to-end check of the Solidity half against the REAL Tangle core contracts (DESIGN decision 8):
# a private anvil loaded with the SDK's seeded Tangle snapshot, our forge scripts (deploy the BSM,
# create the blueprint, configure per-job rates), then a full service on chain driven with cast:
# operators register, a customer requests a 2-operator service, both approve, jobs are submitted and
# results land through Tangle core's submitResult -> our onJobResult.
#
# Usage: script/contracts-e2e.sh            (needs .tools/bin with forge/cast/anvil; offline)
# Env:   TANGLE_SNAPSHOT  path of localtestnet-state.json (default: found in ~/.cargo/registry)
#        FORGE_ARGS       extra flags for `forge script` (e.g. "--use /path/to/solc")
#        KEEP_ANVIL=1     leave anvil running at the end (prints its URL and pid)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/.tools/bin:$PATH"
cd "$ROOT"

say() { printf '%s\n' "$*"; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
check() { # check <what> <actual> <expected>
  [ "$2" = "$3" ] || die "$1: got '$2', expected '$3'"
  say "ok  $1 = $3"
}
lower() { tr '[:upper:]' '[:lower:]'; }

for tool in anvil cast forge python3; do command -v "$tool" >/dev/null || die "$tool not found"; done

SNAPSHOT="${TANGLE_SNAPSHOT:-}"
if [ -z "$SNAPSHOT" ]; then
  SNAPSHOT="$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/blueprint-chain-setup-anvil-0.2.0-alpha.23/snapshots/localtestnet-state.json 2>/dev/null | head -n1 || true)"
fi
[ -f "$SNAPSHOT" ] || die "seeded Tangle snapshot not found (set TANGLE_SNAPSHOT)"

WORK="$(mktemp -d)"
ANVIL_PID=""
cleanup() {
  if [ -n "$ANVIL_PID" ] && [ "${KEEP_ANVIL:-0}" != 1 ]; then
    kill "$ANVIL_PID" 2>/dev/null || true
    wait "$ANVIL_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
RPC="http://127.0.0.1:$PORT"
anvil --host 127.0.0.1 --port "$PORT" --load-state "$SNAPSHOT" --base-fee 0 --gas-price 0 \
  --gas-limit 100000000 --code-size-limit 100000 >"$WORK/anvil.log" 2>&1 &
ANVIL_PID=$!
for _ in $(seq 1 120); do
  cast chain-id --rpc-url "$RPC" >/dev/null 2>&1 && break
  kill -0 "$ANVIL_PID" 2>/dev/null || { cat "$WORK/anvil.log" >&2; die "anvil exited"; }
  sleep 0.5
done
check "anvil chain id ($RPC)" "$(cast chain-id --rpc-url "$RPC")" 31337

TANGLE=0x0165878A594ca255338adfa4d48449f69242Eb8F
ZERO=0x0000000000000000000000000000000000000000
MNEMONIC="test test test test test test test test test test test junk"
key() { cast wallet private-key --mnemonic "$MNEMONIC" --mnemonic-index "$1"; }
K0="$(key 0)"; K1="$(key 1)"; K2="$(key 2)"
DEPLOYER="$(cast wallet address --private-key "$K0")"
OP1="$(cast wallet address --private-key "$K1")"
OP2="$(cast wallet address --private-key "$K2")"
check "deployer (anvil account 0)" "$DEPLOYER" 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
[ "$(cast code "$TANGLE" --rpc-url "$RPC")" != 0x ] || die "no Tangle core at $TANGLE"

# ── forge scripts ─────────────────────────────────────────────────────────────
export FOUNDRY_BROADCAST="$WORK/broadcast" TANGLE_ADDRESS="$TANGLE"
run_script() { # run_script <file:contract> -> stdout of forge script
  # shellcheck disable=SC2086
  forge script "$1" ${FORGE_ARGS:-} --rpc-url "$RPC" --broadcast --private-key "$K0" >"$WORK/forge.out" 2>&1 \
    || { cat "$WORK/forge.out" >&2; die "forge script $1 failed"; }
  grep -q "ONCHAIN EXECUTION COMPLETE & SUCCESSFUL" "$WORK/forge.out" || { cat "$WORK/forge.out" >&2; die "$1 did not broadcast"; }
  cat "$WORK/forge.out"
}
log_value() { sed -n "s/^ *$1=//p" | head -n1; }

export BSM_ADDRESS BLUEPRINT_ID BASE_RATE=1000000000000
BSM_ADDRESS="$(run_script script/DeployInstance.s.sol:DeployInstance | log_value BSM_ADDRESS)"
[ -n "$BSM_ADDRESS" ] || die "DeployInstance printed no BSM_ADDRESS"
say "ok  DeployInstance: BSM at $BSM_ADDRESS"
BLUEPRINT_ID="$(run_script script/CreateBlueprint.s.sol:CreateBlueprint | log_value BLUEPRINT_ID)"
[ -n "$BLUEPRINT_ID" ] || die "CreateBlueprint printed no BLUEPRINT_ID"
say "ok  CreateBlueprint: blueprint $BLUEPRINT_ID"
run_script script/ConfigureInstanceJobRates.s.sol:ConfigureInstanceJobRates >/dev/null
say "ok  ConfigureInstanceJobRates"

# ── read the blueprint back ───────────────────────────────────────────────────
c() { cast call "$@" --rpc-url "$RPC"; }
BP="$(c "$TANGLE" "getBlueprint(uint64)((address,address,uint64,uint8,uint8,bool))" "$BLUEPRINT_ID")"
check "blueprint owner" "$(echo "$BP" | cut -d, -f1 | tr -d '( ' | lower)" "$(echo "$DEPLOYER" | lower)"
check "blueprint manager = BSM" "$(echo "$BP" | cut -d, -f2 | tr -d ' ' | lower)" "$(echo "$BSM_ADDRESS" | lower)"
check "blueprint membership/pricing/active" "$(echo "$BP" | cut -d, -f4- | tr -d ' )')" "1,2,true"
check "blueprint config (membership,pricing,min,max)" \
  "$(c "$TANGLE" "getBlueprintConfig(uint64)((uint8,uint8,uint32,uint32,uint256,uint64,uint256))" "$BLUEPRINT_ID" | cut -d, -f1-4 | tr -d ' (')" "1,2,1,16"
check "BSM tangleCore" "$(c "$BSM_ADDRESS" "tangleCore()(address)" | lower)" "$(echo "$TANGLE" | lower)"
check "BSM blueprintId" "$(c "$BSM_ADDRESS" "blueprintId()(uint64)")" "$BLUEPRINT_ID"
check "BSM blueprintOwner" "$(c "$BSM_ADDRESS" "blueprintOwner()(address)")" "$DEPLOYER"
MULT=(50 1 20 250 2 1 5 1)
for j in 0 1 2 3 4 5 6 7; do
  RATE[$j]="$(c "$TANGLE" "getJobEventRate(uint64,uint8)(uint256)" "$BLUEPRINT_ID" "$j" | cut -d' ' -f1)"
  check "job $j event rate" "${RATE[$j]}" "$((BASE_RATE * MULT[j]))"
done

# ── a 2-operator service on the real Tangle core ──────────────────────────────
send() { # send <key> <to> <sig> args... -> receipt JSON in $WORK/receipt.json
  local k="$1"; shift
  cast send "$@" --private-key "$k" --rpc-url "$RPC" --json >"$WORK/receipt.json" || die "tx failed: $*"
  [ "$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["status"],16))' "$WORK/receipt.json")" = 1 ] \
    || die "tx reverted: $*"
}
topic() { cast sig-event "$1"; }
count_logs() { # count_logs <emitter> <topic0> (in the last receipt)
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(1 for l in r["logs"] if l["address"].lower()==sys.argv[2].lower() and l["topics"][0]==sys.argv[3]))' \
    "$WORK/receipt.json" "$1" "$2"
}
golden() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]]["encoded"])' \
  contracts/test/fixtures/golden-outputs.json "$1" "$2"; }

for k in "$K1" "$K2"; do
  send "$k" "$TANGLE" "registerOperator(uint64,bytes,string)" "$BLUEPRINT_ID" \
    "0x04$(cast wallet public-key --private-key "$k" | sed 's/^0x//')" "http://127.0.0.1:9000"
done
say "ok  two operators registered"

REQ_SIG="requestService(uint64,address[],bytes,address[],uint64,address,uint256,uint8)"
REQUEST_ID="$(c "$TANGLE" "$REQ_SIG(uint64)" "$BLUEPRINT_ID" "[$OP1,$OP2]" 0x "[]" 0 "$ZERO" 0 0 --from "$DEPLOYER")"
send "$K0" "$TANGLE" "$REQ_SIG" "$BLUEPRINT_ID" "[$OP1,$OP2]" 0x "[]" 0 "$ZERO" 0 0
check "BSM.requestOperators($REQUEST_ID)" "$(c "$BSM_ADDRESS" "requestOperators(uint64)(address[])" "$REQUEST_ID")" "[$OP1, $OP2]"

APPROVE_SIG="approveService((uint64,((uint8,address),uint16)[],uint256[4],uint256[2],(uint8,bytes32,bytes32,uint64)[]))"
for k in "$K1" "$K2"; do send "$k" "$TANGLE" "$APPROVE_SIG" "($REQUEST_ID,[],[0,0,0,0],[0,0],[])"; done
SERVICE_ID=$(( $(c "$TANGLE" "serviceCount()(uint64)") - 1 ))
check "Tangle service $SERVICE_ID operators" "$(c "$TANGLE" "getServiceOperators(uint64)(address[])" "$SERVICE_ID")" "[$OP1, $OP2]"
check "BSM.serviceOperators" "$(c "$BSM_ADDRESS" "serviceOperators(uint64)(address[])" "$SERVICE_ID")" "[$OP1, $OP2]"
check "BSM.serviceOwner" "$(c "$BSM_ADDRESS" "serviceOwner(uint64)(address)" "$SERVICE_ID")" "$DEPLOYER"
check "BSM required results PROVISION/EXEC/PROMPT" \
  "$(for j in 0 1 2; do c "$BSM_ADDRESS" "getRequiredResultCount(uint64,uint8)(uint32)" "$SERVICE_ID" $j; done | xargs)" "2 1 2"

SUBMIT="submitJob(uint64,uint8,bytes)"
RESULT="submitResult(uint64,uint64,bytes)"
JOBCALL="getJobCall(uint64,uint64)((uint8,address,uint64,uint32,bool,bool,uint256))"
jobcall() { c "$TANGLE" "$JOBCALL" "$SERVICE_ID" "$1" | cut -d, -f4,5 | tr -d ' '; } # resultCount,completed

# onJobCall reverts ARE enforced by Tangle core: EXEC before any PROVISION is refused.
if c "$TANGLE" "$SUBMIT(uint64)" "$SERVICE_ID" 1 "$(golden requests ExecRequest)" --value "${RATE[1]}" --from "$DEPLOYER" >"$WORK/err" 2>&1; then
  die "EXEC before PROVISION was accepted"
fi
grep -q "$(cast sig 'NoProvisionedOperator(uint64)' | sed 's/^0x//')" "$WORK/err" || { cat "$WORK/err" >&2; die "EXEC refused for another reason"; }
say "ok  EXEC before PROVISION refused by onJobCall (NoProvisionedOperator)"

CALL="$(c "$TANGLE" "$SUBMIT(uint64)" "$SERVICE_ID" 0 "$(golden requests ProvisionRequest)" --value "${RATE[0]}" --from "$DEPLOYER")"
send "$K0" "$TANGLE" "$SUBMIT" "$SERVICE_ID" 0 "$(golden requests ProvisionRequest)" --value "${RATE[0]}"
PROVISION_OUT="$(golden results ProvisionResult)"
send "$K1" "$TANGLE" "$RESULT" "$SERVICE_ID" "$CALL" "$PROVISION_OUT"
check "OperatorProvisioned events (op1)" "$(count_logs "$BSM_ADDRESS" "$(topic 'OperatorProvisioned(uint64,address,string,string,uint16,bytes32,bytes32)')")" 1
check "PROVISION call after 1 of 2 results (resultCount,completed)" "$(jobcall "$CALL")" "1,false"
send "$K2" "$TANGLE" "$RESULT" "$SERVICE_ID" "$CALL" "$PROVISION_OUT"
check "PROVISION call after 2 of 2 results (resultCount,completed)" "$(jobcall "$CALL")" "2,true"
check "BSM.provisionedCount" "$(c "$BSM_ADDRESS" "provisionedCount(uint64)(uint32)" "$SERVICE_ID")" 2
URL="$(python3 -c 'import json; print(json.load(open("contracts/test/fixtures/golden-outputs.json"))["results"]["ProvisionResult"]["fields"]["sidecarUrl"])')"
check "BSM endpoint of op2" "$(c "$BSM_ADDRESS" "getOperatorEndpoint(uint64,address)((bool,string,string,uint16,bytes32,bytes32))" "$SERVICE_ID" "$OP2" | cut -d, -f1,3 | tr -d '( "')" "true,$URL"
ATT="$(python3 -c 'import json; print(json.load(open("contracts/test/fixtures/golden-outputs.json"))["results"]["ProvisionResult"]["fields"]["attestation"])')"
check "BSM attestation hash of op1" "$(c "$BSM_ADDRESS" "getAttestationHash(uint64,address)(bytes32)" "$SERVICE_ID" "$OP1")" "$(cast keccak "$ATT")"

# PROMPT: every operator answers; hashes compared on chain.
CALL="$(c "$TANGLE" "$SUBMIT(uint64)" "$SERVICE_ID" 2 "$(golden requests PromptRequest)" --value "${RATE[2]}" --from "$DEPLOYER")"
send "$K0" "$TANGLE" "$SUBMIT" "$SERVICE_ID" 2 "$(golden requests PromptRequest)" --value "${RATE[2]}"
PROMPT_OUT="$(golden results PromptResult)"
for k in "$K1" "$K2"; do send "$k" "$TANGLE" "$RESULT" "$SERVICE_ID" "$CALL" "$PROMPT_OUT"; done
check "PROMPT call completed" "$(jobcall "$CALL")" "2,true"
check "BSM.getConsensus(PROMPT)" "$(c "$BSM_ADDRESS" "getConsensus(uint64,uint64)(bytes32,uint32,uint32)" "$SERVICE_ID" "$CALL" | xargs)" \
  "$(cast keccak "$PROMPT_OUT") 2 2"

# onJobResult reverts are swallowed by Tangle core, so a malformed result lands on Tangle core and the
# BSM records nothing and says why (ResultRejected, reason 5 = MalformedOutput).
CALL="$(c "$TANGLE" "$SUBMIT(uint64)" "$SERVICE_ID" 1 "$(golden requests ExecRequest)" --value "${RATE[1]}" --from "$DEPLOYER")"
send "$K0" "$TANGLE" "$SUBMIT" "$SERVICE_ID" 1 "$(golden requests ExecRequest)" --value "${RATE[1]}"
send "$K1" "$TANGLE" "$RESULT" "$SERVICE_ID" "$CALL" 0xdeadbeef
check "ResultRejected events for garbage EXEC output" "$(count_logs "$BSM_ADDRESS" "$(topic 'ResultRejected(uint64,uint8,uint64,address,uint8)')")" 1
REASON="$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); t=sys.argv[2]; print([int(l["data"][-64:],16) for l in r["logs"] if l["topics"][0]==t][0])' "$WORK/receipt.json" "$(topic 'ResultRejected(uint64,uint8,uint64,address,uint8)')")"
check "ResultRejected reason (MalformedOutput)" "$REASON" 5
check "Tangle still counted the garbage result (resultCount,completed)" "$(jobcall "$CALL")" "1,true"
check "BSM recorded no hash for it" "$(c "$BSM_ADDRESS" "getJobResultHashes(uint64,uint64)(address[],bytes32[])" "$SERVICE_ID" "$CALL" | xargs)" "[] []"

# A well-formed EXEC result anchors the operator's VES head.
CALL="$(c "$TANGLE" "$SUBMIT(uint64)" "$SERVICE_ID" 1 "$(golden requests ExecRequest)" --value "${RATE[1]}" --from "$DEPLOYER")"
send "$K0" "$TANGLE" "$SUBMIT" "$SERVICE_ID" 1 "$(golden requests ExecRequest)" --value "${RATE[1]}"
send "$K2" "$TANGLE" "$RESULT" "$SERVICE_ID" "$CALL" "$(golden results ExecResult)"
check "StreamAnchored events" "$(count_logs "$BSM_ADDRESS" "$(topic 'StreamAnchored(uint64,address,uint64,uint64,bytes32)')")" 1
check "BSM.getStreamAnchor(op2)" "$(c "$BSM_ADDRESS" "getStreamAnchor(uint64,address)(uint64,bytes32)" "$SERVICE_ID" "$OP2" | xargs)" \
  "42 0x$(printf 'a5%.0s' $(seq 1 32))"

# DEPROVISION (every operator) removes the endpoints.
CALL="$(c "$TANGLE" "$SUBMIT(uint64)" "$SERVICE_ID" 7 "$(golden requests DeprovisionRequest)" --value "${RATE[7]}" --from "$DEPLOYER")"
send "$K0" "$TANGLE" "$SUBMIT" "$SERVICE_ID" 7 "$(golden requests DeprovisionRequest)" --value "${RATE[7]}"
for k in "$K1" "$K2"; do send "$k" "$TANGLE" "$RESULT" "$SERVICE_ID" "$CALL" "$(golden results DeprovisionResult)"; done
check "DEPROVISION call completed" "$(jobcall "$CALL")" "2,true"
check "BSM.provisionedCount after DEPROVISION" "$(c "$BSM_ADDRESS" "provisionedCount(uint64)(uint32)" "$SERVICE_ID")" 0

if [ "${KEEP_ANVIL:-0}" = 1 ]; then say "anvil left running: $RPC (pid $ANVIL_PID)"; fi
say "PASS contracts-e2e: BSM $BSM_ADDRESS, blueprint $BLUEPRINT_ID, service $SERVICE_ID on $RPC"
