#!/usr/bin/env bash
# The chaos suite: unit tests of the experiment model and the HPA algorithm, the Chaos
# Mesh manifests (documented fields) and built-in objects (kubernetes-validate), dry runs
# on both targets, then the short lab profile against real processes: replica kill,
# database failover, scale-out, rolling restart. Installs what it needs (idempotent);
# needs root (namespaces, links, cgroups). Removes the lab on exit, also on Ctrl-C.
#
#   tests/chaos/run.sh                 # short profile (CI)
#   CHAOS_PROFILE=full tests/chaos/run.sh   # every drill
#
# Last line: "N passed, M failed". Exit status 1 when anything failed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source scripts/lib/tools.sh

PROFILE="${CHAOS_PROFILE:-ci}"
ensure_apt haproxy haproxy
ensure_apt prometheus prometheus
ensure_apt prometheus-alertmanager prometheus-alertmanager
ensure_apt iptables iptables
ensure_apt psql postgresql-client
[ -x /usr/lib/postgresql/15/bin/initdb ] || ensure_apt pg_ctlcluster postgresql
ensure_pip kubernetes-validate kubernetes-validate
ensure_pymod aiosmtpd aiosmtpd   # the lab's SMTP relay

PASSED=0; FAILED=0; FAILURES=()
TMP="$(mktemp -d)"
OUT="${CHAOS_REPORTS:-$TMP/reports}"
CHAOS="${CARGO_TARGET_DIR:-$ROOT/target}/debug/task-manager-chaos"
cleanup() { [ -x "$CHAOS" ] && "$CHAOS" lab down >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

check() {
  local name="$1"; shift
  if "$@" >"$TMP/out" 2>&1; then
    PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$name"
  else
    FAILED=$((FAILED + 1)); FAILURES+=("$name"); printf 'FAIL  %s\n' "$name"; tail -40 "$TMP/out" | sed 's/^/      /'
  fi
}

check "cargo build (service, SLO generator, chaos)" cargo build -q -p task-manager -p task-manager-slo -p task-manager-chaos
# Each Rust test counts once.
if cargo test -q -p task-manager-chaos --no-fail-fast >"$TMP/cargo" 2>&1; then rc=0; else rc=$?; fi
p=$(grep -E '^test result:' "$TMP/cargo" | sed -E 's/.* ([0-9]+) passed.*/\1/' | paste -sd+ | bc)
f=$(grep -E '^test result:' "$TMP/cargo" | sed -E 's/.* ([0-9]+) failed.*/\1/' | paste -sd+ | bc)
[ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
PASSED=$((PASSED + ${p:-0})); FAILED=$((FAILED + ${f:-0}))
printf '%s  cargo test -p task-manager-chaos: %s passed, %s failed\n' "$([ "${f:-0}" -eq 0 ] && echo ok || echo FAIL)" "${p:-0}" "${f:-0}"
[ "${f:-0}" -eq 0 ] || { FAILURES+=("cargo test"); grep -E 'panicked|FAILED' "$TMP/cargo" | head -20 | sed 's/^/      /'; }

check "experiment files are valid" "$CHAOS" validate
check "chaos/kubernetes is up to date" "$CHAOS" kubernetes generate --check
check "dry run on the lab target" "$CHAOS" run chaos/experiments/06-zone-power-interruption.yaml --dry-run --out "$TMP/dry-lab"
check "dry run on the kubernetes target" "$CHAOS" run chaos/experiments/03-zone-partition.yaml --target kubernetes --dry-run --out "$TMP/dry-k8s"

echo "== lab drills (profile $PROFILE; reports in $OUT)"
if [ "$(id -u)" -ne 0 ]; then
  FAILED=$((FAILED + 1)); FAILURES+=("lab (needs root)"); echo "FAIL  the lab needs root (namespaces, links, cgroups)"
else
  "$CHAOS" lab down >/dev/null 2>&1 || true
  if "$CHAOS" suite --profile "$PROFILE" --with-lab --out "$OUT" >"$TMP/suite" 2>&1; then rc=0; else rc=$?; fi
  grep -vE '^[0-9]+ passed, [0-9]+ failed' "$TMP/suite" || true
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$TMP/suite" | tail -1 || true)
  if [ -n "$line" ]; then
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
  else
    p=0; f=1
  fi
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
  [ "$f" -eq 0 ] || FAILURES+=("lab drills")

  # The fallback for machines without network namespaces, with the drill whose faults
  # are network rules (a zone cut off from the others and from the database).
  loopback_partition() {
    "$CHAOS" lab up --network loopback >/dev/null || return 1
    local rc=0
    "$CHAOS" run chaos/experiments/03-zone-partition.yaml --out "$OUT/loopback-zone-partition" || rc=$?
    "$CHAOS" lab down >/dev/null 2>&1 || true
    [ "$rc" -eq 0 ] && grep -q 'loopback fallback' "$OUT/loopback-zone-partition/journal.json"
  }
  check "loopback lab (no namespaces): zone partition drill" loopback_partition
fi

echo
[ ${#FAILURES[@]} -eq 0 ] || printf 'failed: %s\n' "${FAILURES[@]}"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
