#!/usr/bin/env bash
# Checks the monitoring bundle: SLO specs and their generator, Prometheus rules and their
# unit tests, Alertmanager routing/inhibition/templates (with a real Alertmanager),
# runbooks, dashboards and docs. Installs what it needs (idempotent).
#
#   tests/monitoring/run.sh                  # builds the service and runs everything
#   TM_BIN=target/debug/task-manager tests/monitoring/run.sh   # against a given binary
#
# Last line: "N passed, M failed". Exit status 1 when anything failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../../scripts/lib/tools.sh
source scripts/lib/tools.sh
# shellcheck source=lib/common.sh
source tests/monitoring/lib/common.sh

ensure_apt promtool prometheus
ensure_apt prometheus-alertmanager prometheus-alertmanager
ensure_pymod promql_parser promql-parser
ensure_pymod yaml pyyaml
ensure_pymod aiosmtpd aiosmtpd
PY="$TM_VENV/bin/python"

PASSED=0
FAILED=0
FAILURES=()
TMP="$(mktemp -d)"
trap 'stop_all; rm -rf "$TMP"' EXIT

# check NAME CMD...: one check; output shown only when it fails.
check() {
  local name="$1"; shift
  if "$@" >"$TMP/out" 2>&1; then
    PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$name"
  else
    FAILED=$((FAILED + 1)); FAILURES+=("$name"); printf 'FAIL  %s\n' "$name"
    sed 's/^/      /' "$TMP/out" | grep -v '^      PASS: ' | tail -40
  fi
}

# check_fails NAME PATTERN CMD...: one check that passes when CMD fails and its output
# matches PATTERN (proves a test can fail, and for the expected reason).
check_fails() {
  local name="$1" pattern="$2"; shift 2
  if "$@" >"$TMP/out" 2>&1; then
    FAILED=$((FAILED + 1)); FAILURES+=("$name"); printf 'FAIL  %s (expected a failure, got success)\n' "$name"
  elif grep -qE -- "$pattern" "$TMP/out"; then
    PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$name"
  else
    FAILED=$((FAILED + 1)); FAILURES+=("$name"); printf 'FAIL  %s (failed, but not with /%s/)\n' "$name" "$pattern"
    sed 's/^/      /' "$TMP/out" | tail -20
  fi
}

# check_each NAME CMD...: CMD prints PASS:/FAIL: lines; each line counts as one check.
check_each() {
  local name="$1"; shift
  local rc=0
  "$@" >"$TMP/out" 2>&1 || rc=$?
  local p f
  p=$(grep -c '^PASS: ' "$TMP/out" || true)
  f=$(grep -c '^FAIL: ' "$TMP/out" || true)
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
  grep -E '^(PASS|FAIL): ' "$TMP/out" | sed "s/^PASS: /ok    $name: /; s/^FAIL: /FAIL  $name: /" || true
  if [ "$f" -gt 0 ]; then
    FAILURES+=("$name")
    grep -vE '^(PASS|FAIL): ' "$TMP/out" | sed 's/^/      /' | tail -40
  fi
}

echo "== SLO generator (slo/generator)"
check "cargo build -p task-manager-slo" cargo build -q -p task-manager-slo
check "cargo test -p task-manager-slo (unit tests)" cargo test -q -p task-manager-slo
SLO_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/task-manager-slo"
check "generated alerts/slo.rules.yml is up to date (task-manager-slo check)" "$SLO_BIN" check
cp alerts/slo.rules.yml "$TMP/slo.rules.yml.orig"
sed 's/(14.4 \* 0.001)/(14 * 0.001)/' "$TMP/slo.rules.yml.orig" >"$TMP/stale.yml"
check_fails "task-manager-slo check fails on a hand-edited (stale) rule file" "is stale" "$SLO_BIN" check --out "$TMP/stale.yml"
check "test-sized rules (generate --window-scale 1/30) pass promtool" \
  bash -c "'$SLO_BIN' generate --window-scale 1/30 --out '$TMP/scaled/slo.rules.yml' && promtool check rules '$TMP/scaled/slo.rules.yml' && grep -q 'rate1h' '$TMP/scaled/slo.rules.yml' && ! grep -q '\[1h\]' '$TMP/scaled/slo.rules.yml'"

