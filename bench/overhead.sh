#!/usr/bin/env bash
# Instrumentation overhead on GET task by id (SQLite, 100 000 tasks): the same release
# build with span export off and on (OTEL_TRACES_SAMPLER=always_on, OTLP/gRPC to a local
# rotel collector that discards what it receives).
#
#   bench/overhead.sh [seconds per run] [pairs]
#
# Runs PAIRS off/on pairs, interleaved (off then on, then on then off, ...) so that a
# drift of a shared machine falls on both sides, and reports the median throughput of
# each side and the loss of each pair (median, min and max). Each "on" run is checked:
# every span the service created (one per HTTP request and one per database operation,
# from its own counters) must have reached the collector (counted from the collector's
# log) or be counted by the service as dropped; the script fails otherwise, or when the
# collector received nothing. The share received is reported: at saturation the export
# queue overflows and drops spans by design, which understates the cost of exporting.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ensure_apt wrk wrk
ensure_pymod rotel rotel

SECS="${1:-15}"
PAIRS="${2:-5}"
OTLP_PORT="${BENCH_OTLP_PORT:-4417}"
build_release

ROTEL=$(ls "$TM_VENV"/lib/python3*/site-packages/rotel/rotel-agent)
"$ROTEL" start --otlp-grpc-endpoint "127.0.0.1:$OTLP_PORT" --otlp-http-endpoint "127.0.0.1:$((OTLP_PORT + 1))" \
  --exporter blackhole --debug-log traces --log-file "$WORK/rotel.log" --pid-file "$WORK/rotel.pid" \
  >"$WORK/rotel.out" 2>&1 &
ROTEL_PID=$!
trap 'kill $ROTEL_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 50); do grep -q "Starting Rotel" "$WORK/rotel.out" 2>/dev/null && break; sleep 0.1; done

# The collector logs one line per export it receives: "Received traces. ... spans=N".
received_spans() {
  sed 's/\x1b\[[0-9;]*m//g' "$WORK/rotel.out" |
    awk '/Received traces/ && match($0, / spans=[0-9]+/) {n += substr($0, RSTART + 7, RLENGTH - 7)} END {print n + 0}'
}

# Spans the service created so far: HTTP requests plus database operations.
created_spans() {
  curl -fsS "$BASE/metrics" | awk '
    /^http_server_requests_total\{/ {n += $NF}
    /^db_client_operation_duration_seconds_count\{/ {n += $NF}
    END {printf "%d", n}'
}

dropped_spans() {
  curl -fsS "$BASE/metrics" | awk '/^task_manager_otel_spans_dropped_total / {printf "%d", $2}'
}

# Spans are `info`: both sides create them (the access log stays off); only export differs.
export BENCH_LOG_LEVEL="$SPANS_ON"
url=$(fresh_database sqlite)
start_server "$url"
prepare_account
seed sqlite "$url"
stop_server

ON_ENV="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_PORT OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_TRACES_SAMPLER=always_on"

# run MODE: one measurement; prints "req/s cpu%" and checks the export when on.
run() {
  local mode="$1" before_rx
  before_rx=$(received_spans)
  if [ "$mode" = on ]; then BENCH_SERVER_ENV="$ON_ENV" start_server "$url"; else BENCH_SERVER_ENV="" start_server "$url"; fi
  local t0; t0=$(cpu_ticks "$SERVER")
  local out; out=$(wrk -t2 -c32 -d"${SECS}s" -s bench/get.lua "$BASE" 2>&1)
  local t1; t1=$(cpu_ticks "$SERVER")
  local rps; rps=$(echo "$out" | awk '/Requests\/sec/{printf "%d", $2}')
  local cpu; cpu=$(echo "($t1 - $t0) / $(getconf CLK_TCK) / $SECS * 100" | bc -l | xargs printf '%.0f')
  if [ "$mode" = on ]; then
    local created dropped rx
    created=$(created_spans)
    dropped=$(dropped_spans)
    stop_server # flushes what is still queued
    for _ in $(seq 1 50); do
      rx=$(($(received_spans) - before_rx))
      [ $((rx + dropped)) -ge "$created" ] && break
      sleep 0.2
    done
    echo "  on: $rps req/s, service created $created spans, collector received $rx, service dropped $dropped" >&2
    if [ "$rx" -eq 0 ] || [ $((rx + dropped)) -lt "$created" ]; then
      echo "FATAL: spans were neither received by the collector nor counted as dropped" >&2
      exit 1
    fi
    echo "$rx $dropped $created" >>"$WORK/spans"
  else
    stop_server
    echo "  off: $rps req/s" >&2
  fi
  echo "$rps $cpu"
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

offs=() ons=() losses=() cpu_off=() cpu_on=()
for i in $(seq 1 "$PAIRS"); do
  if [ $((i % 2)) -eq 1 ]; then order="off on"; else order="on off"; fi
  for mode in $order; do
    run "$mode" >"$WORK/run"
    read -r rps cpu <"$WORK/run"
    if [ "$mode" = off ]; then off=$rps; cpu_off+=("$cpu"); else on=$rps; cpu_on+=("$cpu"); fi
  done
  offs+=("$off"); ons+=("$on")
  losses+=("$(echo "(1 - $on / $off) * 100" | bc -l | xargs printf '%.1f')")
done

echo "| export | runs | req/s (median) | req/s (min–max) | server CPU (median) |"
echo "|---|---|---|---|---|"
for side in off on; do
  if [ "$side" = off ]; then vals=("${offs[@]}"); cpus=("${cpu_off[@]}"); else vals=("${ons[@]}"); cpus=("${cpu_on[@]}"); fi
  lo=$(printf '%s\n' "${vals[@]}" | sort -n | head -1); hi=$(printf '%s\n' "${vals[@]}" | sort -n | tail -1)
  printf '| %s | %s | %s | %s–%s | %s %% |\n' "$side" "$PAIRS" "$(printf '%s\n' "${vals[@]}" | median)" "$lo" "$hi" \
    "$(printf '%s\n' "${cpus[@]}" | median)"
done
echo
awk '{rx += $1; dropped += $2; created += $3}
  END {printf "spans: the service created %d in the runs with export, the collector received %d (%.1f %%), %d were dropped (queue full)\n",
    created, rx, 100 * rx / created, dropped}' "$WORK/spans"
echo "per-pair loss (%): ${losses[*]}"
printf 'throughput loss: median %s %%, min %s %%, max %s %%\n' "$(printf '%s\n' "${losses[@]}" | median)" \
  "$(printf '%s\n' "${losses[@]}" | sort -n | head -1)" "$(printf '%s\n' "${losses[@]}" | sort -n | tail -1)"
