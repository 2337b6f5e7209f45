#!/usr/bin/env bash
# Builds the real container image from the Dockerfile with podman, then checks what it
# holds and that its binary serves: the deployment's first contact, on a machine with no
# registry and no container runtime.
#
#   bash tests/deploy/image_build.sh [WORKDIR]     # or: TM_IMAGE_BUILD=1 bash tests/deploy/run.sh
#
# No registry is reachable here, so the two base images are made locally and passed as
# build arguments (the pipelines keep the Dockerfile's defaults):
#   builder  Debian bookworm (mmdebstrap) with gcc and this machine's Rust toolchain laid
#            out as in the official rust image (/usr/local/cargo, CARGO_HOME)
#   runtime  the files of distroless cc-debian12:nonroot (glibc, libgcc, CA certificates,
#            tzdata, user nonroot 65532, no shell), unpacked from Debian's packages
# podman builds with --isolation=chroot (RUN steps in a chroot on the host network: the
# cargo steps reach crates.io). It cannot run containers here, so the image is exported
# and its binary started from the unpacked root filesystem (chroot, as user 65532).
# Slow (a release build from scratch); ends with "N passed, M failed".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source scripts/lib/tools.sh

WORK="${1:-$(mktemp -d)}"
mkdir -p "$WORK"
IMAGE="localhost/task-manager:image-check"
BUILDER_BASE="localhost/tm-builder-base:bookworm"
RUNTIME_BASE="localhost/tm-runtime-base:debian12-nonroot"
PODMAN=(podman --cgroup-manager=cgroupfs)
PASSED=0
FAILED=0
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  [ -n "${CID:-}" ] && "${PODMAN[@]}" rm -f "$CID" >/dev/null 2>&1 || true
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); printf 'ok   %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s\n' "$*"; }

ensure_apt podman podman
ensure_apt mmdebstrap mmdebstrap
ensure_apt dpkg-deb dpkg

# ------------------------------------------------------------------ local base images
toolchain="$(rustc --print sysroot)"
if ! "${PODMAN[@]}" image exists "$BUILDER_BASE"; then
  log "making the builder base (bookworm + gcc + Rust $(rustc -V | cut -d' ' -f2))"
  rm -rf "$WORK/builder-rootfs" && mkdir -p "$WORK/builder-rootfs"
  mmdebstrap --quiet --variant=minbase --include=gcc,libc6-dev,ca-certificates,pkg-config,make \
    bookworm "$WORK/builder-rootfs"
  # This machine's CA bundle: it holds the certificate of the proxy that crates.io is
  # reached through here (the real base image needs nothing of the kind).
  cp /etc/ssl/certs/ca-certificates.crt "$WORK/builder-rootfs/etc/ssl/certs/ca-certificates.crt"
  mkdir -p "$WORK/builder-rootfs/usr/local/rust" "$WORK/builder-rootfs/usr/local/cargo/bin"
  for d in bin lib libexec; do
    [ -d "$toolchain/$d" ] && cp -a "$toolchain/$d" "$WORK/builder-rootfs/usr/local/rust/"
  done
  tar -C "$WORK/builder-rootfs" -c . | "${PODMAN[@]}" import \
    --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV CARGO_HOME=/usr/local/cargo' \
    - "$BUILDER_BASE" >/dev/null
  rm -rf "$WORK/builder-rootfs"