echo "== Prometheus rules"
for f in alerts/*.yml; do
  [ "$(basename "$f")" = alertmanager.yml ] && continue
  check "promtool check rules $f" promtool check rules "$f"
done
for t in tests/monitoring/rules/*.test.yml; do
  check "promtool test rules $t" promtool test rules "$t"
done
# The tests must be able to fail: without the relative traffic guard the quiet hour pages.
mkdir -p "$TMP/mut/alerts" "$TMP/mut/tests/monitoring/rules"
"$PY" - "$ROOT/alerts/slo.rules.yml" "$TMP/mut/alerts/slo.rules.yml" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
# drop the "and slo:sli_bad:rate<w>{...} >= (<burn> * <budget>) * slo:sli_total:rate<period>{...}" guards
text, n = re.subn(r"\n\s*and\n\s*slo:sli_bad:rate\w+\{[^}]*\} >= \([^)]*\) \* slo:sli_total:rate\w+\{[^}]*\},", ",", text)
assert n, "no traffic guard found to remove"
open(sys.argv[2], "w").write(text)
EOF
cp tests/monitoring/rules/slo-api-availability.test.yml "$TMP/mut/tests/monitoring/rules/"
check_fails "rule tests catch a missing relative traffic guard" "a few errors in a quiet hour of a busy service do not page" \
  promtool test rules "$TMP/mut/tests/monitoring/rules/slo-api-availability.test.yml"
sed 's/(14.4 \* 0.001)/(1.44 * 0.001)/g' alerts/slo.rules.yml >"$TMP/mut/alerts/slo.rules.yml"
check_fails "rule tests catch a wrong burn-rate threshold" "2% errors for an hour pages" \
  promtool test rules "$TMP/mut/tests/monitoring/rules/slo-api-availability.test.yml"
check "every alert has a firing and a quiet rule test with rendered annotations" "$PY" tests/monitoring/check_bundle.py coverage
check "alert labels and annotations follow the conventions (severity, service, runbook_url, dashboard_url, for)" "$PY" tests/monitoring/check_bundle.py alerts

echo "== Alertmanager"
check "amtool check-config alerts/alertmanager.yml" amtool check-config alerts/alertmanager.yml
for tmpl in tm.subject tm.email.text tm.email.html; do
  check "template $tmpl renders" amtool template render --template.glob='alerts/templates/*.tmpl' --template.text="{{ template \"$tmpl\" . }}"
done
route() { amtool config routes test --config.file=alerts/alertmanager.yml "$@"; }
check "route: severity=page -> pager" route --verify.receivers=pager alertname=ApiAvailabilityBurnRatePage severity=page service=task-manager slo=api-availability
check "route: severity=ticket -> ticket" route --verify.receivers=ticket alertname=TaskManagerJobFailing severity=ticket service=task-manager
check "route: Watchdog -> heartbeat" route --verify.receivers=heartbeat alertname=Watchdog severity=info service=task-manager
check "route: unknown severity falls back to ticket" route --verify.receivers=ticket alertname=Other service=task-manager
check_fails "route: a ticket never goes to the pager" "did not match" route --verify.receivers=pager alertname=TaskManagerJobFailing severity=ticket service=task-manager
check "the deployed Alertmanager config (stack values) is generated from alerts/alertmanager.yml" scripts/sync-chart-monitoring.sh --check
check "amtool check-config on the deployed copy" bash -c "'$PY' tests/monitoring/lib/test_config.py helm/kube-prometheus-stack-values.yaml '$TMP/deployed/am.yml' 1 2 && amtool check-config '$TMP/deployed/am.yml'"
check "Prometheus puts a cluster label on every alert (externalLabels.cluster in the stack values)" "$PY" -c "
import yaml; d = yaml.safe_load(open('helm/kube-prometheus-stack-values.yaml'))
assert d['prometheus']['prometheusSpec']['externalLabels']['cluster']"
check "Prometheus retention covers every SLO window plus 5 days (stack values)" "$PY" -c "
import glob, re, yaml
unit = {'d': 86400, 'h': 3600, 'w': 604800}
secs = lambda s: int(s[:-1]) * unit[s[-1]]
ret = yaml.safe_load(open('helm/kube-prometheus-stack-values.yaml'))['prometheus']['prometheusSpec']['retention']
windows = [secs(d['spec']['timeWindow'][0]['duration']) for f in glob.glob('slo/*.yaml')
           for d in yaml.safe_load_all(open(f)) if d['kind'] == 'SLO']
assert windows and secs(ret) >= max(windows) + 5 * 86400, (ret, max(windows))"
check_each "alertmanager live" "$PY" tests/monitoring/lib/alertmanager_live.py "$ROOT"
# The live test must catch the mistakes it exists for, in the deployed copy.
mut_am() { # NAME PATTERN SED-EXPR: the live test fails on the stack values changed by SED-EXPR
  sed "$3" helm/kube-prometheus-stack-values.yaml >"$TMP/mut-stack.yaml"
  check_fails "alertmanager live catches $1" "$2" "$PY" tests/monitoring/lib/alertmanager_live.py "$ROOT" "$TMP/mut-stack.yaml"
}
mut_am "inhibition across namespaces (equal: [service])" "FAIL: staging's TaskManagerDown inhibits nothing in production" \
  's/      equal: \[service, cluster, namespace\]/      equal: [service]/'
mut_am "inhibition across clusters" "FAIL: \.\.\. and never another cluster" 's/      equal: \[service, cluster\]$/      equal: [service]/'
mut_am "grouping across namespaces" "FAIL: every webhook notification holds alerts of one cluster and namespace" \
  's/  group_by: \[alertname, service, cluster, namespace\]/  group_by: [alertname, service]/'
mut_am "a heartbeat any Watchdog satisfies" "FAIL: another Watchdog" "s/matchers: \['alertname=\"Watchdog\"', 'service=\"task-manager\"'\]/matchers: ['alertname=\"Watchdog\"']/"
mut_am "tickets without a mute interval" "FAIL: tickets are muted" '/mute_time_intervals: \[outside-business-hours\]/d'

echo "== Runbooks, dashboards, docs"
check "one runbook per alert with Meaning/Impact/Diagnosis/Mitigation/Escalation" "$PY" tests/monitoring/check_bundle.py runbooks
check "dashboards: conventions, PromQL parses, metrics known" "$PY" tests/monitoring/check_bundle.py dashboards
check "dashboards pass the Grafana dashboard linter's target rules (exclusions: tests/monitoring/dashboard-lint-exclusions.yaml)" "$PY" tests/monitoring/check_bundle.py lint
check "dashboards/provisioning is a Grafana file provider" "$PY" -c "
import yaml; d = yaml.safe_load(open('dashboards/provisioning/task-manager.yaml'))
assert d['apiVersion'] == 1 and d['providers'][0]['type'] == 'file' and d['providers'][0]['options']['path']"
check "docs/monitoring.md lists external metrics and alerts" "$PY" tests/monitoring/check_bundle.py docs
check "slo/*.yaml are OpenSLO v1 documents (one condition per AlertPolicy)" "$PY" -c "
import glob, yaml
for f in glob.glob('slo/*.yaml'):
    for d in yaml.safe_load_all(open(f)):
        assert d['apiVersion'] == 'openslo/v1', f
        assert d['kind'] in ('Service', 'SLI', 'SLO', 'AlertPolicy', 'AlertCondition', 'AlertNotificationTarget'), f
        # OpenSLO v1: an AlertPolicy holds at most one condition (other OpenSLO tools reject more).
        assert d['kind'] != 'AlertPolicy' or len(d['spec']['conditions']) == 1, (f, d['metadata']['name'])"

# The end-to-end check always runs: against TM_BIN when given, else a fresh debug build.
if [ -z "${TM_BIN:-}" ]; then
  cargo build -q --bin task-manager
  TM_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/task-manager"
fi
export TM_BIN
echo "== End to end (TM_BIN=$TM_BIN)"
check_each "e2e" tests/monitoring/e2e.sh

echo
if [ "$FAILED" -gt 0 ]; then
  printf 'failed: %s\n' "${FAILURES[@]}"
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
