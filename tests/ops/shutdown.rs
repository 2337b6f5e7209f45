//! Graceful shutdown of the real binary on SIGTERM: readiness fails at once, new
//! requests are still served for the drain delay, then the listener closes, requests in
//! flight finish, and the process exits 0 within the grace period.
//!
//! The service has no slow endpoint, so the in-flight requests are POSTs whose bodies
//! are sent in parts across the signal and the closing of the listener.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{binary::Server, prom};

const DRAIN: Duration = Duration::from_secs(2);
const GRACE: Duration = Duration::from_secs(5);

/// A request whose head is sent now and whose body follows in parts.
struct SlowRequest {
    stream: TcpStream,
    body: Vec<u8>,
    sent: usize,
}

impl SlowRequest {
    async fn start(server: &Server, path: &str, body: &Value) -> SlowRequest {
        let body = body.to_string().into_bytes();
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            server.addr,
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut r = SlowRequest { stream, body, sent: 0 };
        r.send(5).await;
        r
    }

    async fn send(&mut self, n: usize) {
        let end = (self.sent + n).min(self.body.len());
        self.stream.write_all(&self.body[self.sent..end]).await.expect("in-flight connection stays open");
        self.stream.flush().await.unwrap();
        self.sent = end;
    }

    /// Sends the rest of the body and reads the response: status and JSON body.
    async fn finish(mut self) -> (u16, Value) {
        let rest = self.body.len() - self.sent;
        self.send(rest).await;
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), self.stream.read_to_end(&mut raw))
            .await
            .expect("response within 10 s")
            .expect("response readable");
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        (status, serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())))
    }
}

/// A client that opens a new connection for every request, as a load balancer's
/// health check would.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(5)).build().unwrap()
}

async fn active_posts(server: &Server) -> f64 {
    let text = fresh_client().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    prom::value(&prom::parse(&text), "http_server_active_requests", &[("http_request_method", "POST")]).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_closes_and_finishes_in_flight_requests() {
    let mut server = Server::start(&[
        ("TM_DRAIN_DELAY", "2s".into()),
        ("TM_SHUTDOWN_GRACE", "5s".into()),
        ("TM_LOG_FORMAT", "json".into()),
    ])
    .await;
    let client = fresh_client();
    let password = "correct horse battery";
    let r = client
        .post(server.url("/api/v1/auth/register"))
        .json(&json!({"email": "early@example.com", "password": password, "display_name": "Early"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Two requests in flight: their heads are in, their bodies are not complete.
    let mut register = SlowRequest::start(
        &server,
        "/api/v1/auth/register",
        &json!({"email": "inflight@example.com", "password": password, "display_name": "In Flight"}),
    )
    .await;
    let mut login =
        SlowRequest::start(&server, "/api/v1/auth/login", &json!({"email": "early@example.com", "password": password}))
            .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while active_posts(&server).await < 2.0 {
        assert!(Instant::now() < deadline, "the two slow requests never became active");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let signalled = Instant::now();
    server.signal(libc::SIGTERM);

    // Readiness fails at once (new connection per probe).
    loop {
        let r = client.get(server.url("/healthz/ready")).send().await.expect("served during the drain delay");
        if r.status() == 503 {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["status"], "shutting_down");
            break;
        }
        assert!(signalled.elapsed() < Duration::from_secs(1), "readiness still {} after SIGTERM", r.status());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // New requests are still served during the drain delay, on new connections.
    let r = client.get(server.url("/healthz/live")).send().await.expect("liveness served while draining");
    assert_eq!(r.status(), 200);
    let signed_in = reqwest::Client::builder().cookie_store(true).pool_max_idle_per_host(0).build().unwrap();
    let r = signed_in
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"email": "early@example.com", "password": password}))
        .send()
        .await
        .expect("login served while draining");
    assert_eq!(r.status(), 200);
    let r = signed_in.get(server.url("/api/v1/me")).send().await.expect("API served while draining");
    assert_eq!(r.status(), 200);
    eprintln!("drain-time requests served {:?} after SIGTERM", signalled.elapsed());
    assert!(
        signalled.elapsed() < DRAIN,
        "the drain-time requests took {:?}, past the drain delay; the test proves nothing",
        signalled.elapsed()
    );

    // The in-flight bodies keep trickling in.
    register.send(5).await;
    login.send(5).await;

    // After the drain delay the listener closes: new connections are refused.
    let refused_at = loop {
        match TcpStream::connect(server.addr).await {
            Ok(conn) => drop(conn),
            Err(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
                break signalled.elapsed();
            }
        }
        assert!(signalled.elapsed() < DRAIN + GRACE, "listener still open {:?} after SIGTERM", signalled.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(refused_at >= DRAIN, "listener closed after {refused_at:?}, before the drain delay");
    assert!(server.child.try_wait().unwrap().is_none(), "the process waits for its in-flight requests");

    // The requests that were in flight when SIGTERM arrived complete.
    let (status, body) = register.finish().await;
    assert_eq!(status, 201, "in-flight register: {body}");
    assert_eq!(body["email"], "inflight@example.com");
    let (status, body) = login.finish().await;
    assert_eq!(status, 200, "in-flight login: {body}");

    // And the process exits 0 within the grace period.
    let status = server.wait_exit(DRAIN + GRACE - signalled.elapsed().min(DRAIN + GRACE)).await;
    let status =
        status.unwrap_or_else(|| panic!("still running {:?} after SIGTERM:\n{}", signalled.elapsed(), server.output()));
    assert!(status.success(), "exit status {status}:\n{}", server.output());
    let log = server.output();
    assert!(log.contains("\"stopped\""), "{log}");

    // The in-flight registration was written.
    use sqlx::Connection;
    let mut db =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", server.path("tm.db").display())).await.unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from app_user where email_normalized = 'inflight@example.com'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(n, 1);
}
