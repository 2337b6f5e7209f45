//! Storage behaviour that only shows under stress: replicas migrating at once, an
//! exhausted pool, a database that disappears.
mod common;

use std::{sync::Arc, time::Duration};

use common::{base_config, pg, Backend, TestApp};
use reqwest::Method;
use task_manager::{db::Db, telemetry::metrics::Metrics};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_migrating_at_once_apply_each_migration_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = base_config(Backend::Postgres, dir.path());
    let mut replicas = vec![];
    for _ in 0..3 {
        let config = config.clone();
        replicas.push(tokio::spawn(async move {
            let db = Db::connect(&config, Arc::new(Metrics::new(None))).await.unwrap();
            db.migrate().await.unwrap();
            db
        }));
    }
    let mut dbs = vec![];
    for r in replicas {
        dbs.push(r.await.unwrap());
    }
    let applied: Vec<(i64, bool)> = sqlx::query_as("select version, success from _sqlx_migrations order by version")
        .fetch_all(dbs[0].pool())
        .await
        .unwrap();
    let versions: Vec<i64> = applied.iter().map(|(v, _)| *v).collect();
    let mut unique = versions.clone();
    unique.dedup();
    assert_eq!(versions, unique, "each migration recorded once");
    assert!(applied.iter().all(|(_, ok)| *ok));
    assert!(dbs[0].migrations_applied().await.unwrap());
}

both!(an_exhausted_pool_answers_503_with_retry_after, |b| async move {
    let app = TestApp::spawn_with(b, |c| {
        c.db_max_connections = 2;
        c.db_acquire_timeout = Duration::from_millis(300);
    })
    .await;
    let (client, _) = app.user("ada").await;
    // Hold every connection the pool may open (on SQLite the readers; the writer is separate).
    let mut held = vec![];
    for _ in 0..2 {
        held.push(app.state.db.conn().await.unwrap());
    }
    let res = client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().get("retry-after").is_some());
    let (status, body) = common::decode(res).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "unavailable");
    drop(held);
    let (status, _) = app.call(&client, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200, "recovers once connections are free");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_the_database_is_gone_and_liveness_does_not() {
    let app = TestApp::spawn(Backend::Postgres).await;
    assert_eq!(reqwest::get(app.url("/healthz/ready")).await.unwrap().status(), 200);
    let url = {
        use secrecy::ExposeSecret;
        app.state.config.database_url.expose_secret().to_owned()
    };
    let name = url.rsplit('/').next().unwrap().to_owned();
    let admin = pg::server_url();
    {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("drop database {name} with (force)")).execute(&mut c).await.unwrap();
    }
    let res = reqwest::get(app.url("/healthz/ready")).await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["status"], "database_unreachable");
    assert_eq!(reqwest::get(app.url("/healthz/live")).await.unwrap().status(), 200);
    let m = app.metrics().await;
    assert!(m.lines().any(|l| l == "task_manager_ready 0"), "readiness gauge follows");
}

both!(text_search_folds_case_beyond_ascii_on_both_databases, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, _) = app.user("ada").await;
    let (_, p) = app.call(&c, Method::POST, "/api/v1/projects", Some(serde_json::json!({"name": "Schule"}))).await;
    let pid = p["id"].as_i64().unwrap();
    for (title, description) in [("ÉCOLE primaire", ""), ("Rechnung", "ÜBERWEISUNG prüfen"), ("other", "nothing")] {
        let (s, _) = app
            .call(
                &c,
                Method::POST,
                &format!("/api/v1/projects/{pid}/tasks"),
                Some(serde_json::json!({"title": title, "description": description})),
            )
            .await;
        assert_eq!(s, 201);
    }
    for (q, expected) in
        [("école", vec!["ÉCOLE primaire"]), ("überweisung", vec!["Rechnung"]), ("ÉCO", vec!["ÉCOLE primaire"])]
    {
        let (s, page) = app.call(&c, Method::GET, &format!("/api/v1/projects/{pid}/tasks?q={q}"), None).await;
        assert_eq!(s, 200);
        let titles: Vec<&str> =
            page["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
        assert_eq!(titles, expected, "q={q}");
    }
});
