# Helpers shared by tests/monitoring/*.sh. Source after scripts/lib/tools.sh.

# free_port: prints a TCP port nobody listens on (127.0.0.1).
free_port() {
  "$TM_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for TIMEOUT_SECONDS DESCRIPTION CMD...: retries CMD every 0.5 s until it succeeds.
wait_for() {
  local timeout="$1" what="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out after ${timeout}s waiting for: $what" >&2
      return 1
    fi
    sleep 0.5
  done
}

# start_bg LOG CMD...: starts CMD in the background, output to LOG; its pid is left in
# BG_PID and remembered so that stop_all kills it (by pid, nothing else).
_TM_PIDS=()
BG_PID=""
start_bg() {
  local log="$1"; shift
  "$@" >"$log" 2>&1 &
  BG_PID="$!"
  _TM_PIDS+=("$BG_PID")
}
stop_all() {
  local pid
  for pid in "${_TM_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${_TM_PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  _TM_PIDS=()
}
