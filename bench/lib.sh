# Shared by the benchmark scripts: building, starting the service against a fresh
# database, the account and token every request uses, and the 100 000-task seed.
# Source it after `cd` to the repository root; it sets WORK, PORT and BASE.

source scripts/lib/tools.sh
ensure_apt sqlite3 sqlite3
ensure_apt psql postgresql-client

PG_ADMIN="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
TASKS=100000
export BENCH_TASKS=$TASKS
BIN="${CARGO_TARGET_DIR:-target}/release/task-manager"
LOADGEN="${CARGO_TARGET_DIR:-target}/release/task-manager-loadgen"
WORK=$(mktemp -d)
PORT="${BENCH_PORT:-18181}"
BASE="http://127.0.0.1:$PORT"

# BENCH_NO_BUILD=1 uses the binaries already built.
build_release() {
  [ -z "${BENCH_NO_BUILD:-}" ] || return 0
  cargo build --release --locked --bin task-manager >&2
  cargo build --release --locked -p task-manager-loadgen >&2
}

# fresh_database BACKEND: prints the URL of an empty database for one run.
fresh_database() {
  if [ "$1" = sqlite ]; then
    rm -f "$WORK"/bench.db*
    echo "sqlite://$WORK/bench.db"
  else
    local db="tm_bench_$$"
    psql -q "$PG_ADMIN" -c "drop database if exists $db" -c "create database $db" >&2
    echo "${PG_ADMIN%/*}/$db"
  fi
}

drop_database() {
  if [ "$1" = postgres ]; then psql -q "$PG_ADMIN" -c "drop database if exists tm_bench_$$" >&2; fi
}

# start_server URL [WRAPPER...]: starts the service (optionally under a wrapper such as
# valgrind) and waits for readiness. BENCH_SERVER_ENV adds environment variables;
# BENCH_LOG_LEVEL is the log filter (default `warn`, which also disables every span:
# spans are `info`; SPANS_ON keeps spans but not the access log).
SPANS_ON="warn,task_manager=info,access=warn"
start_server() {
  local url="$1"; shift
  env ${BENCH_SERVER_ENV:-} DATABASE_URL="$url" TM_LISTEN="127.0.0.1:$PORT" TM_LOG_LEVEL="${BENCH_LOG_LEVEL:-warn}" TM_LOG_FORMAT=json \
    TM_SCHEDULE_METRICS_REFRESH="" TM_SCHEDULE_CLEANUP="" "$@" "$BIN" serve 2>"$WORK/server.log" &
  SERVER=$!
  for _ in $(seq 1 600); do curl -fs "$BASE/healthz/ready" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "server did not start" >&2; cat "$WORK/server.log" >&2; exit 1
}

stop_server() {
  kill "$SERVER"; wait "$SERVER" || true
}

# cpu_ticks PID: user + system CPU of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

api() { curl -fsS -H 'content-type: application/json' "$@"; }

# prepare_account: an account, project 1 and a read-write API token (BENCH_TOKEN).
prepare_account() {
  api -X POST "$BASE/api/v1/auth/register" -d '{"email":"bench@example.com","password":"benchmark password","display_name":"Bench"}' >/dev/null
  api -c "$WORK/cj" -X POST "$BASE/api/v1/auth/login" -d '{"email":"bench@example.com","password":"benchmark password"}' >/dev/null
  api -b "$WORK/cj" -X POST "$BASE/api/v1/projects" -d '{"name":"Benchmark"}' >/dev/null
  BENCH_TOKEN=$(api -b "$WORK/cj" -X POST "$BASE/api/v1/me/tokens" -d '{"name":"bench","scope":"read_write"}' | sed -E 's/.*"secret":"([^"]+)".*/\1/')
  export BENCH_TOKEN BENCH_PROJECT=1
}

# The seed: 100 000 tasks in project 1, statuses and priorities spread evenly, due dates
# over a year, positions distinct keys; every eighth task has label 1.
SEED_SELECT="select 1, 'seeded task ' || i, 'description of task ' || i,
  case i % 4 when 0 then 'todo' when 1 then 'in_progress' when 2 then 'blocked' else 'done' end,
  (i / 4) % 4, 1767225600000 + cast(i % 365 as bigint) * 86400000, 'V' || i || 'V', 1, 1767225600000, 1767225600000, 1,
  'seeded task ' || i || char(10) || 'description of task ' || i"
SEED_INSERT="insert into task (project_id, title, description, status, priority, due_at, position, created_by, created_at, updated_at, version, search_text)"
SEED_LABELS="insert into label (project_id, name, name_normalized, color, created_at) values (1, 'seeded', 'seeded', '#336699', 1767225600000);
  insert into task_label (task_id, label_id) select id, 1 from task where id % 8 = 0;"

# seed BACKEND URL
seed() {
  if [ "$1" = sqlite ]; then
    sqlite3 "$WORK/bench.db" "pragma journal_mode=wal; with recursive n(i) as (select 1 union all select i + 1 from n where i < $TASKS) $SEED_INSERT $SEED_SELECT from n; $SEED_LABELS analyze;"
  else
    psql -q "$2" -c "$SEED_INSERT ${SEED_SELECT//char(10)/chr(10)} from generate_series(1, $TASKS) as i; $SEED_LABELS analyze;"
  fi
}
