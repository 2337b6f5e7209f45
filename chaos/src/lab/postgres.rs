//! The lab's database: a PostgreSQL primary in zone a with a synchronous streaming
//! standby in zone b, run as the unprivileged `postgres` user (initdb refuses root) in
//! the zones' namespaces, on data directories inside the lab directory.
//!
//! Traps handled here: the standby connects with the `application_name` that the
//! primary lists in `synchronous_standby_names` (given in pg_basebackup's `-d`, because
//! `-R` writes `primary_conninfo` into postgresql.auto.conf, which wins); a promoted
//! standby drops `synchronous_standby_names` until a new standby exists, or every
//! commit would wait forever.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

use super::net;

pub const BIN: &str = "/usr/lib/postgresql/15/bin";
pub const PORT: u16 = 5432;
pub const DATABASE: &str = "taskmanager";

pub fn standby_name(zone: &str) -> String {
    format!("standby_{zone}")
}

pub fn data_dir(lab: &Path, zone: &str) -> PathBuf {
    lab.join(format!("pg-{zone}"))
}

fn chown_postgres(path: &Path) -> anyhow::Result<()> {
    net::run(&["chown", "-R", "postgres:postgres", &path.to_string_lossy()])?;
    // PostgreSQL refuses a data directory others can read.
    net::run(&["chmod", "700", &path.to_string_lossy()]).map(|_| ())
}

/// psql as postgres against the server in `zone` (over TCP; trust inside the lab).
pub async fn psql(zone: &str, db: &str, sql: &str) -> anyhow::Result<String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            &net::ns_addr(zone),
            "-p",
            &PORT.to_string(),
            "-U",
            "postgres",
        ])
        .args(["-d", db, "-c", sql])
        .env("PGCONNECT_TIMEOUT", "3")
        .output()
        .await
        .context("running psql")?;
    if !out.status.success() {
        bail!("psql on zone {zone}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub async fn wait_accepting(zone: &str, timeout: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if psql(zone, "postgres", "select 1").await.is_ok() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("PostgreSQL in zone {zone} did not accept connections within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// initdb of the primary, with replication open to the lab's addresses only.
pub fn init_primary(lab: &Path, zone: &str, standby_zone: &str) -> anyhow::Result<()> {
    let dir = data_dir(lab, zone);
    std::fs::create_dir_all(&dir)?;
    chown_postgres(&dir)?;
    net::run(&[
        "runuser",
        "-u",
        "postgres",
        "--",
        &format!("{BIN}/initdb"),
        "-D",
        &dir.to_string_lossy(),
        "-A",
        "trust",
        "-U",
        "postgres",
        "--no-sync",
    ])?;
    let conf = format!(
        "\n# lab settings\nlisten_addresses = '{addr}'\nport = {PORT}\n         wal_level = replica\nmax_wal_senders = 10\nhot_standby = on\nsynchronous_commit = on\n\
         synchronous_standby_names = '{standby}'\nfsync = off\nmax_connections = 200\nshared_buffers = 32MB\n\
         wal_keep_size = 256MB\nlog_min_messages = warning\n",
        addr = net::ns_addr(zone),
        standby = standby_name(standby_zone),
    );
    append(&dir.join("postgresql.conf"), &conf)?;
    append(
        &dir.join("pg_hba.conf"),
        &format!("host all all {0} trust\nhost replication all {0} trust\n", net::trusted_sources()),
    )?;
    Ok(())
}

fn append(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path)?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Starts the server of `zone` inside the zone's namespace; the child is the postmaster.
pub fn start(lab: &Path, zone: &str) -> anyhow::Result<Child> {
    let dir = data_dir(lab, zone);
    // Sockets outside the data directory, or a base backup copies the lock file.
    let sock = lab.join(format!("sock-{zone}"));
    std::fs::create_dir_all(&sock)?;
    chown_postgres(&sock)?;
    let log = std::fs::File::create(lab.join(format!("pg-{zone}.log")))?;
    let child = net::zone_command(zone, "runuser")
        .args(["-u", "postgres", "--"])
        .arg(format!("{BIN}/postgres"))
        .args(["-D", &dir.to_string_lossy()])
        .args(["-c", &format!("listen_addresses={}", net::ns_addr(zone))])
        .args(["-c", &format!("unix_socket_directories={}", sock.to_string_lossy())])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(false)
        .spawn()
        .context("starting postgres")?;
    Ok(child)
}

/// A fresh standby of `primary_zone` in `zone` (data directory rebuilt from a base backup).
pub async fn base_backup(lab: &Path, zone: &str, primary_zone: &str) -> anyhow::Result<()> {
    let dir = data_dir(lab, zone);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    chown_postgres(&dir)?;
    let conninfo = format!(
        "host={} port={PORT} user=postgres application_name={}",
        net::ns_addr(primary_zone),
        standby_name(zone)
    );
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--", &format!("{BIN}/pg_basebackup")])
        .args(["-d", &conninfo, "-D", &dir.to_string_lossy(), "-R", "-X", "stream", "-c", "fast"])
        .output()
        .await?;
    if !out.status.success() {
        bail!("pg_basebackup: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    // The copied configuration names the primary's address; the standby listens on its own.
    append(&dir.join("postgresql.conf"), &format!("listen_addresses = '{}'\n", net::ns_addr(zone)))?;
    Ok(())
}

/// True once the primary reports the standby as a synchronous, streaming replica.
pub async fn standby_is_sync(primary_zone: &str, standby_zone: &str) -> bool {
    let sql = format!(
        "select count(*) from pg_stat_replication where application_name = '{}' and state = 'streaming' and sync_state = 'sync'",
        standby_name(standby_zone)
    );
    psql(primary_zone, "postgres", &sql).await.map(|n| n == "1").unwrap_or(false)
}

/// Promotes the standby of `zone` and stops it waiting for a standby it does not have.
pub async fn promote(zone: &str) -> anyhow::Result<()> {
    psql(zone, "postgres", "select pg_promote(true, 60)").await?;
    psql(zone, "postgres", "alter system set synchronous_standby_names = ''").await?;
    psql(zone, "postgres", "select pg_reload_conf()").await?;
    Ok(())
}

/// Makes the primary of `zone` wait for the standby of `standby_zone` again.
pub async fn require_standby(zone: &str, standby_zone: &str) -> anyhow::Result<()> {
    psql(zone, "postgres", &format!("alter system set synchronous_standby_names = '{}'", standby_name(standby_zone)))
        .await?;
    psql(zone, "postgres", "select pg_reload_conf()").await?;
    Ok(())
}
