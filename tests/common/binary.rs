//! The real `task-manager` binary as a child process, for tests of what only the
//! process shows: signals, logs, exported spans, the command line.

use std::{
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

pub struct Binary {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
    pub dir: tempfile::TempDir,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_task-manager"))
}

impl Binary {
    /// Starts `serve` on a free port with SQLite in a temporary directory (unless the
    /// environment given names another database) and JSON logs captured to a file.
    pub fn start(envs: &[(&str, &str)]) -> Binary {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("stderr.log");
        let mut cmd = command();
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TM_LISTEN", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", format!("sqlite://{}/tm.db", dir.path().display()))
            .env("TM_ATTACHMENTS_DIR", dir.path().join("attachments"))
            .env("TM_LOG_FORMAT", "json")
            .env("TM_SCHEDULE_CLEANUP", "")
            .env("TM_SCHEDULE_METRICS_REFRESH", "")
            .env("TM_SCHEDULE_OUTBOX", "")
            .env("TM_SCHEDULE_DUE_SOON", "")
            .env("TM_SCHEDULE_DIGEST", "")
            .env("TM_SCHEDULE_BACKUP", "");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the binary starts");
        Binary { child, base: format!("http://127.0.0.1:{port}"), log, dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Waits (bounded) until readiness answers 200.
    pub async fn wait_ready(&mut self) {
        for _ in 0..300 {
            if let Ok(r) = reqwest::get(self.url("/healthz/ready")).await {
                if r.status() == 200 {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the binary exited early ({status}):\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the binary did not become ready:\n{}", self.logs());
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let ok = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill -TERM");
    }

    /// Waits (bounded) for the process to exit.
    pub async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the process did not exit within {limit:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
