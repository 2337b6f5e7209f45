//! Outbound webhooks against a real HTTP receiver started by the test: signed
//! payloads, retries, the delivery log, the refusal of private targets (when saved and
//! when delivered) and redirects that are never followed.

use std::sync::{Arc, Mutex};

use axum::{
    body::Bytes,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::post,
    Router,
};
use reqwest::Method;
use serde_json::{json, Value};
use task_manager::webhooks::{deliver::deliver_due, signature};

use crate::{both, common::*, helpers::*};

/// What the receiver got, and the statuses it answers with (the last one repeats).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, HeaderMap, String)>>>,
    answers: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    async fn start(answers: &[u16]) -> (Receiver, String) {
        let r = Receiver { got: Arc::default(), answers: Arc::new(Mutex::new(answers.to_vec())) };
        let state = r.clone();
        let hook = move |path: &'static str| {
            let state = state.clone();
            move |headers: HeaderMap, body: Bytes| async move {
                state.got.lock().unwrap().push((path.to_owned(), headers, String::from_utf8_lossy(&body).into_owned()));
                let mut answers = state.answers.lock().unwrap();
                let code = if answers.len() > 1 { answers.remove(0) } else { answers[0] };
                let status = StatusCode::from_u16(code).unwrap();
                (status, [("location", "/elsewhere")], "ok").into_response()
            }
        };
        let app = Router::new().route("/hook", post(hook("/hook"))).route("/elsewhere", post(hook("/elsewhere")));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, url)
    }

    fn requests(&self) -> Vec<(String, HeaderMap, String)> {
        self.got.lock().unwrap().clone()
    }
}

