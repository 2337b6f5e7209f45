//! Test harness: starts the real application on port 0 against a fresh database,
//! SQLite (a temporary file) or PostgreSQL (a new database per test), and drives it
//! over HTTP.
//!
//! PostgreSQL: `TM_TEST_PG_URL` names a server (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); when none answers, the harness
//! starts a private server from the installed PostgreSQL binaries (see `pg`).
#![allow(dead_code)]

pub mod binary;
pub mod pg;
pub mod s3;
pub mod smtp;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use reqwest::{header, Client, Method, Response, StatusCode};
use serde_json::{json, Value};
use task_manager::{config::Config, startup::Application, state::AppState, telemetry::metrics::Metrics};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub backend: Backend,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// Settings every test app starts with: loopback, port 0, no scheduled jobs.
pub fn base_config(backend: Backend, dir: &std::path::Path) -> Config {
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}/tm.db", dir.display()),
        Backend::Postgres => pg::fresh_database_url(),
    };
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        schedule_cleanup: String::new(),
        schedule_metrics_refresh: String::new(),
        schedule_outbox: String::new(),
        schedule_due_soon: String::new(),
        schedule_digest: String::new(),
        schedule_backup: String::new(),
        attachments_dir: dir.join("attachments"),
        database_url: database_url.into(),
        // Tests sign up many accounts from loopback, and some in parallel; the sign-up
        // throttle and the hashing bound have tests of their own that set these.
        registration_max_per_address: 10_000,
        password_hashing_wait: Duration::from_secs(60),
        ..Config::default()
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = base_config(backend, dir.path());
        adjust(&mut config);
        let metrics = Arc::new(Metrics::new(config.zone.as_deref()));
        let app = Application::build(config, metrics).await.expect("application starts");
        let addr = app.local_addr();
        let state = app.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        TestApp { addr, state, backend, stop: Some(tx), server: Some(server), _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A client with its own cookie jar (one browser).
    pub fn client(&self) -> Client {
        Client::builder().cookie_store(true).timeout(Duration::from_secs(30)).build().unwrap()
    }

    /// Registers and signs in a new account; returns the signed-in client and the user id.
    pub async fn user(&self, name: &str) -> (Client, i64) {
        let client = self.client();
        let email = format!("{name}@example.com");
        let r = client
            .post(self.url("/api/v1/auth/register"))
            .json(&json!({"email": email, "password": "correct horse battery", "display_name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "register {name}");
        let r = client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "login {name}");
        // Sign-up answers alike for new and taken addresses; the id comes with sign-in.
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        (client, id)
    }

    /// Sends a JSON request and returns status and body (Null when empty).
    pub async fn call(&self, client: &Client, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = client.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        decode(res).await
    }

    /// Rows in a table, to assert that a refused request wrote nothing.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("select count(*) from {table}")).fetch_one(self.state.db.pool()).await.unwrap()
    }

    /// The metrics exposition.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics")).await.unwrap().text().await.unwrap()
    }

    /// Stops the server as SIGTERM would and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            s.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn decode(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("").starts_with("application/problem+json"))
        .unwrap_or(false);
    let text = res.text().await.unwrap();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    if status.is_client_error() || status.is_server_error() {
        assert!(is_problem, "error responses are problem+json: {status} {body}");
        assert_problem_shape(status, &body);
    }
    (status, body)
}

/// Every error body has the RFC 9457 shape with a stable code.
pub fn assert_problem_shape(status: StatusCode, body: &Value) {
    assert_eq!(body["status"].as_u64(), Some(status.as_u16() as u64), "{body}");
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string(), "{body}");
    assert!(body["code"].as_str().is_some_and(|c| !c.is_empty()), "{body}");
}

/// Runs a test body against SQLite and PostgreSQL as two test functions.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)($crate::common::Backend::Postgres).await
            }
        }
    };
}
