//! Running the real `task-manager` binary: a fresh SQLite file in a temporary
//! directory (unless a database URL is given), a free loopback port, standard output and
//! error captured to files, and SIGTERM on demand.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_task-manager");

/// A loopback address nobody listens on right now.
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// The binary with none of the caller's `TM_*`, `OTEL_*`, `DATABASE_URL` or
/// `RUST_LOG` settings, so the test decides every setting.
pub fn command() -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("TM_") || k.starts_with("OTEL_") || k.starts_with("DATABASE_URL") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c
}

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    exited: Option<ExitStatus>,
}

impl Server {
    /// Starts `task-manager serve` and waits (bounded) until readiness answers 200.
    /// `envs` win over the defaults (SQLite in the temporary directory, jobs off).
    pub async fn start(envs: &[(&str, String)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let addr = free_addr();
        let mut cmd = command();
        cmd.arg("serve")
            .current_dir(dir.path())
            .env("TM_LISTEN", addr.to_string())
            .env("DATABASE_URL", format!("sqlite://{}/tm.db", dir.path().display()))
            .env("TM_SCHEDULE_CLEANUP", "")
            .env("TM_SCHEDULE_METRICS_REFRESH", "")
            .env("TM_SCHEDULE_OUTBOX", "")
            .env("TM_SCHEDULE_DUE_SOON", "")
            .env("TM_SCHEDULE_DIGEST", "")
            .env("TM_SCHEDULE_BACKUP", "")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path().join("stdout.log")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("the task-manager binary starts");
        let mut server = Server { child, addr, dir, exited: None };
        server.wait_ready().await;
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Standard error and standard output so far.
    pub fn output(&self) -> String {
        let err = std::fs::read_to_string(self.path("stderr.log")).unwrap_or_default();
        let out = std::fs::read_to_string(self.path("stdout.log")).unwrap_or_default();
        format!("{err}{out}")
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("task-manager exited during start ({status}):\n{}", self.output());
            }
            if let Ok(r) = client.get(self.url("/healthz/ready")).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "task-manager not ready within 60 s:\n{}", self.output());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn signal(&self, signal: libc::c_int) {
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill({}) failed", self.child.id());
    }

    /// Waits for the process to exit, at most `limit`; `None` if it is still running.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.exited = Some(status);
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited.is_none() && self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
