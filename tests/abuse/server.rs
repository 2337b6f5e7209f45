//! Connections that never finish a request, idle keep-alive connections and a crowd
//! of connections beyond the bound (`http_header_read_timeout`, `http_idle_timeout`,
//! `http_max_connections`), and webhook deliveries under an environment proxy.
//!
//! No test times the server: the timeouts are configured short and each check waits
//! for the server's own action (end of stream, an answer) within a generous bound.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use crate::common::{binary::Binary, Backend, TestApp};

/// Far longer than any configured timeout below: reaching it means the server never acted.
const BOUND: Duration = Duration::from_secs(20);

const LIVE: &[u8] = b"GET /healthz/live HTTP/1.1\r\nHost: test\r\n\r\n";

async fn app(header: Duration, idle: Duration, max_connections: usize) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |c| {
        c.http_header_read_timeout = header;
        c.http_idle_timeout = idle;
        c.http_max_connections = max_connections;
    })
    .await
}

/// Reads one HTTP/1.1 response (headers and a `Content-Length` body); returns its head.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n =
            tokio::time::timeout(BOUND, stream.read(&mut chunk)).await.expect("a response within the bound").unwrap();
        assert!(n > 0, "the connection closed before a response: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = text[..end].to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return head;
            }
        }
    }
}

/// Waits for the server to close the connection: end of stream or a reset, never a
/// byte of response and never the bound.
async fn closed_by_server(stream: &mut TcpStream) {
    let mut chunk = [0u8; 256];
    match tokio::time::timeout(BOUND, stream.read(&mut chunk)).await {
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!("expected the connection to be closed, got {:?}", String::from_utf8_lossy(&chunk[..n])),
        Err(_) => panic!("the server kept the connection open for {BOUND:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_line_then_silence_is_disconnected_after_the_header_timeout() {
    let app = app(Duration::from_millis(300), Duration::from_secs(600), 64).await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz/live HTTP/1.1\r\n").await.unwrap();
    closed_by_server(&mut slow).await;
    // The replica still serves everyone else.
    let mut other = TcpStream::connect(app.addr).await.unwrap();
    other.write_all(LIVE).await.unwrap();
    assert!(read_response(&mut other).await.starts_with("http/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    // The header timeout is long: only the idle timeout can close this connection.
    let app = app(Duration::from_secs(600), Duration::from_millis(300), 64).await;
    let mut client = TcpStream::connect(app.addr).await.unwrap();
    client.write_all(LIVE).await.unwrap();
    assert!(read_response(&mut client).await.starts_with("http/1.1 200"));
    closed_by_server(&mut client).await;

    // A connection that never sends a byte is idle too.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    closed_by_server(&mut silent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_bound_wait_while_open_ones_are_served() {
    let app = app(Duration::from_secs(600), Duration::from_secs(600), 1).await;
    let mut first = TcpStream::connect(app.addr).await.unwrap();
    first.write_all(LIVE).await.unwrap();
    assert!(read_response(&mut first).await.starts_with("http/1.1 200"));

    // The kernel completes the handshake, but the server does not take the
    // connection while the bound is reached.
    let mut waiting = TcpStream::connect(app.addr).await.unwrap();
    waiting.write_all(LIVE).await.unwrap();
    for _ in 0..5 {
        first.write_all(LIVE).await.unwrap();
        assert!(read_response(&mut first).await.starts_with("http/1.1 200"), "the open connection is served");
    }
    let mut probe = [0u8; 64];
    match waiting.try_read(&mut probe) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("a connection beyond the bound was served: {other:?}"),
    }
    // Once the open connection closes, the waiting one is taken and answered.
    drop(first);
    assert!(read_response(&mut waiting).await.starts_with("http/1.1 200"));
}

/// Counts the connections made to it; never answers (a proxy that should get none).
async fn counting_listener() -> (Arc<AtomicUsize>, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (count, addr)
}

/// A webhook receiver answering 200 to every request; counts the requests.
async fn receiver() -> (Arc<AtomicUsize>, String) {
    let got = Arc::new(AtomicUsize::new(0));
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (got, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_deliveries_never_go_through_an_environment_proxy() {
    let (proxied, proxy) = counting_listener().await;
    let (delivered, hook) = receiver().await;
    let mut server = Binary::start(&[
        ("HTTP_PROXY", proxy.as_str()),
        ("http_proxy", proxy.as_str()),
        ("HTTPS_PROXY", proxy.as_str()),
        ("ALL_PROXY", proxy.as_str()),
        ("TM_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        ("TM_SCHEDULE_OUTBOX", "* * * * * *"),
    ]);
    server.wait_ready().await;
    let client = reqwest::Client::builder().no_proxy().cookie_store(true).build().unwrap();
    let call =
        |method: reqwest::Method, path: &str, body: Value| client.request(method, server.url(path)).json(&body).send();
    let email = "proxy-test@example.com";
    let password = "a webhook owner's long passphrase 7";
    let r = call(
        reqwest::Method::POST,
        "/api/v1/auth/register",
        json!({"email": email, "password": password, "display_name": "Owner"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r =
        call(reqwest::Method::POST, "/api/v1/auth/login", json!({"email": email, "password": password})).await.unwrap();
    assert_eq!(r.status(), 200);
    let project: Value =
        call(reqwest::Method::POST, "/api/v1/projects", json!({"name": "Hooks"})).await.unwrap().json().await.unwrap();
    let pid = project["id"].as_i64().expect("a project");
    let r = call(
        reqwest::Method::POST,
        &format!("/api/v1/projects/{pid}/webhooks"),
        json!({"url": hook, "events": ["task.created"]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let r = call(reqwest::Method::POST, &format!("/api/v1/projects/{pid}/tasks"), json!({"title": "Hooked"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // The outbox runs every second; wait (bounded) for the delivery to arrive.
    for _ in 0..200 {
        if delivered.load(Ordering::SeqCst) > 0 || proxied.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(proxied.load(Ordering::SeqCst), 0, "the delivery went through the proxy:\n{}", server.logs());
    assert_eq!(delivered.load(Ordering::SeqCst), 1, "the receiver got the delivery:\n{}", server.logs());
}
