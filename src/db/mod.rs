//! Storage: one `Db` over SQLite (embedded default) or PostgreSQL (production), chosen
//! once from the URL scheme. Both run the same SQL through sqlx's `Any` driver; the
//! few statements where the dialects differ are chosen per backend in the repositories.
//! Timestamps are stored as Unix milliseconds, so ordering and arithmetic are identical.
//!
//! Every query runs through `Db::observe` with a name from the fixed set in `op`, which
//! records its duration and, when spans are exported, a database client span.

pub mod backup;
pub mod op;
pub mod repo;

use std::{str::FromStr, sync::Arc, time::Instant};

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    pool::PoolConnection,
    Any, AnyPool, ConnectOptions, Executor, Transaction,
};
use tracing::Instrument;

use crate::{config::Config, error::AppError, telemetry::metrics::Metrics};
pub use op::Op;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn system_name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

#[derive(Clone)]
pub struct Db {
    pub backend: Backend,
    read: AnyPool,
    /// On SQLite a single connection: writers queue in the process instead of failing
    /// with "database is locked". On PostgreSQL the same pool as `read`.
    write: AnyPool,
    metrics: Arc<Metrics>,
}

pub type Tx = Transaction<'static, Any>;
pub type Conn = PoolConnection<Any>;

static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATE_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Opens the pools. SQLite files (and their directory) are created when missing.
    pub async fn connect(config: &Config, metrics: Arc<Metrics>) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let url = config.database_url.expose_secret().to_owned();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres:");
        };
        let base = AnyPoolOptions::new()
            .acquire_timeout(config.db_acquire_timeout)
            .test_before_acquire(false)
            .before_acquire(test_if_idle);
        let (read, write) = match backend {
            Backend::Sqlite => {
                let url = sqlite_url(&url)?;
                let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
                let setup = sqlite_setup;
                let write = base.clone().max_connections(1).after_connect(setup).connect_with(options.clone()).await?;
                let read = base
                    .max_connections(config.db_max_connections.max(2))
                    .after_connect(setup)
                    .connect_with(options)
                    .await?;
                (read, write)
            }
            Backend::Postgres => {
                let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
                let timeout_ms = config.db_statement_timeout.as_millis();
                let pool = base
                    .max_connections(config.db_max_connections)
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            conn.execute(format!("set statement_timeout = {timeout_ms}").as_str()).await?;
                            Ok(())
                        })
                    })
                    .connect_lazy_with(options);
                (pool.clone(), pool)
            }
        };
        metrics.db_connections_max.set(i64::from(config.db_max_connections));
        Ok(Db { backend, read, write, metrics })
    }

    /// Applies the embedded migrations. On PostgreSQL the migrator holds an advisory
    /// lock, so replicas starting together apply each migration once.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &MIGRATE_SQLITE,
            Backend::Postgres => &MIGRATE_POSTGRES,
        };
        migrator.run(&self.write).await.context("applying migrations")?;
        Ok(())
    }

    /// Whether every embedded migration is applied.
    pub async fn migrations_applied(&self) -> Result<bool, sqlx::Error> {
        let migrator = match self.backend {
            Backend::Sqlite => &MIGRATE_SQLITE,
            Backend::Postgres => &MIGRATE_POSTGRES,
        };
        let latest = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let applied: Option<i64> = sqlx::query_scalar("select max(version) from _sqlx_migrations where success = true")
            .fetch_one(&self.read)
            .await?;
        Ok(applied.unwrap_or(0) >= latest)
    }

    /// A connection for reads; waiting time is measured, and running out of time
    /// becomes a 503 rather than a hang.
    pub async fn conn(&self) -> Result<Conn, AppError> {
        let start = Instant::now();
        let conn = self.read.acquire().await;
        self.acquired(start, conn)
    }

    /// A write transaction. Only the wait for the connection is recorded as a wait:
    /// `BEGIN` is a round trip to the server, and timing it too would show waits on an
    /// idle pool whenever the database is slow.
    pub async fn begin(&self) -> Result<Tx, AppError> {
        let start = Instant::now();
        let conn = self.write.acquire().await;
        let conn = self.acquired(start, conn)?;
        // `Pool::begin` is exactly this pair; it is split so the wait ends at the acquire.
        Transaction::begin(conn, None).await.map_err(|e| self.no_connection(start, e))
    }

    /// Records the wait, and turns any failure to get a connection (pool exhausted,
    /// server down, login refused) into 503: the database is out of reach, whatever
    /// the client sent. Such failures count as `connection.acquire` errors.
    fn acquired<T>(&self, start: Instant, result: Result<T, sqlx::Error>) -> Result<T, AppError> {
        self.metrics.db_wait.observe(start.elapsed().as_secs_f64());
        result.map_err(|e| self.no_connection(start, e))
    }

    fn no_connection(&self, start: Instant, e: sqlx::Error) -> AppError {
        let waited = start.elapsed().as_secs_f64();
        self.metrics.db_duration.with_label_values(&[op::CONNECTION_ACQUIRE.name, "error"]).observe(waited);
        tracing::warn!(error = %e, "no database connection");
        match e {
            sqlx::Error::PoolClosed => AppError::Unavailable("shutting down"),
            _ => AppError::Unavailable("database connection not available"),
        }
    }

    /// Runs one named operation, recording its duration, outcome and, when spans are
    /// exported, a client span.
    pub async fn observe<T>(
        &self,
        op: Op,
        sql: &str,
        fut: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        if !crate::telemetry::exporting() {
            let start = Instant::now();
            let result = fut.await;
            self.metrics
                .db_duration
                .with_label_values(&[op.name, outcome(&result)])
                .observe(start.elapsed().as_secs_f64());
            return result;
        }
        let span = tracing::info_span!(
            "db",
            otel.name = op.name,
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            db.system.name = self.backend.system_name(),
            db.operation.name = op.name,
            db.collection.name = op.collection,
            db.query.text = sql,
        );
        let start = Instant::now();
        let result = fut.instrument(span.clone()).await;
        let outcome = outcome(&result);
        if outcome == "error" {
            span.record("otel.status_code", "ERROR");
        }
        self.metrics.db_duration.with_label_values(&[op.name, outcome]).observe(start.elapsed().as_secs_f64());
        result
    }

    /// Takes the cluster-wide lock of a scheduled job for as long as the returned guard
    /// lives; `None` when another replica holds it. On PostgreSQL this is a
    /// transaction-scoped advisory lock on a connection of its own (released however
    /// the job ends, even if the replica dies); SQLite serves one process, so the lock
    /// is always granted.
    pub async fn job_lock(&self, job: &str) -> Result<Option<JobLock>, AppError> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(JobLock(None)));
        }
        let mut tx = self.begin().await?;
        let sql = "select pg_try_advisory_xact_lock($1)";
        let granted: bool = self
            .observe(op::JOB_LOCK, sql, sqlx::query_scalar(sql).bind(job_lock_key(job)).fetch_one(&mut *tx))
            .await?;
        Ok(granted.then_some(JobLock(Some(tx))))
    }

    /// Refreshes the pool gauges (cheap: reads counters the pool keeps).
    pub fn record_pool_gauges(&self) {
        let size = self.read.size() as i64 + if self.backend == Backend::Sqlite { self.write.size() as i64 } else { 0 };
        let idle = self.read.num_idle() as i64
            + if self.backend == Backend::Sqlite { self.write.num_idle() as i64 } else { 0 };
        self.metrics.db_connections.with_label_values(&["used"]).set(size - idle);
        self.metrics.db_connections.with_label_values(&["idle"]).set(idle);
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("select 1").execute(&self.read).await.map(|_| ())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    /// The pool for one-off statements outside a request (jobs, CLI).
    pub fn pool(&self) -> &AnyPool {
        &self.write
    }
}

