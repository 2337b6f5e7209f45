#!/usr/bin/env bash
# Load benchmark of task-manager: GET by id, filtered list, create and PATCH, on SQLite
# and PostgreSQL with 100 000 tasks, the load generator (wrk) on the same machine.
# Prints a Markdown table for docs/benchmarks.md. Loopback only.
#
#   bench/run.sh [sqlite|postgres|both] [seconds]
#
# Env: BENCH_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres),
#      BENCH_CONNECTIONS (default 32), BENCH_THREADS (default 2),
#      BENCH_EXPORT=1 also exports spans to a local OTLP sink (instrumentation overhead).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
ensure_apt wrk wrk
ensure_apt sqlite3 sqlite3
ensure_apt psql postgresql-client

WHICH="${1:-both}"
SECS="${2:-15}"
CONNS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
PG_ADMIN="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
TASKS=100000
export BENCH_TASKS=$TASKS

cargo build --release --locked --bin task-manager >&2
cargo build --release --locked -p task-manager-loadgen >&2
BIN="${CARGO_TARGET_DIR:-target}/release/task-manager"
WORK=$(mktemp -d)
PORT=18181
BASE="http://127.0.0.1:$PORT"

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/VmHWM/{print $2}' "/proc/$1/status"; }

start_server() {
  local url="$1"
  env ${BENCH_SERVER_ENV:-} DATABASE_URL="$url" TM_LISTEN="127.0.0.1:$PORT" TM_LOG_LEVEL=warn TM_LOG_FORMAT=json \
    TM_SCHEDULE_METRICS_REFRESH="" TM_SCHEDULE_CLEANUP="" "$BIN" serve 2>"$WORK/server.log" &
  SERVER=$!
  for _ in $(seq 1 100); do curl -fs "$BASE/healthz/ready" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "server did not start" >&2; cat "$WORK/server.log" >&2; exit 1
}

api() { curl -fsS -H 'content-type: application/json' "$@"; }

prepare_account() {
  api -X POST "$BASE/api/v1/auth/register" -d '{"email":"bench@example.com","password":"benchmark password","display_name":"Bench"}' >/dev/null
  api -c "$WORK/cj" -X POST "$BASE/api/v1/auth/login" -d '{"email":"bench@example.com","password":"benchmark password"}' >/dev/null
  api -b "$WORK/cj" -X POST "$BASE/api/v1/projects" -d '{"name":"Benchmark"}' >/dev/null
  BENCH_TOKEN=$(api -b "$WORK/cj" -X POST "$BASE/api/v1/me/tokens" -d '{"name":"bench","scope":"read_write"}' | sed -E 's/.*"secret":"([^"]+)".*/\1/')
  export BENCH_TOKEN BENCH_PROJECT=1
}

# The seed: 100 000 tasks in project 1, statuses and priorities spread evenly, due dates
# over a year, positions distinct keys.
SEED_SELECT="select 1, 'seeded task ' || i, 'description of task ' || i,
  case i % 4 when 0 then 'todo' when 1 then 'in_progress' when 2 then 'blocked' else 'done' end,
  (i / 4) % 4, 1767225600000 + cast(i % 365 as bigint) * 86400000, 'V' || i || 'V', 1, 1767225600000, 1767225600000, 1,
  'seeded task ' || i || char(10) || 'description of task ' || i"
SEED_INSERT="insert into task (project_id, title, description, status, priority, due_at, position, created_by, created_at, updated_at, version, search_text)"

seed_sqlite() {
  sqlite3 "$1" "pragma journal_mode=wal; with recursive n(i) as (select 1 union all select i + 1 from n where i < $TASKS) $SEED_INSERT $SEED_SELECT from n; analyze;"
}
seed_postgres() {
  psql -q "$1" -c "$SEED_INSERT ${SEED_SELECT//char(10)/chr(10)} from generate_series(1, $TASKS) as i; analyze;"
}

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
  local url
  if [ "$BACKEND" = sqlite ]; then
    url="sqlite://$WORK/bench.db"
  else
    local db="tm_bench_$$"
    psql -q "$PG_ADMIN" -c "drop database if exists $db" -c "create database $db"
    url="${PG_ADMIN%/*}/$db"
  fi
  start_server "$url"
  local idle; idle=$(rss_kib "$SERVER")
  prepare_account
  if [ "$BACKEND" = sqlite ]; then seed_sqlite "$WORK/bench.db"; else seed_postgres "$url"; fi
  run_wrk "GET task by id" get.lua
  run_wrk "list, 2 filters" list.lua
  run_wrk "create task" create.lua
  run_wrk "PATCH task" patch.lua
  fixed_rate "GET task by id" "/api/v1/tasks/{id}" "${BENCH_HALF_RATE:-$([ "$BACKEND" = sqlite ] && echo 5000 || echo 2500)}"
  fixed_rate "list, 2 filters" "/api/v1/projects/1/tasks?status=todo&priority=high&sort=due_at" "${BENCH_LIST_RATE:-200}"
  scrape_times
  printf '| %s | idle RSS %s MiB, peak RSS %s MiB | | | | | |\n' "$BACKEND" "$((idle / 1024))" "$(($(hwm_kib "$SERVER") / 1024))"
  kill "$SERVER"; wait "$SERVER" || true
  if [ "$BACKEND" = postgres ]; then psql -q "$PG_ADMIN" -c "drop database if exists tm_bench_$$"; fi
}

# scrape_times: p50 and max of 200 scrapes of /metrics after the load (every series present).
scrape_times() {
  for _ in $(seq 1 200); do curl -s -o /dev/null -w '%{time_total}\n' "$BASE/metrics"; done | sort -n |
    awk '{a[NR]=$1} END {printf "| %s | /metrics scrape | | %.2fms | %.2fms (max) | | |\n", B, a[int(NR/2)]*1000, a[NR]*1000}' B="$BACKEND"
}

# fixed_rate NAME PATH RATE: open-loop latency at a fixed rate (coordinated omission avoided).
fixed_rate() {
  local out; out=$("${CARGO_TARGET_DIR:-target}/release/task-manager-loadgen" "$BASE$2" "$3" "$SECS" "Authorization: Bearer $BENCH_TOKEN")
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
