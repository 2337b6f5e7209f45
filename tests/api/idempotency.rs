//! A key claimed by a request whose replica died: the retry waits while the claim could
//! still have a live holder (younger than the request timeout plus a second), then
//! takes the claim over and writes exactly once.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use task_manager::{auth::secret::sha256_hex, domain::now_millis};

use crate::{both, common::*, helpers::*};

/// A claim as a request that never finished leaves it: no answer stored.
async fn leave_claim(app: &TestApp, user: i64, key: &str, path: &str, body: &str, age: Duration) {
    let hash = sha256_hex(format!("session\nPOST {path}\n{body}").as_bytes());
    let created = now_millis() - age.as_millis() as i64;
    sqlx::query(
        "insert into idempotency_key (user_id, key, request_hash, created_at, expires_at) values ($1, $2, $3, $4, $5)",
    )
    .bind(user)
    .bind(key)
    .bind(hash)
    .bind(created)
    .bind(created + 24 * 3600 * 1000)
    .execute(app.state.db.pool())
    .await
    .unwrap();
}

both!(a_dead_holders_claim_is_taken_over_after_the_request_timeout, |b| async move {
    let app = TestApp::spawn_with(b, |c| c.request_timeout = Duration::from_secs(2)).await;
    let (c, me) = app.user("ida").await;
    let pid = create_project(&app, &c, "Retries").await;
    let path = format!("/api/v1/projects/{pid}/tasks");
    let body = json!({"title": "after a crash"});

    // Older than timeout + 1 s: no request can still hold it, the retry runs at once.
    leave_claim(&app, me, "dead", &path, &body.to_string(), Duration::from_millis(3500)).await;
    let r = send(&app, &c, Method::POST, &path, Some(body.clone()), &[("idempotency-key", "dead")]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("idempotent-replayed"), None);

    // A fresh claim may belong to a live request: it is not taken over before it is
    // 3 s old. A retry meanwhile waits and, cut by the 2 s request timeout, answers 503
    // (which a careful client retries); the next retry takes the claim over.
    leave_claim(&app, me, "fresh", &path, &body.to_string(), Duration::ZERO).await;
    let claimed = std::time::Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let r = send(&app, &c, Method::POST, &path, Some(body.clone()), &[("idempotency-key", "fresh")]).await;
        if r.status == 201 {
            assert!(claimed.elapsed() >= Duration::from_millis(2900), "taken over after {:?}", claimed.elapsed());
            break;
        }
        assert_eq!((r.status.as_u16(), r.code()), (503, "unavailable"), "{}", r.body);
        assert_eq!(app.count("task").await, 1, "nothing written while the claim is held");
        assert!(attempts < 4, "still refused after {:?}", claimed.elapsed());
    }
    assert_eq!(app.count("task").await, 2, "one task per key");
});
