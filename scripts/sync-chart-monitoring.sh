#!/usr/bin/env bash
# Copies the monitoring bundle into the Helm chart, which cannot read files outside its
# own directory:
#   alerts/*.yml|yaml   Prometheus rule files  -> helm/task-manager/files/alerts/
#   slo/*.yml|yaml      Prometheus rule files  -> helm/task-manager/files/slo/
#   dashboards/*.json   Grafana dashboards     -> helm/task-manager/files/dashboards/
# A "rule file" has a top-level `groups:` key; Alertmanager configs (alerts/alertmanager.yml),
# promtool test files (`rule_files:`) and SLO specs (Sloth/OpenSLO) are not copied.
#
#   scripts/sync-chart-monitoring.sh          sync (adds, updates and removes files)
#   scripts/sync-chart-monitoring.sh --check  exit 1 when the chart differs from the sources
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART_FILES="$ROOT/helm/task-manager/files"
MODE="${1:-sync}"
case "$MODE" in sync|--check) ;; *) echo "usage: $0 [--check]" >&2; exit 2 ;; esac

is_rule_file() {
  local f="$1"
  case "$(basename "$f")" in alertmanager*.yml|alertmanager*.yaml) return 1 ;; esac
  grep -q '^groups:' "$f" && ! grep -q '^rule_files:' "$f"
}

# Prints "DEST_SUBDIR<TAB>SOURCE" for every file the chart must carry.
expected() {
  local f
  shopt -s nullglob
  for f in "$ROOT"/alerts/*.yml "$ROOT"/alerts/*.yaml; do
    is_rule_file "$f" && printf 'alerts\t%s\n' "$f"
  done
  for f in "$ROOT"/slo/*.yml "$ROOT"/slo/*.yaml; do
    is_rule_file "$f" && printf 'slo\t%s\n' "$f"
  done
  for f in "$ROOT"/dashboards/*.json; do
    printf 'dashboards\t%s\n' "$f"
  done
  shopt -u nullglob
}

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/alerts" "$stage/slo" "$stage/dashboards"
while IFS=$'\t' read -r sub src; do
  cp "$src" "$stage/$sub/"
done < <(expected)

if [ "$MODE" = "--check" ]; then
  rc=0
  for sub in alerts slo dashboards; do
    mkdir -p "$stage/$sub"
    # -x '.*': dotfiles (.gitkeep) are not part of the bundle.
    if ! diff -r -q -x '.*' "$stage/$sub" "$CHART_FILES/$sub" 2>/dev/null >&2; then
      if [ ! -d "$CHART_FILES/$sub" ] && [ -z "$(ls -A "$stage/$sub")" ]; then continue; fi
      echo "drift: helm/task-manager/files/$sub differs from its sources" >&2
      diff -r -q -x '.*' "$stage/$sub" "$CHART_FILES/$sub" >&2 || true
      rc=1
    fi
  done
  [ "$rc" -eq 0 ] && echo "chart monitoring files match their sources ($(expected | wc -l) files)"
  [ "$rc" -eq 0 ] || echo "run scripts/sync-chart-monitoring.sh to update the chart" >&2
  exit "$rc"
fi

for sub in alerts slo dashboards; do
  mkdir -p "$CHART_FILES/$sub"
  find "$CHART_FILES/$sub" -maxdepth 1 -type f ! -name '.*' -delete
  cp -p "$stage/$sub/." "$CHART_FILES/$sub/" -r
  touch "$CHART_FILES/$sub/.gitkeep"
done
echo "synced $(expected | wc -l) monitoring files into helm/task-manager/files/"
