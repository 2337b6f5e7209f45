#!/usr/bin/env bash
# Instrumentation overhead: GET task by id on SQLite with traces exported at 100 %
# sampling to a reachable OTLP collector (rotel, discarding), against the same build
# with export off. Prints the two rows and the loss.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tools.sh
ensure_pymod rotel rotel
ROTEL=$(ls "$TM_VENV"/lib/python3*/site-packages/rotel/rotel-agent)
PORT=4417
"$ROTEL" start --otlp-grpc-endpoint 127.0.0.1:$PORT --otlp-http-endpoint 127.0.0.1:$((PORT + 1)) --exporter blackhole >/tmp/rotel.log 2>&1 &
ROTEL_PID=$!
trap 'kill $ROTEL_PID 2>/dev/null || true' EXIT
sleep 1
export BENCH_SECS="${1:-15}"
off=$(bench/run.sh sqlite "$BENCH_SECS" | grep "GET task by id |")
on=$(BENCH_SERVER_ENV="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$PORT OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_TRACES_SAMPLER=always_on" \
  bench/run.sh sqlite "$BENCH_SECS" | grep "GET task by id |")
echo "export off: $off"
echo "export on:  $on"
a=$(echo "$off" | awk -F'|' '{print $4}'); b=$(echo "$on" | awk -F'|' '{print $4}')
echo "throughput loss: $(echo "(1 - $b / $a) * 100" | bc -l | xargs printf '%.1f') %"
