//! The drill's client: open-loop traffic through the load balancer (each request on
//! its own schedule, so a slow answer is not hidden by sending fewer), a mix of task
//! listings and task creations, and the ledger of every acknowledged write (HTTP 201
//! with the task's id). Writes carry an `Idempotency-Key`; a careful client retries a
//! transport error or a 502/503/504 with the same key, so a retry cannot duplicate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::lab::supervisor::now;

/// One logical request (after the client's retries).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    pub sent_at: f64,
    pub latency_ms: f64,
    /// Final HTTP status; 0 for a transport error.
    pub status: u16,
    pub write: bool,
    pub attempts: u32,
}

impl Sample {
    pub fn ok(&self) -> bool {
        (200..500).contains(&self.status)
    }
}

/// An acknowledged write.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ack {
    pub task_id: i64,
    pub key: String,
    pub sent_at: f64,
    pub acked_at: f64,
}

#[derive(Default)]
pub struct Recorded {
    pub samples: Vec<Sample>,
    pub ledger: Vec<Ack>,
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    pub project_id: i64,
    pub run_id: String,
    /// The drill user's account and e-mail address (reminders go there).
    pub user_id: i64,
    pub email: String,
    /// Writes create tasks assigned to the drill user, due this far ahead.
    pub due_in: Option<Duration>,
}

fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers().get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        Some(v.split(';').next()?.to_string())
    })
}

impl Client {
    /// Signs up a drill user, makes an API token and a project (through the balancer).
    pub async fn setup(base: &str, run_id: &str, due_in: Option<Duration>) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).pool_max_idle_per_host(64).build()?;
        let email = format!("drill-{run_id}@chaos.example.com");
        let password = "correct horse battery staple";
        let r = http
            .post(format!("{base}/api/v1/auth/register"))
            .json(&serde_json::json!({"email": email, "password": password, "display_name": "Chaos drill"}))
            .send()
            .await
            .context("registering the drill user through the load balancer")?;
        if !r.status().is_success() {
            bail!("register: HTTP {}: {}", r.status(), r.text().await.unwrap_or_default());
        }
        let r = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await?;
        let cookie = session_cookie(&r).context("login set no session cookie")?;
        // Sign-up answers alike for new and taken addresses; the id comes with sign-in.
        let user_id = r.json::<serde_json::Value>().await?["id"].as_i64().context("no user id")?;
        let r = http
            .post(format!("{base}/api/v1/me/tokens"))
            .header("cookie", cookie)
            .json(&serde_json::json!({"name": "chaos drill", "scope": "read_write"}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("token: HTTP {}: {}", r.status(), r.text().await.unwrap_or_default());
        }
        let token = r.json::<serde_json::Value>().await?["secret"].as_str().context("no token secret")?.to_string();
        let r = http
            .post(format!("{base}/api/v1/projects"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"name": format!("Drill {run_id}")}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("project: HTTP {}: {}", r.status(), r.text().await.unwrap_or_default());
        }
        let project_id = r.json::<serde_json::Value>().await?["id"].as_i64().context("no project id")?;
        Ok(Client {
            http,
            base: base.to_string(),
            token,
            project_id,
            run_id: run_id.to_string(),
            user_id,
            email,
            due_in,
        })
    }
}

/// Runs the load until `stop` is set; `rate` (requests/s, ×1000) may change meanwhile.
pub async fn run(
    client: Arc<Client>,
    rate_milli: Arc<AtomicU64>,
    write_ratio: f64,
    retries: u32,
    stop: Arc<std::sync::atomic::AtomicBool>,
    rec: Arc<Mutex<Recorded>>,
) {
    let mut n: u64 = 0;
    let mut next = tokio::time::Instant::now();
    let mut inflight = tokio::task::JoinSet::new();
    while !stop.load(Ordering::Relaxed) {
        let rate = rate_milli.load(Ordering::Relaxed) as f64 / 1000.0;
        next += Duration::from_secs_f64(1.0 / rate.max(0.1));
        tokio::time::sleep_until(next).await;
        n += 1;
        let write = rand::thread_rng().gen_bool(write_ratio.clamp(0.0, 1.0));
        let (client, rec) = (client.clone(), rec.clone());
        inflight.spawn(async move { one(&client, n, write, retries, &rec).await });
        while inflight.try_join_next().is_some() {}
    }
    while inflight.join_next().await.is_some() {}
}

async fn one(c: &Client, n: u64, write: bool, retries: u32, rec: &Mutex<Recorded>) {
    let sent_at = now();
    let key = format!("{}-{n}", c.run_id);
    let mut attempts = 0;
    let mut status = 0u16;
    let mut body = None;
    // One body for every attempt: a retry with the same key must be the same request.
    let mut task = serde_json::json!({"title": format!("drill {key}")});
    if let Some(d) = c.due_in {
        let due = chrono::Utc::now() + chrono::Duration::from_std(d).unwrap_or_default();
        task["due_at"] = due.to_rfc3339().into();
        task["assignee_id"] = c.user_id.into();
    }
    while attempts <= retries {
        attempts += 1;
        let req = if write {
            c.http
                .post(format!("{}/api/v1/projects/{}/tasks", c.base, c.project_id))
                .header("idempotency-key", &key)
                .json(&task)
        } else {
            c.http.get(format!("{}/api/v1/projects/{}/tasks?limit=20", c.base, c.project_id))
        };
        match req.bearer_auth(&c.token).send().await {
            Ok(r) => {
                status = r.status().as_u16();
                if write && status == 201 {
                    body = r.json::<serde_json::Value>().await.ok();
                } else {
                    let _ = r.bytes().await;
                }
                if !matches!(status, 502..=504) {
                    break;
                }
            }
            Err(_) => status = 0,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let done = now();
    let mut r = rec.lock().unwrap();
    if let Some(id) = body.as_ref().and_then(|b| b["id"].as_i64()) {
        r.ledger.push(Ack { task_id: id, key, sent_at, acked_at: done });
    }
    r.samples.push(Sample { sent_at, latency_ms: (done - sent_at) * 1000.0, status, write, attempts });
}

/// Percentile (0..=1) of the latencies, milliseconds.
pub fn percentile(samples: &[&Sample], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = samples.iter().map(|s| s.latency_ms).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Some(v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let s: Vec<Sample> = (1..=100)
            .map(|i| Sample { sent_at: 0.0, latency_ms: i as f64, status: 200, write: false, attempts: 1 })
            .collect();
        let refs: Vec<&Sample> = s.iter().collect();
        assert_eq!(percentile(&refs, 0.99), Some(99.0));
        assert_eq!(percentile(&refs, 0.5), Some(50.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
