"""The image's build context, as Docker sends it, and the Dockerfile's cargo steps in it.

Linters read the Dockerfile and .dockerignore one at a time; the build fails between
them (an exclusion that removes a workspace member breaks every cargo command). This
reproduces the context with the Docker SDK's own .dockerignore matcher
(docker.utils.build.exclude_paths: Docker's pattern rules, `**`, `!` exceptions and the
`.`/`..` cleaning), copies it to DEST, and runs there what the Dockerfile's planner
stage runs: `cargo metadata --locked` and `cargo chef prepare`.

    build_context.py DEST                  # the context of this checkout
    build_context.py DEST --also-ignore slo  # the same with one more pattern (proves the
                                             # check fails on such a mistake)

Exits non-zero, naming the step and cargo's message, when the context cannot build.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from docker.utils.build import exclude_paths

ROOT = Path(__file__).resolve().parents[2]
# What `cargo build --bin task-manager` reads besides the manifests: the crate's sources,
# the migrations that sqlx embeds at compile time, and the build script.
BINARY_INPUTS = ("Cargo.toml", "Cargo.lock", "build.rs", "src/", "migrations/")


def dockerignore_patterns(root: Path) -> list[str]:
    """The patterns as the Docker SDK reads .dockerignore (docker/api/build.py)."""
    path = root / ".dockerignore"
    if not path.exists():
        return []
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def context_files(root: Path, patterns: list[str]) -> list[str]:
    """Relative paths of the regular files and symlinks Docker sends."""
    kept = exclude_paths(str(root), list(patterns))
    return sorted(p for p in kept if not (root / p).is_dir() or (root / p).is_symlink())


def copy_context(root: Path, files: list[str], dest: Path) -> None:
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target, follow_symlinks=False)


def tracked_binary_inputs(root: Path) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--", *BINARY_INPUTS], cwd=root, capture_output=True, text=True, check=True
    )
    return [line for line in out.stdout.splitlines() if line]


def run(step: str, cmd: list[str], cwd: Path) -> str:
    env = dict(os.environ, SQLX_OFFLINE="true")
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"FAIL {step}: `{' '.join(cmd)}` in the build context exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    print(f"ok   {step}")
    return proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dest", type=Path)
    parser.add_argument("--also-ignore", action="append", default=[], metavar="PATTERN")
    args = parser.parse_args()

    patterns = dockerignore_patterns(ROOT) + args.also_ignore
    files = context_files(ROOT, patterns)
    if args.dest.exists():
        shutil.rmtree(args.dest)
    args.dest.mkdir(parents=True)
    copy_context(ROOT, files, args.dest)
    print(f"context: {len(files)} files ({len(patterns)} .dockerignore patterns)")

    missing = [f for f in tracked_binary_inputs(ROOT) if f not in set(files)]
    if missing:
        sys.exit(f"FAIL the binary's inputs are in the context: missing {missing[:10]}")
    print("ok   the binary's sources, migrations and build script are in the context")

    # Offline, for the host's platform: the crates it needs are in cargo's cache once the
    # workspace has been built here (other platforms' crates may never have been fetched).
    host = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    host = next(line.split(": ", 1)[1] for line in host.splitlines() if line.startswith("host: "))
    metadata = ["cargo", "metadata", "--locked", "--offline", "--format-version", "1", "--filter-platform", host]
    meta = json.loads(run("cargo metadata --locked", metadata, args.dest))
    members = sorted(p["name"] for p in meta["packages"] if p["id"] in meta["workspace_members"])
    print(f"     workspace members: {members}")
    # The planner stage, with the version the Dockerfile pins (installed by run.sh).
    run("cargo chef prepare", ["cargo", "chef", "prepare", "--recipe-path", "recipe.json"], args.dest)
    recipe = json.loads((args.dest / "recipe.json").read_text())
    manifests = {m["relative_path"] for m in recipe["skeleton"]["manifests"]}
    if "Cargo.toml" not in manifests:
        sys.exit(f"FAIL the recipe has no root manifest: {sorted(manifests)}")
    print(f"ok   recipe.json holds {len(manifests)} manifests")


if __name__ == "__main__":
    main()
