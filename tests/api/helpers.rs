//! Shared fixtures: requests with headers or raw bodies, small builders for projects,
//! members, labels, tasks and tokens, and a snapshot of the database to prove that a
//! refused request wrote nothing.
#![allow(dead_code)]

use reqwest::{
    header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE},
    Client, Method, StatusCode,
};
use serde_json::{json, Value};

use crate::common::{decode, TestApp};

pub const PASSWORD: &str = "correct horse battery";

/// A response with its headers kept.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `code` of a problem body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// The `field`s of a 422 problem body.
    pub fn fields(&self) -> Vec<String> {
        field_names(&self.body)
    }
}

pub fn field_names(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_owned()).collect())
        .unwrap_or_default()
}

/// A JSON request with extra headers.
pub async fn send(
    app: &TestApp,
    client: &Client,
    method: Method,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Resp {
    let mut req = client.request(method, app.url(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    finish(req).await
}

/// A request with a raw body and content type (none when `None`).
pub async fn send_raw(
    app: &TestApp,
    client: &Client,
    method: Method,
    path: &str,
    body: impl Into<reqwest::Body>,
    content_type: Option<&str>,
) -> Resp {
    let mut req = client.request(method, app.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header(CONTENT_TYPE, ct);
    }
    finish(req).await
}

async fn finish(req: reqwest::RequestBuilder) -> Resp {
    let res = req.send().await.unwrap();
    let headers = res.headers().clone();
    let (status, body) = decode(res).await;
    Resp { status, headers, body }
}

/// A client that authenticates with an API token only (no cookies).
pub fn bearer(secret: &str) -> Client {
    let mut h = HeaderMap::new();
    h.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {secret}")).unwrap());
    Client::builder().default_headers(h).build().unwrap()
}

/// Asserts the status, printing the body on failure; returns the body.
#[track_caller]
pub fn expect(what: &str, got: (StatusCode, Value), status: u16) -> Value {
    assert_eq!(got.0.as_u16(), status, "{what}: {}", got.1);
    got.1
}

pub async fn create_project(app: &TestApp, c: &Client, name: &str) -> i64 {
    let (s, p) = app.call(c, Method::POST, "/api/v1/projects", Some(json!({"name": name}))).await;
    assert_eq!(s, 201, "{p}");
    p["id"].as_i64().unwrap()
}

pub async fn add_member(app: &TestApp, owner: &Client, pid: i64, name: &str, role: &str) {
    let (s, m) = app
        .call(
            owner,
            Method::POST,
            &format!("/api/v1/projects/{pid}/members"),
            Some(json!({"email": format!("{name}@example.com"), "role": role})),
        )
        .await;
    assert_eq!(s, 201, "{m}");
}

pub async fn create_label(app: &TestApp, c: &Client, pid: i64, name: &str) -> i64 {
    let (s, l) = app
        .call(
            c,
            Method::POST,
            &format!("/api/v1/projects/{pid}/labels"),
            Some(json!({"name": name, "color": "#aabbcc"})),
        )
        .await;
    assert_eq!(s, 201, "{l}");
    l["id"].as_i64().unwrap()
}

pub async fn create_task(app: &TestApp, c: &Client, pid: i64, body: Value) -> Value {
    let (s, t) = app.call(c, Method::POST, &format!("/api/v1/projects/{pid}/tasks"), Some(body)).await;
    assert_eq!(s, 201, "{t}");
    t
}

pub async fn get_task(app: &TestApp, c: &Client, id: i64) -> Value {
    let (s, t) = app.call(c, Method::GET, &format!("/api/v1/tasks/{id}"), None).await;
    assert_eq!(s, 200, "{t}");
    t
}

/// Creates a token; returns (id, secret).
pub async fn create_token(app: &TestApp, c: &Client, scope: &str) -> (i64, String) {
    let (s, t) = app
        .call(c, Method::POST, "/api/v1/me/tokens", Some(json!({"name": format!("{scope} token"), "scope": scope})))
        .await;
    assert_eq!(s, 201, "{t}");
    (t["token"]["id"].as_i64().unwrap(), t["secret"].as_str().unwrap().to_owned())
}

/// Ids of the items of a task page.
pub fn ids(page: &Value) -> Vec<i64> {
    page["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect()
}

const TABLES: &[&str] = &[
    "app_user",
    "session",
    "api_token",
    "project",
    "project_member",
    "label",
    "task",
    "task_label",
    "task_relation",
    "comment",
    "activity",
    "idempotency_key",
    "attachment",
];

/// Row counts of every table plus checksums of the mutable columns, so an update
/// that should not have happened shows up too.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot(Vec<(String, i64)>);

pub async fn snapshot(app: &TestApp) -> Snapshot {
    let mut out = vec![];
    for t in TABLES {
        out.push((t.to_string(), app.count(t).await));
    }
    let checks = [
        ("task versions", "select cast(coalesce(sum(version), 0) as bigint) from task"),
        ("task updated", "select cast(coalesce(sum(updated_at), 0) as bigint) from task"),
        ("task parents", "select cast(coalesce(sum(parent_id), 0) as bigint) from task"),
        ("project updated", "select cast(coalesce(sum(updated_at), 0) as bigint) from project"),
        ("project archived", "select cast(coalesce(sum(archived), 0) as bigint) from project"),
        ("user updated", "select cast(coalesce(sum(updated_at), 0) as bigint) from app_user"),
        ("user disabled", "select cast(coalesce(sum(disabled), 0) as bigint) from app_user"),
        ("label text", "select cast(coalesce(sum(length(name) + length(color)), 0) as bigint) from label"),
        ("member roles", "select cast(coalesce(sum(length(role)), 0) as bigint) from project_member"),
        ("revoked tokens", "select count(*) from api_token where revoked_at is not null"),
    ];
    for (name, sql) in checks {
        let v: i64 = sqlx::query_scalar(sql).fetch_one(app.state.db.pool()).await.unwrap();
        out.push((name.to_owned(), v));
    }
    Snapshot(out)
}

#[track_caller]
pub fn assert_unchanged(before: &Snapshot, after: &Snapshot, what: &str) {
    assert_eq!(before, after, "{what}: the refused request changed the database");
}
