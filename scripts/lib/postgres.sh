# ensure_postgres: makes a PostgreSQL server answer on 127.0.0.1:5432 for the tests,
# installing and starting Debian's server when it is missing or stopped, and exports
# TM_TEST_PG_URL. Idempotent. (The Rust harness can also start a private server by
# itself; this keeps the common case fast and shared.)
ensure_postgres() {
  export TM_TEST_PG_URL="${TM_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    return 0
  fi
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    ensure_apt pg_ctlcluster postgresql
  fi
  command -v pg_isready >/dev/null 2>&1 || ensure_apt pg_isready postgresql-client
  if command -v pg_lsclusters >/dev/null 2>&1 && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
    log "starting the PostgreSQL cluster"
    local ver; ver=$(pg_lsclusters -h | awk 'NR==1{print $1}')
    local name; name=$(pg_lsclusters -h | awk 'NR==1{print $2}')
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || true
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    log "no PostgreSQL on 127.0.0.1:5432; the test harness will start a private server"
    unset TM_TEST_PG_URL
  fi
}

# drop_test_databases: removes databases left by earlier test runs.
drop_test_databases() {
  [ -n "${TM_TEST_PG_URL:-}" ] || return 0
  psql "$TM_TEST_PG_URL" -Atqc "select datname from pg_database where datname like 'tm\_test\_%'" 2>/dev/null |
    while read -r db; do psql "$TM_TEST_PG_URL" -qc "drop database if exists \"$db\"" >/dev/null 2>&1 || true; done
}
