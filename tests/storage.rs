//! Storage behaviour that only shows under stress: replicas migrating at once, an
//! exhausted pool, a database that disappears.
mod common;

use std::{sync::Arc, time::Duration};

use common::{base_config, pg, Backend, TestApp};
use reqwest::{Method, StatusCode};
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

/// A TCP link between the service and PostgreSQL that the test can cut, as a failover or
/// a network fault does: open connections break, new ones are refused.
struct DatabaseLink {
    port: u16,
    accept: tokio::task::JoinHandle<()>,
    pipes: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl DatabaseLink {
    async fn open(port: u16, server: String) -> DatabaseLink {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let pipes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = pipes.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let server = server.clone();
                kept.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut db) = tokio::net::TcpStream::connect(server).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut db).await;
                    }
                }));
            }
        });
        DatabaseLink { port, accept, pipes }
    }

    fn cut(&self) {
        self.accept.abort();
        for pipe in self.pipes.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }
}

/// Readiness is the replica's own state. The database is shared by every replica: if
/// readiness followed it, a failover would take every target out of the load balancer at
/// once. So while the database is away the replica stays ready and live, and the
/// requests that need the database answer 503 with Retry-After; when it is back, they
/// succeed again without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_stays_ready_while_the_database_is_away_and_requests_get_503() {
    let url = pg::fresh_database_url();
    let (head, tail) = url.split_once('@').unwrap();
    let (server, database) = tail.split_once('/').unwrap();
    let link = DatabaseLink::open(0, server.to_owned()).await;
    let through_link = format!("{head}@127.0.0.1:{}/{database}", link.port);
    let app = TestApp::spawn_with(Backend::Postgres, |c| {
        c.database_url = through_link.into();
        c.db_acquire_timeout = Duration::from_millis(500);
    })
    .await;
    let (client, _) = app.user("ada").await;
    let (status, _) = app.call(&client, Method::GET, "/api/v1/projects", None).await;
    assert_eq!(status, 200);

    link.cut();
    let res = client.get(app.url("/api/v1/projects")).send().await.unwrap();
    assert_eq!(res.status(), 503, "a request that needs the database");
    assert!(res.headers().contains_key("retry-after"), "503 without Retry-After: {:?}", res.headers());
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["code"], "unavailable");
    let res = reqwest::get(app.url("/healthz/ready")).await.unwrap();
    assert_eq!(res.status(), 200, "readiness followed the database");
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["status"], "ok");
    assert_eq!(reqwest::get(app.url("/healthz/live")).await.unwrap().status(), 200);
    let m = app.metrics().await;
    assert!(m.lines().any(|l| l == "task_manager_ready 1"), "the readiness gauge follows readiness");

    // The database is back (same address): requests succeed again, no restart.
    let link = DatabaseLink::open(link.port, server.to_owned()).await;
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        status = app.call(&client, Method::GET, "/api/v1/projects", None).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "requests recover when the database is back");
    link.cut();
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
