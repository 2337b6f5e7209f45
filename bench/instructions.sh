#!/usr/bin/env bash
# Instructions the service executes per request, counted by callgrind over a fixed
# number of sequential requests on one keep-alive connection. Unlike throughput, the
# count does not depend on what else the machine runs, so it judges an optimisation
# on a shared machine. Same seed as bench/run.sh (100 000 tasks).
#
#   bench/instructions.sh [sqlite|postgres] [requests] [get|list]
#   BENCH_EXPORT=off|on bench/instructions.sh ...
#
# BENCH_EXPORT counts with spans (`info`): `off` creates them without an exporter, `on`
# exports every one (always_on sampler) over OTLP/gRPC to a local rotel collector, so
# the difference of the two is the cost of span export, exporter thread included.
#
# Prints instructions per request (the whole server process: HTTP, handlers, sqlx
# and, on SQLite, the database engine; PostgreSQL's own work is not counted) and
# keeps the profile in bench/out/ for `callgrind_annotate --inclusive=yes`.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ensure_apt valgrind valgrind

BACKEND="${1:-sqlite}"
N="${2:-2000}"
WHAT="${3:-get}"
build_release
if [ -n "${BENCH_EXPORT:-}" ]; then
  export BENCH_LOG_LEVEL="$SPANS_ON"
  if [ "$BENCH_EXPORT" = on ]; then
    ensure_pymod rotel rotel
    OTLP_PORT="${BENCH_OTLP_PORT:-4417}"
    ROTEL=$(ls "$TM_VENV"/lib/python3*/site-packages/rotel/rotel-agent)
    "$ROTEL" start --otlp-grpc-endpoint "127.0.0.1:$OTLP_PORT" --otlp-http-endpoint "127.0.0.1:$((OTLP_PORT + 1))" \
      --exporter blackhole >"$WORK/rotel.out" 2>&1 &
    ROTEL_PID=$!
    trap 'kill $ROTEL_PID 2>/dev/null || true' EXIT
    export BENCH_SERVER_ENV="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_PORT OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_TRACES_SAMPLER=always_on"
  fi
fi
OUT="bench/out"
mkdir -p "$OUT"
PROFILE="$OUT/callgrind.$BACKEND.$WHAT${BENCH_EXPORT:+.spans-$BENCH_EXPORT}"
rm -f "$PROFILE"*

url=$(fresh_database "$BACKEND")
start_server "$url" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$PROFILE"
prepare_account
seed "$BACKEND" "$url"

# requests FILE COUNT: a curl config of COUNT requests (ids spread over the seed).
requests() {
  for i in $(seq 1 "$2"); do
    if [ "$WHAT" = get ]; then
      echo "url = \"$BASE/api/v1/tasks/$(( (i * 7919) % TASKS + 1 ))\""
    else
      echo "url = \"$BASE/api/v1/projects/1/tasks?status=todo&priority=high&sort=due_at\""
    fi
    echo 'output = "/dev/null"'
  done >"$1"
}
send() {
  curl -s -H "Authorization: Bearer $BENCH_TOKEN" -w '%{http_code}\n' -K "$1" | sort | uniq -c | awk '$2 != 200 {bad = 1} END {exit bad}' ||
    { echo "non-200 answers" >&2; exit 1; }
}
requests "$WORK/warm" 200
requests "$WORK/measure" "$N"

callgrind_control -i on "$SERVER" >/dev/null
send "$WORK/warm"
callgrind_control -z "$SERVER" >/dev/null
send "$WORK/measure"
callgrind_control -d "$SERVER" >/dev/null
stop_server
dump=$(ls -t "$PROFILE".* | head -1)
total=$(awk '/^(summary|totals):/{print $2; exit}' "$dump")

# The same requests without valgrind: context switches (each query handed to another
# thread costs some, which instruction counts do not show) and CPU time (noisy).
ctx_switches() { cat /proc/"$SERVER"/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'; }
start_server "$url"
send "$WORK/warm"
c0=$(ctx_switches); t0=$(cpu_ticks "$SERVER")
send "$WORK/measure"
c1=$(ctx_switches); t1=$(cpu_ticks "$SERVER")
stop_server
drop_database "$BACKEND"

echo "$BACKEND $WHAT: $N requests, $total instructions, $((total / N)) per request (profile: $dump)"
echo "$BACKEND $WHAT: $(( (c1 - c0) * 10 / N )) context switches per 10 requests," \
  "$(( (t1 - t0) * 1000000 / $(getconf CLK_TCK) / N )) µs CPU per request (without valgrind; CPU time is noisy)"
rm -rf "$WORK"
