//! Concurrency: optimistic locking under contention, idempotent creates racing on one
//! key, and many writers on SQLite.

use std::collections::BTreeSet;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::{both, common::*};

/// A project owned by a new user, with one task; returns the owner's client, the
/// project id and the task.
async fn project_with_task(app: &TestApp) -> (Client, i64, Value, String) {
    let (c, _) = app.user("owner").await;
    let (s, p) = app.call(&c, Method::POST, "/api/v1/projects", Some(json!({"name": "Race"}))).await;
    assert_eq!(s, 201, "{p}");
    let pid = p["id"].as_i64().unwrap();
    let r = c
        .post(app.url(&format!("/api/v1/projects/{pid}/tasks")))
        .json(&json!({"title": "contended"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let task: Value = r.json().await.unwrap();
    (c, pid, task, etag)
}

both!(fifty_patches_with_one_if_match_one_wins, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, _, task, etag) = project_with_task(&app).await;
    let id = task["id"].as_i64().unwrap();
    let v0 = task["version"].as_i64().unwrap();
    let mut handles = Vec::new();
    for i in 0..50 {
        let (c, url, etag) = (c.clone(), app.url(&format!("/api/v1/tasks/{id}")), etag.clone());
        handles.push(tokio::spawn(async move {
            let r = c
                .patch(url)
                .header("if-match", etag)
                .json(&json!({"title": format!("writer {i}")}))
                .send()
                .await
                .unwrap();
            let (status, body) = decode(r).await;
            (i, status, body)
        }));
    }
    let mut winners = Vec::new();
    let mut stale = 0;
    for h in handles {
        let (i, status, body) = h.await.unwrap();
        match status {
            StatusCode::OK => winners.push((i, body)),
            StatusCode::PRECONDITION_FAILED => {
                assert_eq!(body["code"], "stale_version", "{body}");
                stale += 1;
            }
            other => panic!("writer {i}: unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one PATCH succeeds: {winners:?}");
    assert_eq!(stale, 49);
    let (winner, body) = &winners[0];
    assert_eq!(body["version"].as_i64(), Some(v0 + 1), "{body}");
    let (s, now) = app.call(&c, Method::GET, &format!("/api/v1/tasks/{id}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(now["version"].as_i64(), Some(v0 + 1), "version advanced by exactly one: {now}");
    assert_eq!(now["title"], format!("writer {winner}"));
    app.stop().await;
});

both!(twenty_posts_with_one_idempotency_key_make_one_row, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, _) = app.user("owner").await;
    let (s, p) = app.call(&c, Method::POST, "/api/v1/projects", Some(json!({"name": "Idem"}))).await;
    assert_eq!(s, 201);
    let pid = p["id"].as_i64().unwrap();
    assert_eq!(app.count("task").await, 0);
    let mut handles = Vec::new();
    for _ in 0..20 {
        let (c, url) = (c.clone(), app.url(&format!("/api/v1/projects/{pid}/tasks")));
        handles.push(tokio::spawn(async move {
            let r = c
                .post(url)
                .header("idempotency-key", "one-key-for-twenty")
                .json(&json!({"title": "only once", "priority": "high"}))
                .send()
                .await
                .unwrap();
            let replayed = r.headers().contains_key("idempotent-replayed");
            let (status, body) = decode(r).await;
            (status, body, replayed)
        }));
    }
    let mut ids = BTreeSet::new();
    let mut originals = 0;
    for h in handles {
        let (status, body, replayed) = h.await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
        ids.insert(body["id"].as_i64().unwrap_or_else(|| panic!("no task id in {body}")));
        if !replayed {
            originals += 1;
        }
    }
    assert_eq!(ids.len(), 1, "every response names the same task: {ids:?}");
    assert_eq!(originals, 1, "one request ran, the others replayed its response");
    assert_eq!(app.count("task").await, 1);
    app.stop().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_creates_on_sqlite_all_succeed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (c, _) = app.user("owner").await;
    let (s, p) = app.call(&c, Method::POST, "/api/v1/projects", Some(json!({"name": "Busy"}))).await;
    assert_eq!(s, 201);
    let pid = p["id"].as_i64().unwrap();
    let mut handles = Vec::new();
    for i in 0..200 {
        let (c, url) = (c.clone(), app.url(&format!("/api/v1/projects/{pid}/tasks")));
        handles.push(tokio::spawn(async move {
            let r = c.post(url).json(&json!({"title": format!("task {i}")})).send().await.unwrap();
            decode(r).await
        }));
    }
    let mut ids = BTreeSet::new();
    for h in handles {
        let (status, body) = h.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.insert(body["id"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 200);
    assert_eq!(app.count("task").await, 200);
    app.stop().await;
}
