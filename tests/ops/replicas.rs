//! Three `task-manager serve` processes on one PostgreSQL database, every job running
//! every second on each of them: every due-soon reminder and every digest reaches the
//! (real) SMTP server exactly once.

use std::time::Duration;

use reqwest::Client;
use serde_json::{json, Value};

use crate::{
    binary::Server,
    common::{pg, smtp::SmtpSink},
};

async fn send(c: &Client, method: reqwest::Method, url: String, body: Value) -> Value {
    let r = c.request(method.clone(), &url).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{method} {url}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// Registers and signs in; returns the client and the account id.
async fn account(s: &Server, name: &str, settings: Value) -> (Client, i64) {
    let c = Client::builder().cookie_store(true).build().unwrap();
    let email = format!("{name}@example.com");
    send(
        &c,
        reqwest::Method::POST,
        s.url("/api/v1/auth/register"),
        json!({"email": email, "password": "correct horse battery", "display_name": name}),
    )
    .await;
    // Sign-up answers alike for new and taken addresses; the id comes with sign-in.
    let me = send(
        &c,
        reqwest::Method::POST,
        s.url("/api/v1/auth/login"),
        json!({"email": email, "password": "correct horse battery"}),
    )
    .await;
    send(&c, reqwest::Method::PATCH, s.url("/api/v1/me/notifications"), settings).await;
    (c, me["id"].as_i64().unwrap())
}

fn sent_total(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("task_manager_emails_total{") && l.contains("outcome=\"sent\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_postgresql_deliver_every_reminder_and_digest_exactly_once() {
    let sink = SmtpSink::start().await;
    let db = pg::fresh_database_url();
    let every_second = "* * * * * *".to_owned();
    let envs = [
        ("DATABASE_URL", db),
        ("TM_SMTP_HOST", "127.0.0.1".to_owned()),
        ("TM_SMTP_PORT", sink.port.to_string()),
        ("TM_SMTP_TLS", "none".to_owned()),
        ("TM_SCHEDULE_OUTBOX", every_second.clone()),
        ("TM_SCHEDULE_DUE_SOON", every_second.clone()),
        ("TM_SCHEDULE_DIGEST", every_second.clone()),
    ];
    // Started together: they also race on the migrations and the signing key.
    let (a, b, c) = tokio::join!(Server::start(&envs), Server::start(&envs), Server::start(&envs));
    let replicas = [a, b, c];

    // Settings first, so no scan sees a task before its owner's preferences.
    let (alice, alice_id) = account(&replicas[0], "alice", json!({"digest": false})).await;
    let (carol, carol_id) = account(&replicas[1], "carol", json!({"due_soon": false, "digest_time": "00:00"})).await;
    let post = reqwest::Method::POST;
    let p = send(&alice, post.clone(), replicas[0].url("/api/v1/projects"), json!({"name": "Ops"})).await["id"].clone();
    let now = chrono::Utc::now();
    for i in 0..10 {
        let due = (now + chrono::Duration::minutes(30 + i)).to_rfc3339();
        let body = json!({"title": format!("Reminder {i}"), "assignee_id": alice_id, "due_at": due});
        // Spread the writes over the replicas.
        send(&alice, post.clone(), replicas[i as usize % 3].url(&format!("/api/v1/projects/{p}/tasks")), body).await;
    }
    let q =
        send(&carol, post.clone(), replicas[2].url("/api/v1/projects"), json!({"name": "Home"})).await["id"].clone();
    let overdue = (now - chrono::Duration::hours(2)).to_rfc3339();
    let body = json!({"title": "Overdue chore", "assignee_id": carol_id, "due_at": overdue});
    send(&carol, post, replicas[2].url(&format!("/api/v1/projects/{q}/tasks")), body).await;

    let expected = 11;
    sink.wait_for(expected).await;
    // Several more rounds of every job on every replica: nothing else may arrive.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mails = sink.messages();
    let mut subjects: Vec<String> = mails.iter().map(|m| m.subject.clone()).collect();
    subjects.sort();
    let mut unique = subjects.clone();
    unique.dedup();
    assert_eq!(mails.len(), expected, "{subjects:#?}");
    assert_eq!(unique.len(), expected, "a duplicate: {subjects:#?}");
    assert_eq!(subjects.iter().filter(|s| s.contains("Reminder")).count(), 10);
    assert_eq!(mails.iter().filter(|m| m.subject.starts_with("Your tasks for")).count(), 1);
    assert!(mails.iter().filter(|m| m.subject.contains("Reminder")).all(|m| m.envelope_to == "alice@example.com"));

    // Every replica's counters together: exactly one send per e-mail.
    let mut sent = 0.0;
    for r in &replicas {
        sent += sent_total(&reqwest::get(r.url("/metrics")).await.unwrap().text().await.unwrap());
    }
    assert_eq!(sent, expected as f64);
}
