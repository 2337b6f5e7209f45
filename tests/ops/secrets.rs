//! Secrets never reach the logs: the real binary with JSON logs at debug level, on a
//! PostgreSQL database whose URL carries a password, serves sign-up, sign-in (right and
//! wrong password), a password change, token creation and use, and cookie requests;
//! none of the secrets appears in its output, and every access-log line carries the
//! trace and span ids and the route.

use std::time::Duration;

use reqwest::{header, Client};
use serde_json::{json, Value};

use crate::{binary::Server, common::pg};

struct PgRole {
    admin: String,
    role: String,
    database: String,
    password: String,
}

impl PgRole {
    /// A login role with a password and a database it owns, on the test server.
    async fn create() -> PgRole {
        use sqlx::Connection;
        let admin = pg::server_url();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let suffix = format!("{}_{nanos}", std::process::id());
        let role = format!("tm_secret_test_{suffix}");
        let r = PgRole { database: role.clone(), role, password: format!("pg-s3cret-pw-{nanos}"), admin };
        let mut c = sqlx::PgConnection::connect(&r.admin).await.expect("PostgreSQL test server");
        sqlx::query(&format!("create role {} login password '{}'", r.role, r.password)).execute(&mut c).await.unwrap();
        sqlx::query(&format!("create database {} owner {}", r.database, r.role)).execute(&mut c).await.unwrap();
        r
    }

    /// `postgres://role:password@host:port/database` on the admin URL's server.
    fn url(&self) -> String {
        let host = self.admin.trim_start_matches("postgres://").trim_start_matches("postgresql://");
        let host = host.split_once('@').map(|(_, h)| h).unwrap_or(host);
        let host = host.split('/').next().unwrap();
        format!("postgres://{}:{}@{}/{}", self.role, self.password, host, self.database)
    }

    async fn drop_all(&self) {
        use sqlx::Connection;
        if let Ok(mut c) = sqlx::PgConnection::connect(&self.admin).await {
            let _ =
                sqlx::query(&format!("drop database if exists {} with (force)", self.database)).execute(&mut c).await;
            let _ = sqlx::query(&format!("drop role if exists {}", self.role)).execute(&mut c).await;
        }
    }
}

fn session_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("tm_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.chars().all(|c| c.is_ascii_hexdigit()) && s.chars().any(|c| c != '0')
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_tokens_cookies_and_the_database_password_are_never_logged() {
    let pg_role = PgRole::create().await;
    let mut server = Server::start(&[
        ("DATABASE_URL", pg_role.url()),
        ("TM_LOG_FORMAT", "json".into()),
        ("RUST_LOG", "debug".into()),
    ])
    .await;
    let password = "pw-Initial-9f8e7d6c5b";
    let wrong = "pw-Wrong-1a2b3c4d5e";
    let changed = "pw-Changed-0a9b8c7d6e";
    let plain = Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    let r = plain
        .post(server.url("/api/v1/auth/register"))
        .json(&json!({"email": "sam@example.com", "password": password, "display_name": "Sam"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = plain
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"email": "sam@example.com", "password": wrong}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = plain
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"email": "sam@example.com", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = session_cookie(&r);
    assert!(cookie.len() >= 20, "{cookie}");
    let with_cookie = |b: reqwest::RequestBuilder| b.header(header::COOKIE, format!("tm_session={cookie}"));

    let r = with_cookie(plain.get(server.url("/api/v1/me"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = with_cookie(plain.post(server.url("/api/v1/me/tokens")))
        .json(&json!({"name": "cli", "scope": "read_write"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let token = created["secret"].as_str().unwrap().to_owned();
    let prefix = created["token"]["prefix"].as_str().unwrap().to_owned();
    assert!(token.starts_with(&prefix) && token.len() > prefix.len() + 16, "{created}");

    let r = plain.get(server.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = plain
        .post(server.url("/api/v1/projects"))
        .bearer_auth(&token)
        .json(&json!({"name": "P"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let forged = "tm_forgedTokenThatDoesNotExist0123456789";
    let r = plain.get(server.url("/api/v1/me")).bearer_auth(forged).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = with_cookie(plain.post(server.url("/api/v1/me/password")))
        .json(&json!({"current_password": password, "new_password": changed}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = with_cookie(plain.post(server.url("/api/v1/auth/logout"))).send().await.unwrap();
    assert_eq!(r.status(), 204);

    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(30)).await.expect("exits after SIGTERM");
    assert!(status.success(), "{status}");
    let output = server.output();
    pg_role.drop_all().await;

    // Nothing secret, in any form the service handled.
    let secrets = [
        ("password", password.to_owned()),
        ("wrong password", wrong.to_owned()),
        ("new password", changed.to_owned()),
        ("token", token.clone()),
        ("token secret part", token[prefix.len()..].to_owned()),
        ("forged token", forged.to_owned()),
        ("session cookie", cookie.clone()),
        ("database password", pg_role.password.clone()),
    ];
    for (what, secret) in &secrets {
        assert!(!output.contains(secret.as_str()), "the {what} appears in the logs");
    }

    // JSON lines, at debug level, with access lines that join traces.
    let lines: Vec<Value> = output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(lines.iter().any(|l| l["level"] == "DEBUG"), "RUST_LOG=debug was honoured");
    let access: Vec<&Value> = lines.iter().filter(|l| l["target"] == "access").collect();
    assert!(access.len() >= 10, "one access line per request: {}", access.len());
    for l in &access {
        assert!(l["trace_id"].as_str().is_some_and(|t| is_hex(t, 32)), "trace_id in {l}");
        assert!(l["span_id"].as_str().is_some_and(|s| is_hex(s, 16)), "span_id in {l}");
        assert!(l["route"].as_str().is_some_and(|r| !r.is_empty()), "route in {l}");
        assert!(l["method"].is_string() && l["status"].is_u64() && l["duration_ms"].is_number(), "{l}");
    }
    for route in ["/api/v1/auth/login", "/api/v1/me", "/api/v1/me/tokens", "/api/v1/projects", "/api/v1/auth/logout"] {
        assert!(access.iter().any(|l| l["route"] == route), "no access line for {route}");
    }
    assert!(access.iter().any(|l| l["route"] == "/api/v1/me" && l["status"] == 401));
}
