//! Bad input of every class: the status, the problem+json shape (the harness checks
//! it on every 4xx), the code, the offending fields, and that nothing was written.

use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::{both, common::*, helpers::*};

/// What a case sends.
enum Body {
    None,
    Json(Value),
    Raw(&'static str, Option<&'static str>),
    Bytes(Vec<u8>, &'static str),
}

struct Case {
    name: String,
    method: Method,
    path: String,
    body: Body,
    headers: Vec<(&'static str, String)>,
    status: u16,
    code: Option<&'static str>,
    fields: Option<Vec<&'static str>>,
}

fn case(name: impl Into<String>, method: Method, path: impl Into<String>, body: Body, status: u16) -> Case {
    Case { name: name.into(), method, path: path.into(), body, headers: vec![], status, code: None, fields: None }
}

impl Case {
    fn code(mut self, c: &'static str) -> Self {
        self.code = Some(c);
        self
    }
    fn fields(mut self, f: &[&'static str]) -> Self {
        self.fields = Some(f.to_vec());
        self
    }
    fn header(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.headers.push((k, v.into()));
        self
    }
}

/// Runs every case, each between two snapshots, and reports all mismatches at once.
async fn run(app: &TestApp, c: &Client, cases: Vec<Case>) {
    let mut failures = vec![];
    for k in cases {
        let before = snapshot(app).await;
        let mut req = c.request(k.method.clone(), app.url(&k.path));
        req = match k.body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Raw(text, ct) => {
                let r = req.body(text);
                match ct {
                    Some(ct) => r.header("content-type", ct),
                    None => r,
                }
            }
            Body::Bytes(bytes, ct) => req.body(bytes).header("content-type", ct),
        };
        for (h, v) in &k.headers {
            req = req.header(*h, v);
        }
        let res = req.send().await.unwrap();
        let (status, body) = decode(res).await;
        let mut wrong = vec![];
        if status.as_u16() != k.status {
            wrong.push(format!("status {status}, expected {}", k.status));
        }
        if let Some(code) = k.code {
            if body["code"] != code {
                wrong.push(format!("code {}, expected {code}", body["code"]));
            }
        }
        if let Some(fields) = &k.fields {
            if field_names(&body) != *fields {
                wrong.push(format!("fields {:?}, expected {fields:?}", field_names(&body)));
            }
        }
        if k.status == 422 && body["code"] == "validation_failed" && field_names(&body).is_empty() {
            wrong.push("422 without field errors".into());
        }
        if snapshot(app).await != before {
            wrong.push("the database changed".into());
        }
        if !wrong.is_empty() {
            let body = body.to_string();
            failures.push(format!(
                "{} ({} {}): {} — body {}",
                k.name,
                k.method,
                k.path,
                wrong.join("; "),
                &body[..body.len().min(300)]
            ));
        }
    }
    assert!(failures.is_empty(), "{} bad-input cases failed:\n{}", failures.len(), failures.join("\n"));
}

struct Fixture {
    app: TestApp,
    c: Client,
    pid: i64,
    tid: i64,
    version: i64,
    label: i64,
    foreign_label: i64,
    outsider_id: i64,
}

async fn fixture(b: Backend) -> Fixture {
    let app = TestApp::spawn(b).await;
    let (c, _) = app.user("bad").await;
    let (o, outsider_id) = app.user("outsider").await;
    let pid = create_project(&app, &c, "Bad input").await;
    let label = create_label(&app, &c, pid, "mine").await;
    let theirs = create_project(&app, &o, "Theirs").await;
    let foreign_label = create_label(&app, &o, theirs, "theirs").await;
    let t = create_task(&app, &c, pid, json!({"title": "target", "due_at": "2030-01-01T00:00:00Z"})).await;
    Fixture {
        app,
        c,
        pid,
        tid: t["id"].as_i64().unwrap(),
        version: t["version"].as_i64().unwrap(),
        label,
        foreign_label,
        outsider_id,
    }
}

both!(json_bodies, |b| async move {
    let f = fixture(b).await;
    let (pid, tid) = (f.pid, f.tid);
    let create = format!("/api/v1/projects/{pid}/tasks");
    let task = format!("/api/v1/tasks/{tid}");
    let mut cases = vec![];
    use Method as M;
    // Malformed JSON: 400 on every JSON endpoint.
    for (m, p) in [
        (M::POST, create.clone()),
        (M::PATCH, task.clone()),
        (M::POST, format!("{task}/move")),
        (M::POST, format!("{task}/comments")),
        (M::POST, "/api/v1/projects".into()),
        (M::PATCH, format!("/api/v1/projects/{pid}")),
        (M::POST, format!("/api/v1/projects/{pid}/labels")),
        (M::POST, format!("/api/v1/projects/{pid}/members")),
        (M::POST, "/api/v1/me/tokens".into()),
        (M::PATCH, "/api/v1/me".into()),
        (M::POST, "/api/v1/auth/register".into()),
        (M::POST, "/api/v1/auth/login".into()),
    ] {
        cases.push(
            case(
                format!("malformed {p}"),
                m.clone(),
                p.clone(),
                Body::Raw("{\"title\": ", Some("application/json")),
                400,
            )
            .code("malformed_json"),
        );
        cases.push(
            case(
                format!("trailing garbage {p}"),
                m.clone(),
                p.clone(),
                Body::Raw("{} x", Some("application/json")),
                400,
            )
            .code("malformed_json"),
        );
        cases.push(
            case(format!("empty body {p}"), m.clone(), p.clone(), Body::Raw("", Some("application/json")), 400)
                .code("malformed_json"),
        );
        // Non-JSON content types: 415.
        cases.push(
            case(
                format!("text/plain {p}"),
                m.clone(),
                p.clone(),
                Body::Raw("{\"title\": \"x\"}", Some("text/plain")),
                415,
            )
            .code("unsupported_media_type"),
        );
        cases.push(
            case(format!("no content type {p}"), m.clone(), p.clone(), Body::Raw("{\"title\": \"x\"}", None), 415)
                .code("unsupported_media_type"),
        );
        cases.push(
            case(
                format!("form {p}"),
                m.clone(),
                p.clone(),
                Body::Raw("title=x", Some("application/x-www-form-urlencoded")),
                415,
            )
            .code("unsupported_media_type"),
        );
        // Oversized: 413.
        let mut big = b"{\"title\": \"".to_vec();
        big.extend(std::iter::repeat_n(b'a', 1024 * 1024 + 16));
        big.extend(b"\"}");
        cases.push(
            case(format!("oversized {p}"), m.clone(), p.clone(), Body::Bytes(big, "application/json"), 413)
                .code("payload_too_large"),
        );
    }
    let j = |v: Value| Body::Json(v);
    cases.extend([
        // Wrong types name the field.
        case("title number", M::POST, create.clone(), j(json!({"title": 5})), 422).fields(&["title"]),
        case("title null", M::POST, create.clone(), j(json!({"title": null})), 422).fields(&["title"]),
        case("priority number", M::POST, create.clone(), j(json!({"title": "x", "priority": 2})), 422)
            .fields(&["priority"]),
        case("labels strings", M::POST, create.clone(), j(json!({"title": "x", "labels": ["a"]})), 422)
            .fields(&["labels[0]"]),
        case("assignee string", M::POST, create.clone(), j(json!({"title": "x", "assignee_id": "me"})), 422)
            .fields(&["assignee_id"]),
        case("array body", M::POST, create.clone(), j(json!([1, 2])), 422).code("validation_failed"),
        case("patch title array", M::PATCH, task.clone(), j(json!({"title": ["x"]})), 422).fields(&["title"]),
        case("patch labels object", M::PATCH, task.clone(), j(json!({"labels": {"a": 1}})), 422).fields(&["labels"]),
        case("move after string", M::POST, format!("{task}/move"), j(json!({"after_id": "x"})), 422)
            .fields(&["after_id"]),
        case("project name number", M::POST, "/api/v1/projects", j(json!({"name": 1})), 422).fields(&["name"]),
        case("archived string", M::PATCH, format!("/api/v1/projects/{pid}"), j(json!({"archived": "yes"})), 422)
            .fields(&["archived"]),
        case("comment body bool", M::POST, format!("{task}/comments"), j(json!({"body": true})), 422).fields(&["body"]),
        case("missing title", M::POST, create.clone(), j(json!({"description": "x"})), 422)
            .fields(&["title"])
            .code("validation_failed"),
        // Unknown enum values.
        case("status doing", M::POST, create.clone(), j(json!({"title": "x", "status": "doing"})), 422)
            .fields(&["status"]),
        case("priority critical", M::PATCH, task.clone(), j(json!({"priority": "critical"})), 422)
            .fields(&["priority"]),
        case("status case", M::PATCH, task.clone(), j(json!({"status": "DONE"})), 422).fields(&["status"]),
        case("move status", M::POST, format!("{task}/move"), j(json!({"status": "later"})), 422).fields(&["status"]),
        case(
            "member role",
            M::POST,
            format!("/api/v1/projects/{pid}/members"),
            j(json!({"email": "outsider@example.com", "role": "boss"})),
            422,
        )
        .fields(&["role"]),
        case("token scope", M::POST, "/api/v1/me/tokens", j(json!({"name": "t", "scope": "admin"})), 422)
            .fields(&["scope"]),
        // Unknown fields.
        case("unknown field create", M::POST, create.clone(), j(json!({"title": "x", "colour": "red"})), 422)
            .fields(&["colour"])
            .code("validation_failed"),
        case("unknown field patch", M::PATCH, task.clone(), j(json!({"version": 9})), 422).fields(&["version"]),
        case("unknown field project", M::POST, "/api/v1/projects", j(json!({"name": "x", "owner": 1})), 422)
            .fields(&["owner"]),
        case(
            "unknown field label",
            M::POST,
            format!("/api/v1/projects/{pid}/labels"),
            j(json!({"name": "x", "color": "#000000", "icon": "x"})),
            422,
        )
        .fields(&["icon"]),
        case(
            "unknown field register",
            M::POST,
            "/api/v1/auth/register",
            j(json!({"email": "n@example.com", "password": PASSWORD, "display_name": "n", "is_admin": true})),
            422,
        )
        .fields(&["is_admin"]),
        case("unknown field me", M::PATCH, "/api/v1/me", j(json!({"email": "x@example.com"})), 422).fields(&["email"]),
        // Too long and empty.
        case("title 201", M::POST, create.clone(), j(json!({"title": "t".repeat(201)})), 422).fields(&["title"]),
        case("title 201 patch", M::PATCH, task.clone(), j(json!({"title": "é".repeat(201)})), 422).fields(&["title"]),
        case(
            "description 20001",
            M::POST,
            create.clone(),
            j(json!({"title": "x", "description": "d".repeat(20_001)})),
            422,
        )
        .fields(&["description"]),
        case("description 20001 patch", M::PATCH, task.clone(), j(json!({"description": "d".repeat(20_001)})), 422)
            .fields(&["description"]),
        case("empty title", M::POST, create.clone(), j(json!({"title": "   \t "})), 422).fields(&["title"]),
        case("empty title patch", M::PATCH, task.clone(), j(json!({"title": ""})), 422).fields(&["title"]),
        case(
            "every field at once",
            M::POST,
            create.clone(),
            j(json!({"title": "", "description": "d".repeat(20_001)})),
            422,
        )
        .fields(&["title", "description"]),
        case("project name 101", M::POST, "/api/v1/projects", j(json!({"name": "p".repeat(101)})), 422)
            .fields(&["name"]),
        case("empty project name", M::PATCH, format!("/api/v1/projects/{pid}"), j(json!({"name": " "})), 422)
            .fields(&["name"]),
        case(
            "label name 51",
            M::POST,
            format!("/api/v1/projects/{pid}/labels"),
            j(json!({"name": "l".repeat(51), "color": "#000000"})),
            422,
        )
        .fields(&["name"]),
        case("duplicate labels", M::POST, create.clone(), j(json!({"title": "x", "labels": [f.label, f.label]})), 422)
            .fields(&["labels"]),
        case("control characters", M::POST, create.clone(), j(json!({"title": "a\u{0}b"})), 422).fields(&["title"]),
        case(
            "bad e-mail",
            M::POST,
            "/api/v1/auth/register",
            j(json!({"email": "nope", "password": PASSWORD, "display_name": "n"})),
            422,
        )
        .fields(&["email"]),
        case(
            "short password",
            M::POST,
            "/api/v1/auth/register",
            j(json!({"email": "n@example.com", "password": "short", "display_name": "n"})),
            422,
        )
        .fields(&["password"]),
        case(
            "bad time zone",
            M::POST,
            "/api/v1/auth/register",
            j(json!({"email": "n@example.com", "password": PASSWORD, "display_name": "n", "time_zone": "Moon/Base"})),
            422,
        )
        .fields(&["time_zone"]),
        // Bad dates.
        case("date only", M::POST, create.clone(), j(json!({"title": "x", "due_at": "2030-01-01"})), 422)
            .fields(&["due_at"]),
        case("no offset", M::POST, create.clone(), j(json!({"title": "x", "due_at": "2030-01-01T10:00:00"})), 422)
            .fields(&["due_at"]),
        case("words", M::POST, create.clone(), j(json!({"title": "x", "due_at": "tomorrow"})), 422).fields(&["due_at"]),
        case("month 13", M::POST, create.clone(), j(json!({"title": "x", "due_at": "2030-13-01T00:00:00Z"})), 422)
            .fields(&["due_at"]),
        case("epoch number", M::POST, create.clone(), j(json!({"title": "x", "due_at": 1893456000})), 422)
            .fields(&["due_at"]),
        case("patch no offset", M::PATCH, task.clone(), j(json!({"due_at": "2030-01-01 10:00"})), 422)
            .fields(&["due_at"]),
        case(
            "token expiry no offset",
            M::POST,
            "/api/v1/me/tokens",
            j(json!({"name": "t", "scope": "read", "expires_at": "2099-01-01T00:00:00"})),
            422,
        )
        .fields(&["expires_at"]),
        // References to outside the project.
        case(
            "assignee not a member",
            M::POST,
            create.clone(),
            j(json!({"title": "x", "assignee_id": f.outsider_id})),
            422,
        )
        .fields(&["assignee_id"]),
        case("assignee unknown", M::POST, create.clone(), j(json!({"title": "x", "assignee_id": 987654})), 422)
            .fields(&["assignee_id"]),
        case("assignee not a member patch", M::PATCH, task.clone(), j(json!({"assignee_id": f.outsider_id})), 422)
            .fields(&["assignee_id"]),
        case(
            "foreign label",
            M::POST,
            create.clone(),
            j(json!({"title": "x", "labels": [f.label, f.foreign_label]})),
            422,
        )
        .fields(&["labels"]),
        case("foreign label patch", M::PATCH, task.clone(), j(json!({"labels": [f.foreign_label]})), 422)
            .fields(&["labels"]),
        case("unknown label", M::PATCH, task.clone(), j(json!({"labels": [987654]})), 422).fields(&["labels"]),
    ]);
    run(&f.app, &f.c, cases).await;
    // The task is exactly as created.
    let t = get_task(&f.app, &f.c, f.tid).await;
    assert_eq!((t["version"].as_i64(), t["title"].as_str()), (Some(f.version), Some("target")));
});

both!(unknown_and_garbage_ids, |b| async move {
    let f = fixture(b).await;
    let (pid, tid, label) = (f.pid, f.tid, f.label);
    use Method as M;
    let j = |v: Value| Body::Json(v);
    let mut cases = vec![];
    // Unknown ids: 404.
    for (m, p, body) in [
        (M::GET, "/api/v1/projects/987654".to_owned(), Body::None),
        (M::PATCH, "/api/v1/projects/987654".to_owned(), j(json!({"name": "x"}))),
        (M::DELETE, "/api/v1/projects/987654".to_owned(), Body::None),
        (M::GET, "/api/v1/projects/987654/tasks".to_owned(), Body::None),
        (M::POST, "/api/v1/projects/987654/tasks".to_owned(), j(json!({"title": "x"}))),
        (M::GET, "/api/v1/projects/987654/labels".to_owned(), Body::None),
        (M::POST, "/api/v1/projects/987654/labels".to_owned(), j(json!({"name": "x", "color": "#000000"}))),
        (M::PATCH, format!("/api/v1/projects/{pid}/labels/987654"), j(json!({"name": "x"}))),
        (M::DELETE, format!("/api/v1/projects/{pid}/labels/987654"), Body::None),
        (M::GET, "/api/v1/projects/987654/members".to_owned(), Body::None),
        (
            M::POST,
            "/api/v1/projects/987654/members".to_owned(),
            j(json!({"email": "outsider@example.com", "role": "viewer"})),
        ),
        (M::GET, "/api/v1/tasks/987654".to_owned(), Body::None),
        (M::PATCH, "/api/v1/tasks/987654".to_owned(), j(json!({"title": "x"}))),
        (M::DELETE, "/api/v1/tasks/987654".to_owned(), Body::None),
        (M::POST, "/api/v1/tasks/987654/move".to_owned(), j(json!({}))),
        (M::GET, "/api/v1/tasks/987654/comments".to_owned(), Body::None),
        (M::POST, "/api/v1/tasks/987654/comments".to_owned(), j(json!({"body": "x"}))),
        (M::DELETE, format!("/api/v1/tasks/{tid}/comments/987654"), Body::None),
        (M::GET, "/api/v1/tasks/987654/activity".to_owned(), Body::None),
        (M::DELETE, "/api/v1/me/tokens/987654".to_owned(), Body::None),
        (M::GET, "/api/v1/no/such/route".to_owned(), Body::None),
        // Negative and zero ids are just unknown.
        (M::GET, "/api/v1/tasks/-1".to_owned(), Body::None),
        (M::GET, "/api/v1/tasks/0".to_owned(), Body::None),
        (M::PATCH, "/api/v1/tasks/-5".to_owned(), j(json!({"title": "x"}))),
        (M::GET, "/api/v1/projects/-1".to_owned(), Body::None),
        (M::DELETE, format!("/api/v1/projects/{pid}/labels/-1"), Body::None),
    ] {
        cases.push(case(format!("unknown {m} {p}"), m, p, body, 404).code("not_found"));
    }
    // Garbage ids: a 400 with the problem shape, never a 500.
    for (m, p, body) in [
        (M::GET, "/api/v1/tasks/abc".to_owned(), Body::None),
        (M::GET, "/api/v1/tasks/1.5".to_owned(), Body::None),
        (M::GET, "/api/v1/tasks/99999999999999999999999".to_owned(), Body::None),
        (M::PATCH, "/api/v1/tasks/abc".to_owned(), j(json!({"title": "x"}))),
        (M::DELETE, "/api/v1/tasks/%20".to_owned(), Body::None),
        (M::POST, "/api/v1/tasks/x/move".to_owned(), j(json!({}))),
        (M::GET, "/api/v1/projects/abc".to_owned(), Body::None),
        (M::POST, "/api/v1/projects/abc/tasks".to_owned(), j(json!({"title": "x"}))),
        (M::GET, "/api/v1/projects/abc/tasks".to_owned(), Body::None),
        (M::PATCH, format!("/api/v1/projects/{pid}/labels/abc"), j(json!({"name": "x"}))),
        (M::PATCH, format!("/api/v1/projects/{pid}/members/abc"), j(json!({"role": "viewer"}))),
        (M::DELETE, format!("/api/v1/tasks/{tid}/comments/abc"), Body::None),
        (M::DELETE, "/api/v1/me/tokens/abc".to_owned(), Body::None),
        (M::PATCH, "/api/v1/admin/users/abc".to_owned(), j(json!({"disabled": true}))),
    ] {
        cases.push(case(format!("garbage {m} {p}"), m, p, body, 400));
    }
    let _ = label;
    run(&f.app, &f.c, cases).await;
    // A method the route does not have: 405 with the problem shape, nothing written.
    let before = snapshot(&f.app).await;
    let (s, p) = f.app.call(&f.c, M::PUT, &format!("/api/v1/tasks/{tid}"), Some(json!({"title": "x"}))).await;
    assert_eq!((s.as_u16(), p["code"].as_str()), (405, Some("method_not_allowed")), "{p}");
    assert_unchanged(&before, &snapshot(&f.app).await, "method not allowed");
});

both!(if_match_and_idempotency, |b| async move {
    let f = fixture(b).await;
    let (app, c) = (&f.app, &f.c);
    let task = format!("/api/v1/tasks/{}", f.tid);
    let create = format!("/api/v1/projects/{}/tasks", f.pid);
    use Method as M;
    let j = |v: Value| Body::Json(v);
    let mut cases = vec![];
    for bad in ["abc", "\"x\"", "\"1", "W/abc", "1,2", ""] {
        cases.push(
            case(format!("If-Match {bad:?} patch"), M::PATCH, task.clone(), j(json!({"title": "x"})), 400)
                .header("if-match", bad)
                .code("invalid_if_match"),
        );
        cases.push(
            case(format!("If-Match {bad:?} delete"), M::DELETE, task.clone(), Body::None, 400)
                .header("if-match", bad)
                .code("invalid_if_match"),
        );
        cases.push(
            case(format!("If-Match {bad:?} move"), M::POST, format!("{task}/move"), j(json!({})), 400)
                .header("if-match", bad)
                .code("invalid_if_match"),
        );
    }
    let stale = format!("\"{}\"", f.version + 100);
    cases.push(
        case("stale patch", M::PATCH, task.clone(), j(json!({"title": "x"})), 412)
            .header("if-match", stale.clone())
            .code("stale_version"),
    );
    cases.push(
        case("stale delete", M::DELETE, task.clone(), Body::None, 412)
            .header("if-match", stale.clone())
            .code("stale_version"),
    );
    cases.push(
        case("stale move", M::POST, format!("{task}/move"), j(json!({"status": "done"})), 412)
            .header("if-match", stale)
            .code("stale_version"),
    );
    // Idempotency-Key: invalid keys.
    cases.push(
        case("empty key", M::POST, create.clone(), j(json!({"title": "k"})), 400)
            .header("idempotency-key", " ")
            .code("invalid_idempotency_key"),
    );
    cases.push(
        case("long key", M::POST, create.clone(), j(json!({"title": "k"})), 400)
            .header("idempotency-key", "k".repeat(256))
            .code("invalid_idempotency_key"),
    );
    run(app, c, cases).await;

    // A PATCH after a change by someone else: 412 and nothing changed.
    let r = send(app, c, M::PATCH, &task, Some(json!({"title": "v2"})), &[("if-match", &format!("\"{}\"", f.version))])
        .await;
    assert_eq!(r.status, 200);
    let before = snapshot(app).await;
    let r = send(
        app,
        c,
        M::PATCH,
        &task,
        Some(json!({"title": "lost update"})),
        &[("if-match", &format!("\"{}\"", f.version))],
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (412, "stale_version"));
    assert_unchanged(&before, &snapshot(app).await, "stale If-Match");
    assert_eq!(get_task(app, c, f.tid).await["title"], "v2");
    // `*` matches any version.
    let r = send(app, c, M::PATCH, &task, Some(json!({"title": "v3"})), &[("if-match", "*")]).await;
    assert_eq!(r.status, 200);

    // Same key, same body: the first response again, one row.
    let tasks_before = app.count("task").await;
    let first = send(app, c, M::POST, &create, Some(json!({"title": "once"})), &[("idempotency-key", "key-1")]).await;
    assert_eq!(first.status, 201);
    let again = send(app, c, M::POST, &create, Some(json!({"title": "once"})), &[("idempotency-key", "key-1")]).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.count("task").await, tasks_before + 1);
    // Same key, different body or endpoint: 422 and nothing written.
    let before = snapshot(app).await;
    let r = send(app, c, M::POST, &create, Some(json!({"title": "twice"})), &[("idempotency-key", "key-1")]).await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "idempotency_key_reused"), "{}", r.body);
    let r = send(app, c, M::POST, "/api/v1/projects", Some(json!({"title": "once"})), &[("idempotency-key", "key-1")])
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (422, "idempotency_key_reused"), "{}", r.body);
    assert_unchanged(&before, &snapshot(app).await, "idempotency key reuse");
    // Keys are per user: another user may use the same key.
    let (other, _) = app.user("other").await;
    let r = send(
        app,
        &other,
        M::POST,
        "/api/v1/projects",
        Some(json!({"name": "theirs"})),
        &[("idempotency-key", "key-1")],
    )
    .await;
    assert_eq!(r.status, 201);
    // A refused first request is replayed as refused (the key is spent on it).
    let r = send(app, c, M::POST, &create, Some(json!({"title": ""})), &[("idempotency-key", "key-2")]).await;
    assert_eq!(r.status, 422);
    let before = snapshot(app).await;
    let r = send(app, c, M::POST, &create, Some(json!({"title": ""})), &[("idempotency-key", "key-2")]).await;
    assert_eq!((r.status.as_u16(), r.header("idempotent-replayed")), (422, Some("true")));
    assert_unchanged(&before, &snapshot(app).await, "replayed refusal");
});
