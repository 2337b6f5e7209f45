#!/usr/bin/env bash
# Attachment throughput on the local store (SQLite): upload and download MiB/s of a
# 10 MiB file against the release build, with curl over loopback.
#
#   bench/attachments.sh [rounds]
#
# Each round uploads the file (multipart, as a browser does), downloads it back and
# checks the bytes; the median of the rounds is reported for each direction. The
# file is random, so nothing compresses or dedupes it.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

ROUNDS="${1:-10}"
SIZE_MIB=10
build_release
trap 'stop_server 2>/dev/null || true; rm -rf "$WORK"' EXIT

head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$WORK/file.bin"
export BENCH_SERVER_ENV="TM_ATTACHMENTS_DIR=$WORK/attachments"
url=$(fresh_database sqlite)
start_server "$url"
prepare_account
TASK=$(api -H "authorization: Bearer $BENCH_TOKEN" -X POST "$BASE/api/v1/projects/1/tasks" -d '{"title":"Files"}' |
  sed -E 's/^\{"id":([0-9]+).*/\1/')

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
up=()
down=()
for i in $(seq 1 "$ROUNDS"); do
  out=$(curl -fsS -o "$WORK/upload.json" -w '%{time_total}' -H "authorization: Bearer $BENCH_TOKEN" \
    -F "file=@$WORK/file.bin;filename=file.bin" "$BASE/api/v1/tasks/$TASK/attachments")
  up+=("$(awk -v t="$out" -v s=$SIZE_MIB 'BEGIN {printf "%.1f", s / t}')")
  link=$(sed -E 's/.*"download_url":"([^"]+)".*/\1/' "$WORK/upload.json")
  out=$(curl -fsS -o "$WORK/download.bin" -w '%{time_total}' -H "authorization: Bearer $BENCH_TOKEN" "$BASE$link")
  down+=("$(awk -v t="$out" -v s=$SIZE_MIB 'BEGIN {printf "%.1f", s / t}')")
  cmp -s "$WORK/file.bin" "$WORK/download.bin" || { echo "round $i: the downloaded bytes differ" >&2; exit 1; }
  curl -fsS -X DELETE -H "authorization: Bearer $BENCH_TOKEN" "$BASE$link" >/dev/null
done
echo "attachments, local store, ${SIZE_MIB} MiB file, $ROUNDS rounds:"
echo "  upload   $(printf '%s\n' "${up[@]}" | median) MiB/s (median; rounds: ${up[*]})"
echo "  download $(printf '%s\n' "${down[@]}" | median) MiB/s (median; rounds: ${down[*]})"
