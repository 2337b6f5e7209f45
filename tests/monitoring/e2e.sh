#!/usr/bin/env bash
# End-to-end check of the monitoring bundle against the real service binary.
#
#   TM_BIN=target/debug/task-manager tests/monitoring/e2e.sh
#
# Starts, all on 127.0.0.1 with free ports and in a temporary directory:
#   - the service on SQLite (namespace label e2e-sqlite) and a second instance on a
#     throwaway PostgreSQL database (namespace e2e-pg; server on 127.0.0.1:5432, user
#     postgres, trust auth; override with E2E_PG_ADMIN_URL);
#   - a webhook + SMTP sink, a real Alertmanager (test copy of the deployed config);
#   - a real Prometheus (scrape and evaluation every 1 s) with alerts/task-manager.rules.yml
#     and test-sized SLO rules from the generator (`generate --window-scale 1/30`: 1h → 2m).
# Then: scripted traffic with curl (status codes asserted); the PostgreSQL instance loses
# its database (ALTER ROLE ... NOLOGIN + pg_terminate_backend) so its API answers 503; the
# test-sized ApiAvailabilityBurnRatePage must fire in Prometheus, reach Alertmanager and be
# delivered to the pager webhook; every dashboard query about the service must return data
# (queries needing Kubernetes or chaos-runner metrics are skipped and listed);
# after the database comes back the page must clear.
#
# Prints PASS:/FAIL:/SKIP: lines and "N passed, M failed"; exit 1 when anything failed.
# Every wait is bounded; every process started here is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../../scripts/lib/tools.sh
source scripts/lib/tools.sh
# shellcheck source=lib/common.sh
source tests/monitoring/lib/common.sh

: "${TM_BIN:?set TM_BIN to the task-manager binary (e.g. target/debug/task-manager)}"
TM_BIN="$(cd "$(dirname "$TM_BIN")" && pwd)/$(basename "$TM_BIN")"
[ -x "$TM_BIN" ] || { echo "TM_BIN=$TM_BIN is not an executable" >&2; exit 2; }
PG_ADMIN="${E2E_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

ensure_apt promtool prometheus
ensure_apt prometheus-alertmanager prometheus-alertmanager
ensure_apt prometheus-blackbox-exporter prometheus-blackbox-exporter
ensure_apt prometheus-postgres-exporter prometheus-postgres-exporter
ensure_apt psql postgresql-client
ensure_pymod yaml pyyaml
ensure_pymod aiosmtpd aiosmtpd
ensure_pymod promql_parser promql-parser
PY="$TM_VENV/bin/python"