/// Held while a scheduled job runs; dropping it releases the lock.
pub struct JobLock(#[allow(dead_code)] Option<Tx>);

/// A stable 64-bit key per job name (FNV-1a), in a namespace of this service's own.
fn job_lock_key(job: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "task-manager/job/".bytes().chain(job.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// The `outcome` label of a database operation: a missing row is an answer, not a failure.
fn outcome<T>(result: &Result<T, sqlx::Error>) -> &'static str {
    match result {
        Ok(_) | Err(sqlx::Error::RowNotFound) => "ok",
        Err(_) => "error",
    }
}

/// How long a pooled connection may sit idle before it is tested on the way out.
const TEST_IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// sqlx would ping every connection it hands out, one more round trip per request.
/// A connection used a moment ago is known to work: sqlx pings each one as it is
/// released and closes it if that fails. So only a connection that has been idle (and
/// may have been cut meanwhile: a database restart, a proxy's idle timeout) is tested;
/// a failed test closes it and the pool hands out another.
fn test_if_idle(
    conn: &mut sqlx::AnyConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> futures::future::BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        if meta.idle_for >= TEST_IDLE_AFTER {
            sqlx::Connection::ping(conn).await?;
        }
        Ok(true)
    })
}

/// Per-connection SQLite settings: WAL so readers never block the writer, foreign
/// keys enforced, and a busy timeout for the rare writer in another process (backup).
fn sqlite_setup(
    conn: &mut sqlx::AnyConnection,
    _meta: sqlx::pool::PoolConnectionMetadata,
) -> futures::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        conn.execute(
            "pragma journal_mode = wal; pragma foreign_keys = on; \
             pragma busy_timeout = 10000; pragma synchronous = normal;",
        )
        .await?;
        Ok(())
    })
}

/// Adds `mode=rwc` and creates the parent directory, so a fresh checkout starts.
fn sqlite_url(url: &str) -> anyhow::Result<String> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let file = path.split('?').next().unwrap_or("");
    if !file.is_empty() && file != ":memory:" {
        if let Some(dir) = std::path::Path::new(file).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}
