# syntax=docker/dockerfile:1.7
#
# task-manager container image: one binary serves the REST API (/api/v1), the web UI (/)
# and Prometheus metrics.
#
#   docker build --build-arg TM_GIT_COMMIT="$(git rev-parse --short=12 HEAD)" -t task-manager .
#
# Base images are build arguments (BUILDER_IMAGE, RUNTIME_IMAGE) with the real images as
# defaults; tests/deploy/image_build.sh builds with local stand-ins where no registry is
# reachable.
#
# Stages:
#   chef     Rust toolchain + cargo-chef (pinned versions)
#   planner  computes the dependency "recipe" from Cargo.toml/Cargo.lock only
#   builder  compiles the dependencies from the recipe (a cached layer that changes only
#            when dependencies change), then the project itself, in release mode
#   runtime  distroless cc (glibc, libgcc, CA certificates, tzdata; no shell, no package
#            manager), non-root user 65532
#
# No HEALTHCHECK: the runtime image has no shell and no curl, and Kubernetes ignores the
# Docker HEALTHCHECK anyway; the chart's startup/readiness/liveness probes call
# /healthz/live and /healthz/ready instead (see docs/deployment.md).
#checkov:skip=CKV_DOCKER_2:distroless runtime has no shell or HTTP client for a HEALTHCHECK; Kubernetes probes /healthz/live and /healthz/ready
#checkov:skip=CKV_DOCKER_7:base images are build arguments; their defaults carry version tags (rust:1.95-slim-bookworm, distroless cc-debian12:nonroot)

ARG RUST_VERSION=1.95
ARG CARGO_CHEF_VERSION=0.1.73
# The base images. The pipelines keep these defaults; a machine without a registry builds
# from local stand-ins passed as build arguments (tests/deploy/image_build.sh).
ARG BUILDER_IMAGE=rust:${RUST_VERSION}-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${BUILDER_IMAGE} AS chef
ARG CARGO_CHEF_VERSION
WORKDIR /build
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /build/recipe.json recipe.json
# Dependencies only: this layer is reused as long as Cargo.toml/Cargo.lock do not change.
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin task-manager
COPY . .
# The commit is recorded by build.rs for `--version` and task_manager_build_info.
ARG TM_GIT_COMMIT=unknown
ENV TM_GIT_COMMIT=${TM_GIT_COMMIT} \
    SQLX_OFFLINE=true
RUN cargo build --release --locked --bin task-manager \
 && install -D -m 0755 target/release/task-manager /out/task-manager \
 && mkdir -p /out/data

FROM ${RUNTIME_IMAGE} AS runtime
ARG TM_GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="task-manager" \
      org.opencontainers.image.description="Multi-user task manager: REST API, web UI and Prometheus metrics in one binary" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.revision="${TM_GIT_COMMIT}"
COPY --from=builder /out/task-manager /usr/local/bin/task-manager
# /data holds the SQLite database (DATABASE_URL=sqlite:///data/task-manager.db) and,
# without an S3 bucket (TM_ATTACHMENTS_S3_BUCKET), the attachment files; mount a volume
# there. On PostgreSQL with S3 the service writes nothing to disk.
COPY --from=builder --chown=65532:65532 /out/data /data
ENV TM_LISTEN=0.0.0.0:8080 \
    TM_LOG_FORMAT=json \
    TM_ATTACHMENTS_DIR=/data/attachments
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/task-manager"]
CMD ["serve"]
