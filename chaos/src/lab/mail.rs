//! The lab's SMTP relay: the tests' aiosmtpd sink (`tests/support/smtp_sink.py`) in its
//! own namespace, reachable from every zone, keeping every message it accepts as a file.
//! The replicas send their e-mail there, with the job schedules and retry delays of
//! production scaled like the lab's other timings; an outage is the relay's process
//! killed (connections refused) until the revert starts it again.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use tokio::process::Child;

use super::net;

/// The relay's namespace (see [`net::NAMESPACES`]).
pub const NAMESPACE: &str = "mail";
pub const PORT: u16 = 2525;

pub fn relay_host() -> String {
    net::ns_addr(NAMESPACE)
}

/// Where the relay keeps the messages (kept across restarts, so nothing is forgotten).
pub fn mail_dir(lab: &Path) -> PathBuf {
    lab.join("mail")
}

/// Installs aiosmtpd into the project's tools environment when it is missing (the same
/// installer the tests use) and returns that environment's Python.
pub fn ensure_python(repo: &Path) -> anyhow::Result<PathBuf> {
    let out = std::process::Command::new("bash")
        .args(["-c", "source scripts/lib/tools.sh && ensure_pymod aiosmtpd aiosmtpd && echo \"$TM_VENV/bin/python\""])
        .current_dir(repo)
        .stderr(Stdio::inherit())
        .output()
        .context("running scripts/lib/tools.sh")?;
    let python = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().trim().to_string();
    if !out.status.success() || python.is_empty() {
        bail!("aiosmtpd could not be installed with scripts/lib/tools.sh (ensure_pymod aiosmtpd)");
    }
    Ok(PathBuf::from(python))
}

/// Starts the relay inside its namespace (its log is appended to, across restarts).
pub fn start(lab: &Path, repo: &Path, python: &Path) -> anyhow::Result<Child> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(lab.join("smtp-relay.log"))?;
    net::zone_command(NAMESPACE, python)
        .arg(repo.join("tests/support/smtp_sink.py"))
        .arg(PORT.to_string())
        .arg(mail_dir(lab))
        .arg(relay_host())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting the SMTP relay (aiosmtpd)")
}

/// Waits until the relay accepts connections (from the host, through its link).
pub async fn wait_listening(timeout: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if tokio::net::TcpStream::connect((relay_host().as_str(), PORT)).await.is_ok() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the SMTP relay did not listen on {}:{PORT} within {timeout:?}", relay_host());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The replicas' e-mail settings, as configuration keys: the lab's relay (plain SMTP
/// inside the lab), production's job schedules and retry delays multiplied by
/// `time_scale`, and no digests (they follow the wall clock; no drill needs them).
pub fn replica_settings(time_scale: f64) -> Vec<(&'static str, String)> {
    let every = |secs: f64| match (secs * time_scale).round().max(1.0) as u32 {
        1 => "* * * * * *".to_string(),
        n if n < 60 => format!("*/{n} * * * * *"),
        _ => "0 * * * * *".to_string(),
    };
    let ms = |secs: f64| format!("{}ms", (secs * time_scale * 1000.0).round().max(1.0) as u64);
    vec![
        ("smtp_host", relay_host()),
        ("smtp_port", PORT.to_string()),
        ("smtp_tls", "none".into()),
        ("smtp_from", "task-manager lab <tasks@chaos.example.com>".into()),
        // Production: the due-soon scan every minute, the outbox every 5 s.
        ("schedule_due_soon", every(60.0)),
        ("schedule_outbox", every(5.0)),
        ("schedule_digest", String::new()),
        // Production: the first retry after 30 s, doubling up to an hour.
        ("notify_retry_base", ms(30.0)),
        ("notify_retry_max", ms(3600.0)),
    ]
}

/// One message the relay accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Received {
    /// When the relay accepted it (Unix seconds).
    pub at: f64,
    pub subject: String,
    /// The task the message links to (`…/tasks/<id>` in its text part).
    pub task_id: Option<i64>,
}

/// Every message accepted for `recipient` (envelope), oldest first.
pub fn received(lab: &Path, recipient: &str) -> anyhow::Result<Vec<Received>> {
    let dir = mail_dir(lab);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let ns: f64 = f.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok()).unwrap_or(0.0);
        if let Some((to, mail)) = parse(ns / 1e9, &std::fs::read(&f)?) {
            if to.split(',').any(|t| t.trim().eq_ignore_ascii_case(recipient)) {
                out.push(mail);
            }
        }
    }
    Ok(out)
}

/// The envelope recipients and the message, from a file the relay wrote.
fn parse(at: f64, raw: &[u8]) -> Option<(String, Received)> {
    use mailparse::MailHeaderMap;
    let m = mailparse::parse_mail(raw).ok()?;
    let mut text = String::new();
    let mut parts = vec![&m];
    while let Some(p) = parts.pop() {
        if p.ctype.mimetype == "text/plain" {
            text = p.get_body().unwrap_or_default();
        } else {
            parts.extend(p.subparts.iter());
        }
    }
    let task_id = text
        .split("/tasks/")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|id| id.parse().ok());
    let subject = m.headers.get_first_value("Subject").unwrap_or_default();
    Some((m.headers.get_first_value("X-Envelope-To").unwrap_or_default(), Received { at, subject, task_id }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reminder_names_its_task_through_its_link() {
        let raw = "X-Envelope-To: drill@chaos.example.com\r\nSubject: Due soon: \"drill 7\"\r\n\
                   MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
                   --b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
                   Open it: http://127.0.0.1/tasks/4=\r\n2\r\n\
                   --b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<a href=\"http://127.0.0.1/tasks/1\">x</a>\r\n--b--\r\n";
        let (to, mail) = parse(1.5, raw.as_bytes()).unwrap();
        assert_eq!(to, "drill@chaos.example.com");
        assert_eq!(mail, Received { at: 1.5, subject: "Due soon: \"drill 7\"".into(), task_id: Some(42) });
    }

    #[test]
    fn timings_scale_like_the_rest_of_the_lab() {
        let s: std::collections::HashMap<_, _> = replica_settings(0.1).into_iter().collect();
        assert_eq!(s["schedule_due_soon"], "*/6 * * * * *");
        assert_eq!(s["schedule_outbox"], "* * * * * *");
        assert_eq!(s["notify_retry_base"], "3000ms");
        assert_eq!(s["notify_retry_max"], "360000ms");
        assert_eq!(s["smtp_host"], "10.213.20.2");
        // Unscaled, they are the service's defaults (README configuration table).
        let prod: std::collections::HashMap<_, _> = replica_settings(1.0).into_iter().collect();
        assert_eq!(prod["schedule_due_soon"], "0 * * * * *");
        assert_eq!(prod["schedule_outbox"], "*/5 * * * * *");
        assert_eq!(prod["notify_retry_base"], "30000ms");
    }
}
