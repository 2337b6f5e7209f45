//! PostgreSQL for tests: a new database per test on the server named by
//! `TM_TEST_PG_URL` (default: the local server on 127.0.0.1:5432), or, when that does
//! not answer, on a private server started once per test process in a temporary
//! directory from the installed PostgreSQL binaries.

use std::{
    net::TcpStream,
    path::PathBuf,
    process::Command,
    sync::{
        atomic::{AtomicU32, Ordering},
        OnceLock,
    },
    time::Duration,
};

static SERVER: OnceLock<String> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

fn reachable(url: &str) -> bool {
    let hostport = url.split('@').nth(1).unwrap_or(url).split('/').next().unwrap_or("");
    let hostport = if hostport.contains(':') { hostport.to_owned() } else { format!("{hostport}:5432") };
    hostport.parse().ok().and_then(|addr| TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()).is_some()
}

/// The admin URL of the server tests use.
pub fn server_url() -> String {
    SERVER
        .get_or_init(|| {
            let url = std::env::var("TM_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            if reachable(&url) {
                url
            } else {
                start_private_server()
            }
        })
        .clone()
}

fn pg_bin(name: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin").join(name)).filter(|p| p.exists()).collect())
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .unwrap_or_else(|| panic!("PostgreSQL server binaries not found (install postgresql); needed for {name}"))
}

/// initdb refuses to run as root, so as root the server runs as `postgres` (or
/// `nobody`).
fn as_server_user(cmd: &str) -> Command {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    if root {
        let user = if Command::new("id").arg("postgres").output().map(|o| o.status.success()).unwrap_or(false) {
            "postgres"
        } else {
            "nobody"
        };
        let mut c = Command::new("runuser");
        c.args(["-u", user, "--", "sh", "-c", cmd]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", cmd]);
        c
    }
}

fn start_private_server() -> String {
    let dir = std::env::temp_dir().join(format!("tm-test-pg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = Command::new("chmod").args(["777", dir.to_str().unwrap()]).status();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let data = dir.join("data");
    let initdb = format!("{} -D {} -U postgres -A trust >/dev/null", pg_bin("initdb").display(), data.display());
    assert!(as_server_user(&initdb).status().unwrap().success(), "initdb failed");
    let start = format!(
        "{} -D {} -l {}/log -o '-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off' -w start >/dev/null",
        pg_bin("pg_ctl").display(),
        data.display(),
        dir.display(),
        dir.display()
    );
    assert!(as_server_user(&start).status().unwrap().success(), "pg_ctl start failed; see {}/log", dir.display());
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

/// Creates an empty database and returns its URL.
pub fn fresh_database_url() -> String {
    let admin = server_url();
    let name = format!(
        "tm_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
    );
    let rt_admin = admin.clone();
    let create = name.clone();
    // A blocking thread with its own runtime: callers may be inside a runtime.
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async move {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&rt_admin).await.expect("connect to the PostgreSQL test server");
            sqlx::query(&format!("create database {create}")).execute(&mut c).await.unwrap();
        })
    })
    .join()
    .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin);
    format!("{base}/{name}")
}
