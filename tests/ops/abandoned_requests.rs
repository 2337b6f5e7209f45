//! Requests that end without an answer are still recorded: a client that closes its
//! connection mid-request counts one 499 and leaves `http_server_active_requests` where
//! it was; a request dropped after shutdown began counts as an error (503).
//!
//! The request is kept in flight without timing: its handler waits for a database
//! connection that the test holds (a pool of one, a long acquire timeout).

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::{io::AsyncWriteExt, net::TcpStream};

use crate::{both, common::*, prom};

const ROUTE: &str = "/api/v1/projects";

fn active_posts(s: &[prom::Sample]) -> f64 {
    prom::value(s, "http_server_active_requests", &[("http_request_method", "POST")]).unwrap_or(0.0)
}

fn posts(s: &[prom::Sample], status: &str) -> f64 {
    let labels = [("http_request_method", "POST"), ("http_route", ROUTE), ("http_response_status_code", status)];
    prom::value(s, "http_server_requests_total", &labels).unwrap_or(0.0)
}

/// Scrapes until `ok` holds (bounded), returning the last scrape.
async fn until(app: &TestApp, what: &str, ok: impl Fn(&[prom::Sample]) -> bool) -> Vec<prom::Sample> {
    for _ in 0..300 {
        let s = prom::parse(&app.metrics().await);
        if ok(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: never happened; last scrape:\n{}", app.metrics().await);
}

/// A complete POST that cannot be answered while the test holds the only connection.
async fn stuck_post(app: &TestApp, token: &str) -> TcpStream {
    let body = json!({"name": "Never answered"}).to_string();
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "POST {ROUTE} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        app.addr,
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

both!(a_client_that_goes_away_counts_499_and_leaves_no_request_in_flight, |b| async move {
    let app = TestApp::spawn_with(b, |c| {
        c.db_max_connections = 1;
        c.db_acquire_timeout = Duration::from_secs(120);
    })
    .await;
    let (c, _) = app.user("ada").await;
    let (s, t) =
        app.call(&c, Method::POST, "/api/v1/me/tokens", Some(json!({"name": "cli", "scope": "read_write"}))).await;
    assert_eq!(s, 201, "{t}");
    let token = t["secret"].as_str().unwrap().to_owned();
    let before = prom::parse(&app.metrics().await);
    assert_eq!(active_posts(&before), 0.0);

    let held = app.state.db.pool().acquire().await.unwrap();
    let stream = stuck_post(&app, &token).await;
    until(&app, "the POST is in flight", |s| active_posts(s) == 1.0).await;
    drop(stream);
    let after = until(&app, "the abandoned POST is recorded", |s| posts(s, "499") == 1.0).await;
    assert_eq!(active_posts(&after), 0.0, "the abandoned request is no longer in flight");
    for status in ["201", "503"] {
        assert_eq!(posts(&after, status), posts(&before, status), "no answer was recorded ({status})");
    }
    let labels = [("http_request_method", "POST"), ("http_route", ROUTE), ("http_response_status_code", "499")];
    assert_eq!(prom::value(&after, "http_server_request_duration_seconds_count", &labels), Some(1.0));

    // After shutdown began, an unanswered request is the service's failure, not the client's.
    app.state.lifecycle.begin_shutdown();
    let stream = stuck_post(&app, &token).await;
    until(&app, "the second POST is in flight", |s| active_posts(s) == 1.0).await;
    drop(stream);
    let last = until(&app, "the POST cut by shutdown is recorded", |s| posts(s, "503") == 1.0).await;
    assert_eq!(active_posts(&last), 0.0);
    assert_eq!(posts(&last, "499"), 1.0);

    drop(held);
    let (s, _) = app.call(&c, Method::POST, ROUTE, Some(json!({"name": "Answered"}))).await;
    assert_eq!(s, 201, "the released connection serves again");
});