PASSED=0; FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
expect() { local what="$1"; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

TMP="$(mktemp -d /tmp/tm-e2e.XXXXXX)"
DB_NAME="tm_e2e_$$"
cleanup() {
  stop_all
  psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE);" -c "DROP ROLE IF EXISTS $DB_NAME;" >/dev/null 2>&1 || true
  if [ "$FAILED" -gt 0 ] && [ -z "${E2E_KEEP:-}" ]; then
    echo "--- logs (set E2E_KEEP=1 to keep $TMP)"; tail -n 15 "$TMP"/*.log 2>/dev/null || true
  fi
  [ -n "${E2E_KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

APP=$(free_port); APP_PG=$(free_port); PROM=$(free_port); AM=$(free_port); HOOK=$(free_port); SMTP=$(free_port); BBX=$(free_port); PGX=$(free_port)
echo "ports: sqlite app $APP, pg app $APP_PG, prometheus $PROM, alertmanager $AM, webhook $HOOK, smtp $SMTP; dir $TMP"

# --- rules: the project's cause alerts + test-sized SLO rules from the generator -------
mkdir -p "$TMP/rules"
cargo build -q -p task-manager-slo
"${CARGO_TARGET_DIR:-$ROOT/target}/debug/task-manager-slo" generate --window-scale 1/30 --out "$TMP/rules/slo.rules.yml" >/dev/null
cp alerts/task-manager.rules.yml "$TMP/rules/"
expect "test-sized SLO rules generated and valid" promtool check rules "$TMP/rules/slo.rules.yml" >/dev/null

# --- sink + Alertmanager -------------------------------------------------------------------
# The deployed routing (stack values, generated from alerts/alertmanager.yml), mutes off so
# the result does not depend on the hour.
"$PY" tests/monitoring/lib/test_config.py helm/kube-prometheus-stack-values.yaml "$TMP/am/alertmanager.yml" "$HOOK" "$SMTP" --mutes=never
start_bg "$TMP/sink.log" "$PY" tests/monitoring/lib/sink.py --http "$HOOK" --smtp "$SMTP" --out "$TMP/sink"
start_bg "$TMP/alertmanager.log" prometheus-alertmanager --config.file="$TMP/am/alertmanager.yml" \
  --storage.path="$TMP/am/data" --web.listen-address="127.0.0.1:$AM" --cluster.listen-address= --log.level=warn
wait_for 30 "alertmanager ready" curl -fsS "http://127.0.0.1:$AM/-/ready"

# --- the service: SQLite and PostgreSQL ----------------------------------------------------
start_bg "$TMP/app-sqlite.log" env TM_LISTEN="127.0.0.1:$APP" DATABASE_URL="sqlite://$TMP/tm.db" \
  TM_ENVIRONMENT=test TM_ZONE=e2e-a "$TM_BIN"
psql -q -v ON_ERROR_STOP=1 "$PG_ADMIN" -c "CREATE ROLE $DB_NAME LOGIN;" -c "CREATE DATABASE $DB_NAME OWNER $DB_NAME;" >/dev/null
start_bg "$TMP/app-pg.log" env TM_LISTEN="127.0.0.1:$APP_PG" DATABASE_URL="postgres://$DB_NAME@127.0.0.1:5432/$DB_NAME" \
  TM_ENVIRONMENT=test TM_ZONE=e2e-b TM_DB_ACQUIRE_TIMEOUT=2s "$TM_BIN"
expect "service on SQLite becomes ready" wait_for 60 "sqlite instance ready" curl -fsS "http://127.0.0.1:$APP/healthz/ready"
expect "service on PostgreSQL becomes ready" wait_for 60 "pg instance ready" curl -fsS "http://127.0.0.1:$APP_PG/healthz/ready"

# --- outside-in probe: the real blackbox exporter with the project's modules, probing the
#     SQLite instance's readiness and one authenticated read with a read-only API token ---
U="http://127.0.0.1:$APP"
curl -fsS -o /dev/null -H 'content-type: application/json' -d '{"email":"probe@example.com","password":"probe account password","display_name":"Probe"}' "$U/api/v1/auth/register"
curl -fsS -o /dev/null -c "$TMP/jar-probe" -H 'content-type: application/json' -d '{"email":"probe@example.com","password":"probe account password"}' "$U/api/v1/auth/login"
curl -fsS -b "$TMP/jar-probe" -H 'content-type: application/json' -d '{"name":"outside-in probe","scope":"read"}' "$U/api/v1/me/tokens" \
  | "$PY" -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["secret"])' >"$TMP/probe-token"
expect "a read-only API token for the probe account" test -s "$TMP/probe-token"
sed "s|/etc/blackbox-exporter/secrets/probe-token|$TMP/probe-token|" alerts/probes/blackbox.yml >"$TMP/blackbox.yml"
start_bg "$TMP/blackbox.log" prometheus-blackbox-exporter --config.file="$TMP/blackbox.yml" --web.listen-address="127.0.0.1:$BBX"
expect "blackbox exporter ready" wait_for 30 "blackbox ready" curl -fsS "http://127.0.0.1:$BBX/-/healthy"
probe_ok() { curl -fsS "http://127.0.0.1:$BBX/probe?module=$1&target=$2" | grep -q '^probe_success 1'; }
expect "the readiness probe succeeds" probe_ok task_manager_ready "$U/healthz/ready"
expect "the authenticated read probe succeeds" probe_ok task_manager_api_read "$U/api/v1/me"

# --- postgres_exporter against the real PostgreSQL server the pg instance uses ------------
start_bg "$TMP/postgres-exporter.log" env DATA_SOURCE_NAME="${PG_ADMIN}?sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address="127.0.0.1:$PGX" --extend.query-path=alerts/probes/postgres-exporter-queries.yaml
pg_exporter_up() { curl -fsS "http://127.0.0.1:$PGX/metrics" | grep -q '^pg_up 1'; }
expect "postgres_exporter reaches the server (pg_up 1)" wait_for 30 "postgres_exporter" pg_exporter_up

# --- Prometheus ----------------------------------------------------------------------------
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
  external_labels: {cluster: e2e}
rule_files:
  - $TMP/rules/*.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:$AM"]
scrape_configs:
  - job_name: task-manager
    static_configs:
      - targets: ["127.0.0.1:$APP"]
        labels: {namespace: e2e-sqlite, pod: task-manager-sqlite}
      - targets: ["127.0.0.1:$APP_PG"]
        labels: {namespace: e2e-pg, pod: task-manager-pg}
  - job_name: postgres-exporter
    static_configs:
      - targets: ["127.0.0.1:$PGX"]
        labels: {namespace: e2e-pg}
  # The outside-in probe, as in helm/kube-prometheus-stack-values.yaml (one job per module).
  - job_name: task-manager-probe
    metrics_path: /probe
    params: {module: [task_manager_ready]}
    static_configs:
      - targets: ["http://127.0.0.1:$APP/healthz/ready"]
        labels: {namespace: e2e-sqlite}
    relabel_configs: &probe_relabel
      - {source_labels: [__address__], target_label: __param_target}
      - {source_labels: [__param_target], target_label: instance}
      - {target_label: __address__, replacement: "127.0.0.1:$BBX"}
  - job_name: task-manager-probe-api
    metrics_path: /probe
    params: {module: [task_manager_api_read]}
    static_configs:
      - targets: ["http://127.0.0.1:$APP/api/v1/me"]
        labels: {namespace: e2e-sqlite}
    relabel_configs: *probe_relabel
    metric_relabel_configs:
      - {target_label: job, replacement: task-manager-probe}
EOF
expect "prometheus config valid" promtool check config "$TMP/prometheus.yml" >/dev/null
start_bg "$TMP/prometheus.log" prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom" \
  --web.listen-address="127.0.0.1:$PROM" --web.enable-lifecycle --rules.alert.resend-delay=2s --log.level=warn
PROM_URL="http://127.0.0.1:$PROM"
targets_up() { curl -fsS "$PROM_URL/api/v1/targets" | "$PY" -c 'import json,sys; t=json.load(sys.stdin)["data"]["activeTargets"]; sys.exit(0 if len(t)==5 and all(x["health"]=="up" for x in t) else 1)'; }
expect "prometheus scrapes both instances, both probes and postgres_exporter" wait_for 60 "targets up" targets_up

# promql QUERY: prints the number of series the instant query returns (-1 on error).
promql() { curl -fsS --get "$PROM_URL/api/v1/query" --data-urlencode "query=$1" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(len(d["data"]["result"]) if d.get("status")=="success" else -1)' 2>/dev/null || echo -1; }
has_data() { [ "$(promql "$1")" -gt 0 ]; }

# --- scripted traffic ---------------------------------------------------------------------
# code EXPECTED DESCRIPTION CURL-ARGS...: asserts the HTTP status of one request.
code() {
  local want="$1" what="$2"; shift 2
  local got
  got=$(curl -s -o "$TMP/body" -w '%{http_code}' "$@" || true)
  if [ "$got" = "$want" ]; then pass "$what -> $want"; else fail "$what -> $got, expected $want ($(head -c 200 "$TMP/body"))"; fi
}
J=(-H 'content-type: application/json')
for inst in "sqlite $APP" "pg $APP_PG"; do
  set -- $inst; name="$1"; U="http://127.0.0.1:$2"; jar="$TMP/jar-$name"
  code 200 "[$name] GET /healthz/live" "$U/healthz/live"
  code 200 "[$name] GET /healthz/ready" "$U/healthz/ready"
  code 401 "[$name] GET /api/v1/me without auth" "$U/api/v1/me"
  code 404 "[$name] GET an unknown URL" "$U/no/such/page"
  code 201 "[$name] POST /api/v1/auth/register" "${J[@]}" -d '{"email":"e2e@example.com","password":"correct horse battery","display_name":"E2E"}' "$U/api/v1/auth/register"
  code 200 "[$name] POST /api/v1/auth/login" -c "$jar" "${J[@]}" -d '{"email":"e2e@example.com","password":"correct horse battery"}' "$U/api/v1/auth/login"
  expect "[$name] login sets the session cookie" grep -q tm_session "$jar"
  code 200 "[$name] GET /api/v1/me with the session" -b "$jar" "$U/api/v1/me"
  code 201 "[$name] POST /api/v1/projects" -b "$jar" "${J[@]}" -d '{"name":"E2E project"}' "$U/api/v1/projects"
  pid=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/body" 2>/dev/null || echo 1)
  code 201 "[$name] POST /api/v1/projects/{id}/tasks" -b "$jar" "${J[@]}" -d '{"title":"E2E task"}' "$U/api/v1/projects/$pid/tasks"
  code 200 "[$name] GET /api/v1/projects" -b "$jar" "$U/api/v1/projects"
  code 200 "[$name] GET /api/v1/projects/{id}/tasks" -b "$jar" "$U/api/v1/projects/$pid/tasks"
  code 200 "[$name] GET /api/v1/me/tasks" -b "$jar" "$U/api/v1/me/tasks"
done

# Steady background traffic on both instances (about 10 API requests per second each).
traffic() {
  local U="$1" jar="$2"
  while true; do
    curl -s -o /dev/null -b "$jar" "$U/api/v1/me" || true
    curl -s -o /dev/null -b "$jar" "$U/api/v1/projects" || true
    curl -s -o /dev/null "$U/no/such/page" || true
    sleep 0.2
  done
}
start_bg "$TMP/traffic-sqlite.log" traffic "http://127.0.0.1:$APP" "$TMP/jar-sqlite"
start_bg "$TMP/traffic-pg.log" traffic "http://127.0.0.1:$APP_PG" "$TMP/jar-pg"

expect "SLO recording rules produce data" wait_for 60 "slo:sli_total:rate5m" has_data 'slo:sli_total:rate5m{slo="api-availability",namespace="e2e-pg"}'
expect "scheduled job metrics appear (metrics_refresh runs every 30 s)" wait_for 75 "job runs" \
  has_data 'task_manager_job_last_success_timestamp_seconds{job="task-manager",exported_job="metrics_refresh"} > 0'
expect "the outside-in probe SLO has data (both probes, namespace e2e-sqlite)" wait_for 60 "probe SLI" \
  has_data 'slo:sli_total:rate5m{slo="probe-availability",namespace="e2e-sqlite"} > 0'
expect "the database alerts have data: pg_up and the connection ratio" wait_for 30 "pg data" has_data \
  'sum by (namespace, instance) (pg_stat_activity_count{job="postgres-exporter"}) / max by (namespace, instance) (pg_settings_max_connections{job="postgres-exporter"}) > 0'
expect "postgres_exporter reports the server's start time (restart/failover alert)" has_data 'pg_postmaster_start_time_seconds{job="postgres-exporter"} > 0'
expect "postgres_exporter sees the server up" test "$(promql 'pg_up{job="postgres-exporter",namespace="e2e-pg"} == 1')" = 1
expect "every probe succeeds" test "$(promql 'probe_success{job="task-manager-probe"} == 1')" = 2
# no_burn_rate_alert: none pending or firing; otherwise names them and the SLI ratios behind them.
no_burn_rate_alert() {
  local q='ALERTS{alertname=~".*BurnRate(Page|Ticket)"}'
  [ "$(promql "$q")" = 0 ] && return 0
  curl -fsS --get "$PROM_URL/api/v1/query" --data-urlencode "query=$q"; echo
  curl -fsS --get "$PROM_URL/api/v1/query" --data-urlencode 'query=slo:sli_error:ratio_rate5m > 0'; echo
  return 1
}
expect "no SLO alert while healthy" no_burn_rate_alert

# --- fault: the PostgreSQL instance loses its database -----------------------------------
psql -q "$PG_ADMIN" -c "ALTER ROLE $DB_NAME NOLOGIN;" \
  -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '$DB_NAME';" >/dev/null
api_5xx() { curl -s -o /dev/null -w '%{http_code}' -b "$TMP/jar-pg" "http://127.0.0.1:$APP_PG/api/v1/projects" >"$TMP/code"; grep -q '^5' "$TMP/code"; }
expect "API answers 5xx without its database" wait_for 30 "5xx from the pg instance" api_5xx
[ "$(cat "$TMP/code")" = 503 ] || echo "NOTE: the API answered $(cat "$TMP/code") (not 503) when the database refused the connection"

firing() { [ "$(promql "ALERTS{alertname=\"ApiAvailabilityBurnRatePage\",alertstate=\"firing\",namespace=\"e2e-pg\"}")" -gt 0 ]; }
expect "test-sized ApiAvailabilityBurnRatePage fires in Prometheus (namespace e2e-pg)" wait_for 120 "page firing" firing
in_am() { curl -fsS "http://127.0.0.1:$AM/api/v2/alerts?filter=alertname=%22ApiAvailabilityBurnRatePage%22" | grep -q '"namespace":"e2e-pg"'; }
expect "the page reaches Alertmanager" wait_for 60 "page in alertmanager" in_am
with_cluster() { curl -fsS "http://127.0.0.1:$AM/api/v2/alerts?filter=alertname=%22ApiAvailabilityBurnRatePage%22" | grep -q '"cluster":"e2e"'; }
expect "the alert carries the cluster label (Prometheus external label)" with_cluster
delivered() { grep -s '"path": "/pager"' "$TMP/sink/webhook.jsonl" | grep -q ApiAvailabilityBurnRatePage; }
expect "Alertmanager delivers the page to the pager webhook" wait_for 60 "webhook delivery" delivered
mailed() { grep -s oncall@ "$TMP/sink/mail.jsonl" | grep -q ApiAvailabilityBurnRatePage; }
expect "Alertmanager e-mails the page to on-call" wait_for 60 "page e-mail" mailed
expect "the probe SLO of the healthy SQLite instance does not page" test "$(promql 'ALERTS{alertname="ProbeAvailabilityBurnRatePage"}')" = 0
expect "the healthy SQLite instance does not page" test "$(promql 'ALERTS{alertname="ApiAvailabilityBurnRatePage",namespace="e2e-sqlite"}')" = 0
expect "the Watchdog heartbeat is delivered" wait_for 30 "watchdog" grep -qs '"/heartbeat"' "$TMP/sink/webhook.jsonl"

# --- every dashboard query about the service returns data (while the fault is on, so the
#     5xx and SLO-alert panels have something to show) ------------------------------------
"$PY" tests/monitoring/check_bundle.py queries >"$TMP/queries.jsonl"
while IFS= read -r line; do
  dash=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["dashboard"])' "$line")
  title=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["title"])' "$line")
  expr=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["expr"])' "$line")
  skip=$("$PY" -c 'import json,sys; print(", ".join(json.loads(sys.argv[1])["skip"]))' "$line")
  if [ -n "$skip" ]; then
    echo "SKIP: $dash / $title: needs $skip (not exported by the binary under test)"
  elif [[ "$title" == annotation* ]]; then
    # Annotations mark events (deployments); empty is a valid answer, an error is not.
    n=$(promql "$expr"); if [ "$n" -ge 0 ]; then pass "$dash / $title evaluates"; else fail "$dash / $title: query error: $expr"; fi
  else
    n=$(promql "$expr"); if [ "$n" -gt 0 ]; then pass "$dash / $title returns data"; else fail "$dash / $title returns no data: $expr"; fi
  fi
done <"$TMP/queries.jsonl"

# --- recovery: the database comes back, the page clears ----------------------------------
psql -q "$PG_ADMIN" -c "ALTER ROLE $DB_NAME LOGIN;" >/dev/null
expect "the service recovers by itself (ready again)" wait_for 60 "pg instance ready" curl -fsS "http://127.0.0.1:$APP_PG/healthz/ready"
not_firing() { ! firing; }
expect "the page clears after recovery (short window)" wait_for 120 "page resolved" not_firing

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
