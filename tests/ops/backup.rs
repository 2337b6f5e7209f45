//! `task-manager backup` on SQLite: an online copy taken while the service runs, from
//! which a fresh instance starts with the same data; the backup directory keeps the
//! newest `backup_keep` files.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::binary::{command, Server};

async fn post(c: &Client, url: String, body: Value) -> Value {
    let r = c.post(url).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

async fn sign_in(b: &Server) -> Client {
    let c = Client::builder().cookie_store(true).build().unwrap();
    let r = c
        .post(b.url("/api/v1/auth/login"))
        .json(&json!({"email": "keeper@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_starts_a_fresh_instance_with_the_same_data() {
    let live = Server::start(&[]).await;
    let c = Client::builder().cookie_store(true).build().unwrap();
    post(
        &c,
        live.url("/api/v1/auth/register"),
        json!({"email": "keeper@example.com", "password": "correct horse battery", "display_name": "Keeper"}),
    )
    .await;
    let c = sign_in(&live).await;
    let pid = post(&c, live.url("/api/v1/projects"), json!({"name": "Archive me"})).await["id"].as_i64().unwrap();
    let task = post(&c, live.url(&format!("/api/v1/projects/{pid}/tasks")), json!({"title": "Kept safe"})).await;
    let tid = task["id"].as_i64().unwrap();
    post(&c, live.url(&format!("/api/v1/tasks/{tid}/comments")), json!({"body": "still here"})).await;

    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("copy.db");
    let db_url = format!("sqlite://{}/tm.db", live.dir.path().display());
    let out = command()
        .args(["backup", "--to", file.to_str().unwrap()])
        .env("DATABASE_URL", &db_url)
        .env("TM_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("backup written to"));
    // Writes after the backup are not in it.
    post(&c, live.url(&format!("/api/v1/projects/{pid}/tasks")), json!({"title": "After the backup"})).await;

    let restored = Server::start(&[("DATABASE_URL", format!("sqlite://{}", file.display()))]).await;
    let c = sign_in(&restored).await;
    let page: Value =
        c.get(restored.url(&format!("/api/v1/projects/{pid}/tasks"))).send().await.unwrap().json().await.unwrap();
    let titles: Vec<&str> = page["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles, vec!["Kept safe"]);
    let comments: Value =
        c.get(restored.url(&format!("/api/v1/tasks/{tid}/comments"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(comments[0]["body"], "still here");

    // Refuses to overwrite an existing file.
    let again =
        command().args(["backup", "--to", file.to_str().unwrap()]).env("DATABASE_URL", &db_url).output().unwrap();
    assert!(!again.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backup_directory_keeps_the_newest_backups() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let db_url = format!("sqlite://{}/tm.db", dir.path().display());
    let mut written = Vec::new();
    for _ in 0..3 {
        let out = command()
            .arg("backup")
            .env("DATABASE_URL", &db_url)
            .env("TM_BACKUP_DIR", &backups)
            .env("TM_BACKUP_KEEP", "2")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        written.push(String::from_utf8_lossy(&out.stdout).trim().trim_start_matches("backup written to ").to_owned());
    }
    let mut left: Vec<String> =
        std::fs::read_dir(&backups).unwrap().map(|e| e.unwrap().path().display().to_string()).collect();
    left.sort();
    assert_eq!(left, written[1..].to_vec(), "the oldest was deleted");
    assert!(left.iter().all(|p| p.contains("/task-manager-") && p.ends_with(".db")));
}
