#!/usr/bin/env bash
# Runs every check of task-manager: formatting, lints, the Rust test suites against
# SQLite and a real PostgreSQL, the monitoring bundle against a real Prometheus and
# Alertmanager, the deployment checks, and the short chaos profile in the lab. Installs or starts what is missing
# (idempotently), so it passes on a fresh machine. Ends with "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
source scripts/lib/postgres.sh

LOGDIR="${TM_TEST_LOGDIR:-$(mktemp -d)}"
mkdir -p "$LOGDIR"
passed=0
failed=0
failures=()

# record NAME LOGFILE STATUS: adds a suite's counts (from its closing lines) to the total.
record() {
  local name="$1" logfile="$2" status="$3" p=0 f=0
  if grep -q '^test result:' "$logfile"; then
    p=$(grep '^test result:' "$logfile" | sed -E 's/.* ([0-9]+) passed.*/\1/' | paste -sd+ | bc)
    f=$(grep '^test result:' "$logfile" | sed -E 's/.* ([0-9]+) failed.*/\1/' | paste -sd+ | bc)
  elif grep -Eq '^[0-9]+ passed, [0-9]+ failed' "$logfile"; then
    p=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logfile" | tail -1 | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logfile" | tail -1 | sed -E 's/.* ([0-9]+) failed.*/\1/')
  else
    [ "$status" -eq 0 ] && p=1 || f=1
  fi
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p))
  failed=$((failed + f))
  [ "$status" -eq 0 ] || failures+=("$name (log: $logfile)")
  log "$name: $p passed, $f failed"
}

# suite NAME COMMAND...: runs one suite, showing its output and keeping a log.
suite() {
  local name="$1"; shift
  local logfile="$LOGDIR/$name.log"
  log "suite: $name"
  set +e
  "$@" 2>&1 | tee "$logfile"
  local status=${PIPESTATUS[0]}
  set -e
  record "$name" "$logfile" "$status"
}

# Every tool of every suite first: a suite must not depend on tools that a later suite
# (or an earlier run's cache) installs.
ensure_test_tools
ensure_postgres
drop_test_databases

suite fmt cargo fmt --all -- --check
suite clippy cargo clippy --workspace --all-targets --locked -- -D warnings
suite cargo-test cargo test --workspace --locked --no-fail-fast
export TM_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/task-manager"
suite monitoring bash tests/monitoring/run.sh
suite deploy bash tests/deploy/run.sh
suite chaos bash tests/chaos/run.sh

drop_test_databases
echo
if [ ${#failures[@]} -gt 0 ]; then
  echo "Failed suites:"
  printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
