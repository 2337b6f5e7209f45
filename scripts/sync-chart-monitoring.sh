#!/usr/bin/env bash
# Copies the monitoring bundle into the Helm chart, which cannot read files outside its
# own directory:
#   alerts/*.yml|yaml   Prometheus rule files  -> helm/task-manager/files/alerts/
#   slo/*.yml|yaml      Prometheus rule files  -> helm/task-manager/files/slo/
#   dashboards/*.json   Grafana dashboards     -> helm/task-manager/files/dashboards/
# A "rule file" has a top-level `groups:` key; Alertmanager configs (alerts/alertmanager.yml),
# promtool test files (`rule_files:`) and SLO specs (Sloth/OpenSLO) are not copied.
# It also writes the deployed Alertmanager routing into helm/kube-prometheus-stack-values.yaml
# between "# BEGIN alertmanager config" and "# END alertmanager config":
#   alerts/alertmanager.yml    -> alertmanager.config (templates path -> /etc/alertmanager/config)
#   alerts/templates/*.tmpl    -> alertmanager.templateFiles (mounted in that directory)
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

STACK_VALUES="$ROOT/helm/kube-prometheus-stack-values.yaml"
BEGIN_MARK="  # BEGIN alertmanager config"
END_MARK="  # END alertmanager config"

# The lines that belong between the markers, generated from alerts/alertmanager.yml.
alertmanager_block() {
  local tmpl
  grep -qx 'templates:' "$ROOT/alerts/alertmanager.yml" && grep -qx '  - templates/\*.tmpl' "$ROOT/alerts/alertmanager.yml" \
    || { echo "alerts/alertmanager.yml must load its templates with '  - templates/*.tmpl'" >&2; return 1; }
  echo "  config:"
  sed -e 's|^  - templates/\*\.tmpl$|  - /etc/alertmanager/config/*.tmpl|' -e 's/^/    /' -e 's/^ *$//' "$ROOT/alerts/alertmanager.yml"
  echo "  templateFiles:"
  for tmpl in "$ROOT"/alerts/templates/*.tmpl; do
    echo "    $(basename "$tmpl"): |-"
    sed -e 's/^/      /' -e 's/^ *$//' "$tmpl"
  done
}

# Prints the stack values with the block between the markers replaced by $1 (a file).
stack_values_with() {
  grep -qxF "$BEGIN_MARK" "$STACK_VALUES" && grep -qxF "$END_MARK" "$STACK_VALUES" \
    || { echo "markers '$BEGIN_MARK' / '$END_MARK' missing from $STACK_VALUES" >&2; return 1; }
  awk -v b="$BEGIN_MARK" -v e="$END_MARK" -v f="$1" '
    $0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
    $0 == e { skip = 0 }
    !skip { print }' "$STACK_VALUES"
}

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/alerts" "$stage/slo" "$stage/dashboards"
while IFS=$'\t' read -r sub src; do
  cp "$src" "$stage/$sub/"
done < <(expected)

alertmanager_block >"$stage/am-block"
stack_values_with "$stage/am-block" >"$stage/stack-values.yaml"

if [ "$MODE" = "--check" ]; then
  rc=0
  if ! diff -q "$stage/stack-values.yaml" "$STACK_VALUES" >/dev/null; then
    echo "drift: helm/kube-prometheus-stack-values.yaml alertmanager config differs from alerts/alertmanager.yml or alerts/templates/" >&2
    diff -u "$STACK_VALUES" "$stage/stack-values.yaml" | head -20 >&2 || true
    rc=1
  fi
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
cp "$stage/stack-values.yaml" "$STACK_VALUES"
echo "synced $(expected | wc -l) monitoring files into helm/task-manager/files/ and the Alertmanager config into helm/kube-prometheus-stack-values.yaml"
