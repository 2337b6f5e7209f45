//! A real SMTP server process for the notification tests: Python's aiosmtpd
//! (`tests/support/smtp_sink.py`), installed into the tools' virtual environment when
//! missing, keeping every message it accepts as a file.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::Duration,
};

use super::binary::free_port;

/// One received e-mail, parsed.
#[derive(Debug, Clone)]
pub struct Mail {
    pub envelope_to: String,
    pub to: String,
    pub subject: String,
    pub list_unsubscribe: String,
    pub list_unsubscribe_post: String,
    pub text: String,
    pub html: String,
}

pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn tools_python() -> PathBuf {
    if let Ok(p) = std::env::var("TM_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let tools = std::env::var("TM_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/task-manager-tools"));
    tools.join("venv/bin/python")
}

/// The tools' Python with `module` importable, installed (PyPI `spec`) with the
/// project's installer when it is missing; fails loudly if it cannot be.
pub fn python_with(module: &str, spec: &str) -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let python = tools_python();
    let importable = || {
        Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !importable() {
        let root = env!("CARGO_MANIFEST_DIR");
        let status = Command::new("bash")
            .args(["-c", &format!("source scripts/lib/tools.sh && ensure_pymod {module} '{spec}'")])
            .current_dir(root)
            .status()
            .expect("bash runs");
        assert!(status.success() && importable(), "{spec} could not be installed into {}", python.display());
    }
    python
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let mut sink = SmtpSink { port: free_port(), dir: tempfile::tempdir().unwrap(), child: None };
        sink.restart().await;
        sink
    }

    /// (Re)starts the server on the same port, keeping the messages received so far.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the sink is running");
        let python = python_with("aiosmtpd", "aiosmtpd");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let child = Command::new(python)
            .args([script, &self.port.to_string(), &self.dir.path().display().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("the SMTP sink starts");
        self.child = Some(child);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the SMTP sink did not listen on port {}", self.port);
    }

    /// Stops the server: connections are refused until `restart`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files.iter().map(|f| parse(&std::fs::read(f).unwrap())).collect()
    }

    /// Waits (bounded) until at least `n` messages arrived and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        for _ in 0..600 {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {n} e-mails, got {}: {:#?}", self.messages().len(), self.messages());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn parse(raw: &[u8]) -> Mail {
    let m = mailparse::parse_mail(raw).expect("a well-formed message");
    let header = |name: &str| {
        use mailparse::MailHeaderMap;
        m.headers.get_first_value(name).unwrap_or_default()
    };
    let mut text = String::new();
    let mut html = String::new();
    let mut parts = vec![&m];
    while let Some(p) = parts.pop() {
        match p.ctype.mimetype.as_str() {
            "text/plain" => text = p.get_body().unwrap(),
            "text/html" => html = p.get_body().unwrap(),
            _ => parts.extend(p.subparts.iter()),
        }
    }
    Mail {
        envelope_to: header("X-Envelope-To"),
        to: header("To"),
        subject: header("Subject"),
        list_unsubscribe: header("List-Unsubscribe"),
        list_unsubscribe_post: header("List-Unsubscribe-Post"),
        text,
        html,
    }
}