fi
if ! "${PODMAN[@]}" image exists "$RUNTIME_BASE"; then
  log "making the runtime base (the files of distroless cc-debian12:nonroot)"
  rm -rf "$WORK/runtime-rootfs" "$WORK/debs" && mkdir -p "$WORK/runtime-rootfs" "$WORK/debs"
  (cd "$WORK/debs" && apt-get download -o APT::Sandbox::User=root -qq libc6 libgcc-s1 tzdata netbase base-files >/dev/null)
  for deb in "$WORK"/debs/*.deb; do dpkg-deb -x "$deb" "$WORK/runtime-rootfs"; done
  r="$WORK/runtime-rootfs"
  mkdir -p "$r/etc/ssl/certs" "$r/home/nonroot" "$r/tmp"
  cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$r/etc/group"
  chown 65532:65532 "$r/home/nonroot"
  chmod 1777 "$r/tmp"
  # Distroless has no shell and no package manager; Debian's base-files brings neither.
  rm -rf "$r/usr/share/doc" "$r/usr/share/man" "$r/usr/share/lintian"
  tar -C "$r" -c . | "${PODMAN[@]}" import --change 'USER 65532:65532' - "$RUNTIME_BASE" >/dev/null
  rm -rf "$r" "$WORK/debs"
fi

# ------------------------------------------------------------------------- the build
log "podman build (release; this takes a while)"
started=$SECONDS
if "${PODMAN[@]}" build --isolation=chroot --layers \
  --build-arg BUILDER_IMAGE="$BUILDER_BASE" --build-arg RUNTIME_IMAGE="$RUNTIME_BASE" \
  --build-arg TM_GIT_COMMIT="$(git rev-parse --short=12 HEAD)" \
  -t "$IMAGE" -f Dockerfile . >"$WORK/build.log" 2>&1; then
  ok "podman build ($((SECONDS - started)) s)"
else
  fail "podman build (log: $WORK/build.log)"; tail -40 "$WORK/build.log"
  echo "$PASSED passed, $FAILED failed"; exit 1
fi
size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")
echo "     image size: $((size / 1024 / 1024)) MiB, build time: $((SECONDS - started)) s"

# ------------------------------------------------------------------ what the image holds
user=$("${PODMAN[@]}" image inspect --format '{{.Config.User}}' "$IMAGE")
[ "$user" = "65532:65532" ] && ok "runs as the non-root user 65532:65532" || fail "image user is '$user'"
CID=$("${PODMAN[@]}" create "$IMAGE")
rootfs="$WORK/rootfs"
rm -rf "$rootfs" && mkdir -p "$rootfs"
"${PODMAN[@]}" export "$CID" | tar -C "$rootfs" -x
[ "$(stat -c %u:%g "$rootfs/data")" = "65532:65532" ] && [ "$(stat -c %A "$rootfs/data" | cut -c3)" = w ] &&
  ok "/data exists, belongs to 65532:65532 and is writable by it" || fail "/data: $(stat -c '%U:%G %a' "$rootfs/data" 2>&1)"
shells=()
for s in bin/sh bin/bash bin/dash bin/ash bin/busybox usr/bin/sh usr/bin/bash usr/bin/dash; do
  [ -e "$rootfs/$s" ] || [ -L "$rootfs/$s" ] && shells+=("$s")
done
[ ${#shells[@]} -eq 0 ] && ok "no shell in the image" || fail "shells in the image: ${shells[*]}"
entry=$("${PODMAN[@]}" image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$IMAGE")
[ "$entry" = '["/usr/local/bin/task-manager"] ["serve"]' ] && ok "entrypoint task-manager serve" || fail "entrypoint: $entry"

# ------------------------------------------------- the binary serves from the image's files
# chroot into the unpacked image as user 65532, with the image's environment, its own
# libraries, and the SQLite database in /data (the image's default volume).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mapfile -t image_env < <("${PODMAN[@]}" image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE" | sed '/^$/d')
mkdir -p "$rootfs/proc" "$rootfs/dev"
env -i "${image_env[@]}" TM_LISTEN="127.0.0.1:$port" DATABASE_URL="sqlite:///data/task-manager.db" \
  "$(command -v chroot)" --userspec=65532:65532 "$rootfs" /usr/local/bin/task-manager serve >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
ready=""
for _ in $(seq 1 300); do
  ready=$(curl -fsS "http://127.0.0.1:$port/healthz/ready" 2>/dev/null) && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.2
done
if [ "$ready" = '{"status":"ok"}' ]; then
  ok "the image's binary answers /healthz/ready from the unpacked rootfs"
else
  fail "the image's binary did not answer readiness ($ready)"; tail -20 "$WORK/serve.log"
fi
[ -s "$rootfs/data/task-manager.db" ] && ok "it wrote its database to /data as user 65532" || fail "no database in /data"
kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
