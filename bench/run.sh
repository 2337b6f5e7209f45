#!/usr/bin/env bash
# Load benchmark of task-manager: GET by id, filtered list, create and PATCH, on SQLite
# and PostgreSQL with 100 000 tasks, the load generator (wrk) on the same machine.
# Prints a Markdown table for docs/benchmarks.md. Loopback only.
#
#   bench/run.sh [sqlite|postgres|both] [seconds]
#
# Env: BENCH_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres),
#      BENCH_CONNECTIONS (default 32), BENCH_THREADS (default 2),
#      BENCH_SERVER_ENV (extra environment of the service, e.g. OTEL_* variables),
#      BENCH_NO_BUILD=1 (use the binaries already built).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ensure_apt wrk wrk

WHICH="${1:-both}"
SECS="${2:-15}"
CONNS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"

build_release

rss_kib() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/VmHWM/{print $2}' "/proc/$1/status"; }

run_wrk() {
  local name="$1" script="$2"
  local before; before=$(cpu_ticks "$SERVER")
  local out; out=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -s "bench/$script" "$BASE" 2>&1)
  local after; after=$(cpu_ticks "$SERVER")
  local rps; rps=$(echo "$out" | awk '/Requests\/sec/{printf "%d", $2}')
  local p50; p50=$(echo "$out" | awk '$1=="50%"{print $2}')
  local p99; p99=$(echo "$out" | awk '$1=="99%"{print $2}')
  local errors; errors=$(echo "$out" | awk '/Non-2xx/{print $4}')
  local cpu; cpu=$(echo "($after - $before) / $(getconf CLK_TCK) / $SECS * 100" | bc -l | xargs printf '%.0f')
  printf '| %s | %s | %s | %s | %s | %s %% | %s |\n' "$BACKEND" "$name" "$rps" "$p50" "$p99" "$cpu" "${errors:-0}"
}

bench_backend() {
  BACKEND="$1"
  local url; url=$(fresh_database "$BACKEND")
  start_server "$url"
  local idle; idle=$(rss_kib "$SERVER")
  prepare_account
  seed "$BACKEND" "$url"
  run_wrk "GET task by id" get.lua
  run_wrk "list, 2 filters" list.lua
  run_wrk "create task" create.lua
  run_wrk "PATCH task" patch.lua
  fixed_rate "GET task by id" "/api/v1/tasks/{id}" "${BENCH_HALF_RATE:-$([ "$BACKEND" = sqlite ] && echo 5000 || echo 2500)}"
  fixed_rate "list, 2 filters" "/api/v1/projects/1/tasks?status=todo&priority=high&sort=due_at" "${BENCH_LIST_RATE:-200}"
  scrape_times
  printf '| %s | idle RSS %s MiB, peak RSS %s MiB | | | | | |\n' "$BACKEND" "$((idle / 1024))" "$(($(hwm_kib "$SERVER") / 1024))"
  stop_server
  drop_database "$BACKEND"
}

# scrape_times: p50 and max of 200 scrapes of /metrics after the load (every series present).
scrape_times() {
  for _ in $(seq 1 200); do curl -s -o /dev/null -w '%{time_total}\n' "$BASE/metrics"; done | sort -n |
    awk '{a[NR]=$1} END {printf "| %s | /metrics scrape | | %.2fms | %.2fms (max) | | |\n", B, a[int(NR/2)]*1000, a[NR]*1000}' B="$BACKEND"
}

# fixed_rate NAME PATH RATE: open-loop latency at a fixed rate (coordinated omission avoided).
fixed_rate() {
  local out; out=$("$LOADGEN" "$BASE$2" "$3" "$SECS" "Authorization: Bearer $BENCH_TOKEN")
  local p50 p99 got errs
  p50=$(echo "$out" | sed -E 's/.*p50_ms=([0-9.]+).*/\1/'); p99=$(echo "$out" | sed -E 's/.*p99_ms=([0-9.]+).*/\1/')
  got=$(echo "$out" | sed -E 's/.*achieved_rate=([0-9]+).*/\1/'); errs=$(echo "$out" | sed -E 's/.*errors=([0-9]+).*/\1/')
  printf '| %s | %s at a fixed %s req/s | %s | %sms | %sms | | %s |\n' "$BACKEND" "$1" "$3" "$got" "$p50" "$p99" "$errs"
}

echo "| backend | operation | req/s | p50 | p99 | server CPU | non-2xx |"
echo "|---|---|---|---|---|---|---|"
case "$WHICH" in
  sqlite|postgres) bench_backend "$WHICH" ;;
  both) bench_backend sqlite; bench_backend postgres ;;
esac
rm -rf "$WORK"