async fn app_allowing_private(b: Backend) -> TestApp {
    TestApp::spawn_with(b, |c| {
        c.webhook_allow_private_targets = true;
        c.notify_retry_base = std::time::Duration::from_millis(1);
        c.notify_retry_max = std::time::Duration::from_millis(5);
        c.notify_max_attempts = 3;
    })
    .await
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

both!(events_are_signed_retried_and_logged, |b| async move {
    let (receiver, url) = Receiver::start(&[500, 200]).await;
    let app = app_allowing_private(b).await;
    let (owner, _) = app.user("olga").await;
    let pid = create_project(&app, &owner, "Hooks").await;
    let (s, created) = app
        .call(
            &owner,
            Method::POST,
            &format!("/api/v1/projects/{pid}/webhooks"),
            Some(json!({"url": url, "events": ["task.completed", "task.created", "comment.created"]})),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 16);
    assert_eq!(created["events"], json!(["task.created", "task.completed", "comment.created"]));
    let wid = created["id"].as_i64().unwrap();
    let (_, list) = app.call(&owner, Method::GET, &format!("/api/v1/projects/{pid}/webhooks"), None).await;
    assert!(list[0].get("secret").is_none(), "the secret is shown once: {list}");

    let task = create_task(&app, &owner, pid, json!({"title": "Hooked"})).await;
    let tid = task["id"].as_i64().unwrap();
    // First attempt: the receiver answers 500; the delivery waits for a retry.
    assert_eq!(deliver_due(&app.state).await.unwrap(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(deliver_due(&app.state).await.unwrap(), 1);
    let got = receiver.requests();
    assert_eq!(got.len(), 2);
    let (path, headers, body) = &got[1];
    assert_eq!(path, "/hook");
    assert_eq!(header(headers, "x-taskmanager-event"), "task.created");
    assert_eq!(header(headers, "content-type"), "application/json");
    assert_eq!(
        header(&got[0].1, "x-taskmanager-delivery"),
        header(headers, "x-taskmanager-delivery"),
        "a retry repeats the id"
    );
    let sig = header(headers, "x-taskmanager-signature");
    let t: i64 = sig.trim_start_matches("t=").split(',').next().unwrap().parse().unwrap();
    assert_eq!(sig, signature(&secret, t, body), "HMAC-SHA256 over the timestamp and the body");
    assert!((chrono::Utc::now().timestamp() - t).abs() < 300, "a fresh timestamp");
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["event"], "task.created");
    assert_eq!(payload["project_id"], pid);
    assert_eq!(payload["task"]["title"], "Hooked");
    assert!(payload["id"].as_str().unwrap().starts_with("evt_"));

    // Not subscribed: task.updated sends nothing; completing sends task.completed.
    let path = format!("/api/v1/tasks/{tid}");
    app.call(&owner, Method::PATCH, &path, Some(json!({"title": "Renamed"}))).await;
    assert_eq!(deliver_due(&app.state).await.unwrap(), 0);
    app.call(&owner, Method::PATCH, &path, Some(json!({"status": "done"}))).await;
    app.call(&owner, Method::POST, &format!("{path}/comments"), Some(json!({"body": "shipped"}))).await;
    assert_eq!(deliver_due(&app.state).await.unwrap(), 2);
    let events: Vec<String> =
        receiver.requests()[2..].iter().map(|(_, h, _)| header(h, "x-taskmanager-event").to_owned()).collect();
    assert_eq!(events, vec!["task.completed", "comment.created"]);

    let (s, log) =
        app.call(&owner, Method::GET, &format!("/api/v1/projects/{pid}/webhooks/{wid}/deliveries"), None).await;
    assert_eq!(s, 200);
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 3);
    let first = log.last().unwrap();
    assert_eq!(
        (first["status"].as_str(), first["attempts"].as_i64(), first["response_status"].as_i64()),
        (Some("delivered"), Some(2), Some(200))
    );
    let m = app.metrics().await;
    assert!(m.contains("task_manager_webhook_deliveries_total{outcome=\"delivered\"} 3"), "{m}");
    assert!(m.contains("task_manager_webhook_deliveries_total{outcome=\"failed\"} 1"));

    // Paused: nothing is queued.
    let (s, _) = app
        .call(&owner, Method::PATCH, &format!("/api/v1/projects/{pid}/webhooks/{wid}"), Some(json!({"active": false})))
        .await;
    assert_eq!(s, 200);
    create_task(&app, &owner, pid, json!({"title": "Quiet"})).await;
    assert_eq!(deliver_due(&app.state).await.unwrap(), 0);
});

both!(private_targets_are_refused_when_saved_and_when_delivered, |b| async move {
    let (receiver, url) = Receiver::start(&[200]).await;
    let app = TestApp::spawn_with(b, |c| c.notify_max_attempts = 3).await;
    let (owner, owner_id) = app.user("pia").await;
    let pid = create_project(&app, &owner, "Guarded").await;
    for target in [url.as_str(), "http://localhost:9/x", "http://169.254.169.254/latest/meta-data/", "http://[::1]/"] {
        let (s, v) = app
            .call(
                &owner,
                Method::POST,
                &format!("/api/v1/projects/{pid}/webhooks"),
                Some(json!({"url": target, "events": ["task.created"]})),
            )
            .await;
        assert_eq!(s, 422, "{target}: {v}");
        assert_eq!(field_names(&v), vec!["url"]);
    }
    for (body, field) in [
        (json!({"url": "https://hooks.example.com/x", "events": []}), "events"),
        (json!({"url": "https://hooks.example.com/x", "events": ["task.exploded"]}), "events"),
        (json!({"url": "https://hooks.example.com/x", "events": ["task.created"], "secret": "short"}), "secret"),
        (json!({"url": "ftp://hooks.example.com/x", "events": ["task.created"]}), "url"),
    ] {
        let (s, v) = app.call(&owner, Method::POST, &format!("/api/v1/projects/{pid}/webhooks"), Some(body)).await;
        assert_eq!(s, 422);
        assert_eq!(field_names(&v), vec![field.to_string()]);
    }
    assert_eq!(app.count("webhook").await, 0, "nothing stored");

    // A webhook that reaches the database pointing at loopback anyway (a name that
    // later resolves there behaves the same) is refused at delivery, without a request.
    sqlx::query(
        "insert into webhook (project_id, url, secret, events, active, created_by, created_at, updated_at) \
         values ($1, $2, 'a-secret-of-16-chars', 'task.created', 1, $3, 0, 0)",
    )
    .bind(pid)
    .bind(&url)
    .bind(owner_id)
    .execute(app.state.db.pool())
    .await
    .unwrap();
    create_task(&app, &owner, pid, json!({"title": "Leak"})).await;
    assert_eq!(deliver_due(&app.state).await.unwrap(), 1);
    assert!(receiver.requests().is_empty(), "no request reached loopback");
    let (status, error): (String, Option<String>) =
        sqlx::query_as("select status, last_error from webhook_delivery").fetch_one(app.state.db.pool()).await.unwrap();
    assert_eq!(status, "failed");
    assert!(error.unwrap().contains("private"), "refused before any request");
    assert!(app.metrics().await.contains("task_manager_webhook_deliveries_total{outcome=\"refused\"} 1"));
});

both!(redirects_are_never_followed, |b| async move {
    let (receiver, url) = Receiver::start(&[302]).await;
    let app = app_allowing_private(b).await;
    let (owner, _) = app.user("ravi").await;
    let pid = create_project(&app, &owner, "Moved").await;
    let (s, _) = app
        .call(
            &owner,
            Method::POST,
            &format!("/api/v1/projects/{pid}/webhooks"),
            Some(json!({"url": url, "events": ["task.created"]})),
        )
        .await;
    assert_eq!(s, 201);
    create_task(&app, &owner, pid, json!({"title": "Redirected"})).await;
    for _ in 0..3 {
        deliver_due(&app.state).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let got = receiver.requests();
    assert_eq!(got.len(), 3, "three attempts");
    assert!(got.iter().all(|(p, _, _)| p == "/hook"), "the Location was never followed");
    let (status, code, error): (String, Option<i64>, Option<String>) =
        sqlx::query_as("select status, response_status, last_error from webhook_delivery")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!((status.as_str(), code), ("failed", Some(302)));
    assert!(error.unwrap().contains("redirects are not followed"));
});

both!(a_webhook_pauses_when_its_owner_loses_owner_rights_until_another_owner_confirms, |b| async move {
    let (receiver, url) = Receiver::start(&[200]).await;
    let app = app_allowing_private(b).await;
    let (ann, ann_id) = app.user("ann").await;
    let (ben, ben_id) = app.user("ben").await;
    let pid = create_project(&app, &ann, "Shared").await;
    add_member(&app, &ann, pid, "ben", "owner").await;
    let hooks = format!("/api/v1/projects/{pid}/webhooks");
    let mut ids = vec![];
    for who in [&ben, &ben] {
        let (s, w) = app.call(who, Method::POST, &hooks, Some(json!({"url": url, "events": ["task.created"]}))).await;
        assert_eq!(s, 201, "{w}");
        assert_eq!((w["created_by"].as_i64(), &w["paused_reason"]), (Some(ben_id), &Value::Null));
        ids.push(w["id"].as_i64().unwrap());
    }
    let (_, w) = app.call(&ann, Method::POST, &hooks, Some(json!({"url": url, "events": ["task.created"]}))).await;
    let by_ann = w["id"].as_i64().unwrap();
    create_task(&app, &ann, pid, json!({"title": "Before"})).await;
    deliver_due(&app.state).await.unwrap();
    assert_eq!(receiver.requests().len(), 3);

    // Ben is demoted: his webhooks pause, Ann's keeps sending.
    let (s, _) = app
        .call(&ann, Method::PATCH, &format!("/api/v1/projects/{pid}/members/{ben_id}"), Some(json!({"role": "editor"})))
        .await;
    assert_eq!(s, 200);
    let (_, list) = app.call(&ann, Method::GET, &hooks, None).await;
    for w in list.as_array().unwrap() {
        let paused = if w["id"] == by_ann { Value::Null } else { json!("owner_lost_rights") };
        assert_eq!(w["paused_reason"], paused, "{list}");
    }
    create_task(&app, &ann, pid, json!({"title": "While paused"})).await;
    deliver_due(&app.state).await.unwrap();
    assert_eq!(receiver.requests().len(), 4, "only the webhook of a current owner sent");

    // Ben, no longer an owner, cannot confirm; Ann can, and answers for it from then on.
    let confirm = format!("{hooks}/{}/confirm", ids[0]);
    assert_eq!(app.call(&ben, Method::POST, &confirm, None).await.0, 403);
    let (s, w) = app.call(&ann, Method::POST, &confirm, None).await;
    assert_eq!((s.as_u16(), &w["paused_reason"], w["confirmed_by"].as_i64()), (200, &Value::Null, Some(ann_id)), "{w}");
    create_task(&app, &ann, pid, json!({"title": "Confirmed"})).await;
    deliver_due(&app.state).await.unwrap();
    assert_eq!(receiver.requests().len(), 6, "Ann's two webhooks send, Ben's other one stays paused");

    // Removing an owner pauses theirs too; the settings page shows it with a button.
    let (cy, cy_id) = app.user("cy").await;
    add_member(&app, &ann, pid, "cy", "owner").await;
    let (_, w) = app.call(&cy, Method::POST, &hooks, Some(json!({"url": url, "events": ["task.created"]}))).await;
    let by_cy = w["id"].as_i64().unwrap();
    assert_eq!(app.call(&ann, Method::DELETE, &format!("/api/v1/projects/{pid}/members/{cy_id}"), None).await.0, 204);
    let (_, w) = app.call(&ann, Method::GET, &format!("{hooks}/{by_cy}/deliveries"), None).await;
    assert!(w.is_array(), "{w}");
    let (_, list) = app.call(&ann, Method::GET, &hooks, None).await;
    let cy_hook = list.as_array().unwrap().iter().find(|w| w["id"] == by_cy).unwrap();
    assert_eq!((cy_hook["created_by"].as_i64(), &cy_hook["paused_reason"]), (Some(cy_id), &json!("owner_lost_rights")));
    create_task(&app, &ann, pid, json!({"title": "After cy left"})).await;
    deliver_due(&app.state).await.unwrap();
    assert_eq!(receiver.requests().len(), 8, "cy's webhook sends nothing after cy left");
    let html = ann.get(app.url(&format!("/projects/{pid}/settings"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("/projects/{pid}/webhooks/{by_cy}/confirm")), "a Confirm button: {html}");
    assert!(html.contains("Paused: its owner lost owner rights") && html.contains("a former member"));
});
