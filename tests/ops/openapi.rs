//! The OpenAPI document: valid OpenAPI 3.1 (checked by `openapi-spec-validator`), every
//! documented operation served by the router and no undocumented method on its paths,
//! and every real response of a scripted tour of the API documented for its status,
//! with a body that validates against the documented schema.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{header::HeaderMap, Client, Method, RequestBuilder};
use serde_json::{json, Value};

use crate::{both, common::*, prom};

const PASSWORD: &str = "correct horse battery";
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Every (METHOD, path template) of the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if METHODS.contains(&method.to_uppercase().as_str()) {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(doc, doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("dangling $ref {r}"))),
        None => v,
    }
}

/// Checks one real response against the document; `Err` says what disagrees.
fn conforms(
    doc: &Value,
    method: &str,
    template: &str,
    status: u16,
    headers: &HeaderMap,
    text: &str,
) -> Result<(), String> {
    let op = doc["paths"]
        .get(template)
        .and_then(|p| p.get(method.to_lowercase()))
        .ok_or_else(|| format!("{method} {template} is not documented"))?;
    let response = op["responses"]
        .get(status.to_string())
        .map(|r| resolve(doc, r))
        .ok_or_else(|| format!("{method} {template}: status {status} is not documented; body {text}"))?;
    for name in response.get("headers").and_then(Value::as_object).map(|h| h.keys().collect()).unwrap_or(Vec::new()) {
        if !headers.contains_key(name.to_lowercase().as_str()) {
            return Err(format!("{method} {template} {status}: documented header {name} missing"));
        }
    }
    let content = response.get("content").and_then(Value::as_object).filter(|c| !c.is_empty());
    let Some(content) = content else {
        return if text.is_empty() {
            Ok(())
        } else {
            Err(format!("{method} {template} {status}: no body documented, got {text}"))
        };
    };
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_owned();
    // A media range (`image/*`, `*/*`) documents every type it covers.
    let range = format!("{}/*", ct.split('/').next().unwrap_or(""));
    let media = [ct.as_str(), range.as_str(), "*/*"].iter().find_map(|t| content.get(*t)).ok_or_else(|| {
        format!("{method} {template} {status}: content type {ct:?} not documented (documented: {:?})", content.keys())
    })?;
    let Some(schema) = media.get("schema") else { return Ok(()) };
    if !ct.ends_with("json") {
        // A text body (CSV): its media type is documented; there is no JSON to check.
        return Ok(());
    }
    let instance: Value = serde_json::from_str(text)
        .map_err(|e| format!("{method} {template} {status}: body is not JSON ({e}): {text}"))?;
    let mut root = schema.as_object().cloned().unwrap_or_default();
    root.insert("components".into(), doc["components"].clone());
    let validator = jsonschema::draft202012::new(&Value::Object(root))
        .map_err(|e| format!("{method} {template} {status}: schema does not compile: {e}"))?;
    let errors: Vec<String> =
        validator.iter_errors(&instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{method} {template} {status}: body does not match the schema: {errors:?}\nbody: {text}"))
    }
}

/// Sends requests named by their path template and checks every response against the
/// document.
struct Tour<'a> {
    app: &'a TestApp,
    doc: Value,
    /// (METHOD, template) → statuses seen.
    seen: BTreeMap<(String, String), BTreeSet<u16>>,
    failures: Vec<String>,
}

fn fill(template: &str, ids: &[i64]) -> String {
    let mut out = String::new();
    let mut ids = ids.iter();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&rest[..open]);
        out.push_str(&ids.next().unwrap_or_else(|| panic!("too few ids for {template}")).to_string());
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    assert!(ids.next().is_none(), "too many ids for {template}");
    out
}

impl<'a> Tour<'a> {
    fn new(app: &'a TestApp, doc: Value) -> Self {
        Tour { app, doc, seen: BTreeMap::new(), failures: Vec::new() }
    }

    /// A request builder for `template` with `ids` (and an optional query string).
    fn request(&self, client: &Client, method: &Method, template: &str, ids: &[i64], query: &str) -> RequestBuilder {
        client.request(method.clone(), self.app.url(&format!("{}{query}", fill(template, ids))))
    }

    async fn send(&mut self, method: Method, template: &str, builder: RequestBuilder) -> (u16, Value, HeaderMap) {
        let res = builder.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        if let Err(e) = conforms(&self.doc, method.as_str(), template, status, &headers, &text) {
            let replayed =
                if headers.contains_key("idempotent-replayed") { " (an Idempotency-Key replay)" } else { "" };
            self.failures.push(format!("{e}{replayed}"));
        }
        self.seen.entry((method.as_str().to_owned(), template.to_owned())).or_default().insert(status);
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, body, headers)
    }

    /// A JSON request; asserts the status.
    async fn expect(
        &mut self,
        client: &Client,
        method: Method,
        template: &str,
        ids: &[i64],
        body: Option<Value>,
        want: u16,
    ) -> Value {
        self.expect_q(client, method, template, ids, "", body, want).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn expect_q(
        &mut self,
        client: &Client,
        method: Method,
        template: &str,
        ids: &[i64],
        query: &str,
        body: Option<Value>,
        want: u16,
    ) -> Value {
        let mut b = self.request(client, &method, template, ids, query);
        if let Some(body) = body {
            b = b.json(&body);
        }
        let (status, body, _) = self.send(method.clone(), template, b).await;
        assert_eq!(status, want, "{method} {template} {ids:?}{query}: {body}");
        body
    }
}

async fn fetch_doc(app: &TestApp) -> Value {
    let r = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_is_valid_openapi_3_1() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = fetch_doc(&app).await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "openapi: {}", doc["openapi"]);
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    // Installs the validator into the tools venv when missing; never skips.
    let out = std::process::Command::new("bash")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("-c")
        .arg(
            "source scripts/lib/tools.sh && ensure_pip openapi-spec-validator openapi-spec-validator \
             && openapi-spec-validator --schema 3.1 --validation-errors all \"$0\"",
        )
        .arg(&file)
        .output()
        .expect("bash runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "openapi-spec-validator (or its installation) failed:\n{text}");
    assert!(text.contains("OK"), "{text}");
    app.stop().await;
}

both!(router_serves_exactly_the_documented_operations_and_responses_conform, |b| async move {
    let app = TestApp::spawn_with(b, |c| c.login_max_failures = 2).await;
    let doc = fetch_doc(&app).await;
    let documented = operations(&doc);
    assert!(documented.len() > 30, "{documented:?}");
    let mut t = Tour::new(&app, doc.clone());
    let anon = app.client();

    // Health.
    t.expect(&anon, Method::GET, "/healthz/live", &[], None, 200).await;
    t.expect(&anon, Method::GET, "/healthz/ready", &[], None, 200).await;

    // Accounts.
    let admin_user = task_manager::api::auth::create_user(&app.state, "root@example.com", PASSWORD, "Root", None, true)
        .await
        .unwrap();
    let admin = app.client();
    let login = json!({"email": "root@example.com", "password": PASSWORD});
    t.expect(&admin, Method::POST, "/api/v1/auth/login", &[], Some(login), 200).await;
    let olive = app.client();
    let reg = |name: &str| json!({"email": format!("{name}@example.com"), "password": PASSWORD, "display_name": name});
    t.expect(&olive, Method::POST, "/api/v1/auth/register", &[], Some(reg("olive")), 201).await;
    // A taken address gets the same answer (no account enumeration).
    t.expect(&olive, Method::POST, "/api/v1/auth/register", &[], Some(reg("olive")), 201).await;
    t.expect(
        &olive,
        Method::POST,
        "/api/v1/auth/register",
        &[],
        Some(json!({"email": "x", "password": "short", "display_name": ""})),
        422,
    )
    .await;
    let b = t.request(&olive, &Method::POST, "/api/v1/auth/register", &[], "").body("{}");
    let (s, _, _) = t.send(Method::POST, "/api/v1/auth/register", b).await;
    assert_eq!(s, 415);
    let b = t
        .request(&olive, &Method::POST, "/api/v1/auth/register", &[], "")
        .header("content-type", "application/json")
        .body("{");
    let (s, _, _) = t.send(Method::POST, "/api/v1/auth/register", b).await;
    assert_eq!(s, 400);
    let big = format!("{{\"email\":\"{}\"}}", "a".repeat(1024 * 1024 + 10));
    let b = t
        .request(&olive, &Method::POST, "/api/v1/auth/register", &[], "")
        .header("content-type", "application/json")
        .body(big);
    let (s, _, _) = t.send(Method::POST, "/api/v1/auth/register", b).await;
    assert_eq!(s, 413);
    let login = json!({"email": "olive@example.com", "password": PASSWORD});
    let o = t.expect(&olive, Method::POST, "/api/v1/auth/login", &[], Some(login), 200).await;
    let olive_id = o["id"].as_i64().unwrap();

    let carol = app.client();
    t.expect(&carol, Method::POST, "/api/v1/auth/register", &[], Some(reg("carol")), 201).await;
    let login = json!({"email": "carol@example.com", "password": PASSWORD});
    let c = t.expect(&carol, Method::POST, "/api/v1/auth/login", &[], Some(login), 200).await;
    let carol_id = c["id"].as_i64().unwrap();

    // The caller's account.
    t.expect(&olive, Method::GET, "/api/v1/me", &[], None, 200).await;
    t.expect(&anon, Method::GET, "/api/v1/me", &[], None, 401).await;
    t.expect(
        &olive,
        Method::PATCH,
        "/api/v1/me",
        &[],
        Some(json!({"display_name": "Olive", "time_zone": "Europe/Paris"})),
        200,
    )
    .await;
    t.expect(&olive, Method::PATCH, "/api/v1/me", &[], Some(json!({"time_zone": "Mars/Olympus"})), 422).await;
    let change = json!({"current_password": PASSWORD, "new_password": "another long password"});
    t.expect(&olive, Method::POST, "/api/v1/me/password", &[], Some(change), 204).await;
    let change = json!({"current_password": "wrong wrong wrong", "new_password": "another long password"});
    t.expect(&olive, Method::POST, "/api/v1/me/password", &[], Some(change), 422).await;
    let created = t
        .expect(&olive, Method::POST, "/api/v1/me/tokens", &[], Some(json!({"name": "ci", "scope": "read"})), 201)
        .await;
    let token_id = created["token"]["id"].as_i64().unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    t.expect(&olive, Method::POST, "/api/v1/me/tokens", &[], Some(json!({"name": "", "scope": "read"})), 422).await;
    t.expect(&olive, Method::GET, "/api/v1/me/tokens", &[], None, 200).await;
    t.expect(&olive, Method::GET, "/api/v1/me/notifications", &[], None, 200).await;
    let settings = json!({"due_soon": false, "digest_time": "07:00"});
    t.expect(&olive, Method::PATCH, "/api/v1/me/notifications", &[], Some(settings), 200).await;
    let bad = json!({"reminder_lead_minutes": 1});
    t.expect(&olive, Method::PATCH, "/api/v1/me/notifications", &[], Some(bad), 422).await;
    let bearer = Client::new();
    let b = t.request(&bearer, &Method::GET, "/api/v1/me", &[], "").bearer_auth(&secret);
    let (s, _, _) = t.send(Method::GET, "/api/v1/me", b).await;
    assert_eq!(s, 200);
    let b = t
        .request(&bearer, &Method::POST, "/api/v1/projects", &[], "")
        .bearer_auth(&secret)
        .json(&json!({"name": "ro"}));
    let (s, _, _) = t.send(Method::POST, "/api/v1/projects", b).await;
    assert_eq!(s, 403, "a read-only token cannot write");
    t.expect(&olive, Method::DELETE, "/api/v1/me/tokens/{id}", &[token_id], None, 204).await;
    t.expect(&olive, Method::DELETE, "/api/v1/me/tokens/{id}", &[token_id + 100], None, 404).await;

    // Administration.
    t.expect(&admin, Method::GET, "/api/v1/admin/users", &[], None, 200).await;
    t.expect(&olive, Method::GET, "/api/v1/admin/users", &[], None, 403).await;
    t.expect(&admin, Method::PATCH, "/api/v1/admin/users/{id}", &[carol_id], Some(json!({"is_admin": false})), 200)
        .await;
    t.expect(&admin, Method::PATCH, "/api/v1/admin/users/{id}", &[admin_user.id], Some(json!({"disabled": true})), 409)
        .await;
    t.expect(
        &admin,
        Method::PATCH,
        "/api/v1/admin/users/{id}",
        &[carol_id + 1000],
        Some(json!({"disabled": true})),
        404,
    )
    .await;

    // Projects.
    let p = t
        .expect(&olive, Method::POST, "/api/v1/projects", &[], Some(json!({"name": "Tour", "description": "all"})), 201)
        .await;
    let pid = p["id"].as_i64().unwrap();
    t.expect(&olive, Method::POST, "/api/v1/projects", &[], Some(json!({"name": ""})), 422).await;
    let spare = t.expect(&olive, Method::POST, "/api/v1/projects", &[], Some(json!({"name": "Spare"})), 201).await;
    t.expect(&olive, Method::GET, "/api/v1/projects", &[], None, 200).await;
    t.expect_q(&olive, Method::GET, "/api/v1/projects", &[], "?archived=true", None, 200).await;
    t.expect(&olive, Method::GET, "/api/v1/projects/{id}", &[pid], None, 200).await;
    t.expect(&carol, Method::GET, "/api/v1/projects/{id}", &[pid], None, 404).await;
    t.expect(&olive, Method::PATCH, "/api/v1/projects/{id}", &[pid], Some(json!({"description": "everything"})), 200)
        .await;
    t.expect(
        &olive,
        Method::PATCH,
        "/api/v1/projects/{id}",
        &[spare["id"].as_i64().unwrap()],
        Some(json!({"archived": true})),
        200,
    )
    .await;
    t.expect(&olive, Method::DELETE, "/api/v1/projects/{id}", &[spare["id"].as_i64().unwrap()], None, 204).await;

    // Members.
    let add = json!({"email": "carol@example.com", "role": "editor"});
    t.expect(&olive, Method::POST, "/api/v1/projects/{id}/members", &[pid], Some(add.clone()), 201).await;
    t.expect(&olive, Method::POST, "/api/v1/projects/{id}/members", &[pid], Some(add), 409).await;
    t.expect(&olive, Method::GET, "/api/v1/projects/{id}/members", &[pid], None, 200).await;
    t.expect(
        &olive,
        Method::PATCH,
        "/api/v1/projects/{id}/members/{user_id}",
        &[pid, carol_id],
        Some(json!({"role": "viewer"})),
        200,
    )
    .await;
    t.expect(&carol, Method::PATCH, "/api/v1/projects/{id}", &[pid], Some(json!({"name": "mine"})), 403).await;
    t.expect(
        &olive,
        Method::PATCH,
        "/api/v1/projects/{id}/members/{user_id}",
        &[pid, olive_id],
        Some(json!({"role": "viewer"})),
        409,
    )
    .await;
    t.expect(
        &olive,
        Method::PATCH,
        "/api/v1/projects/{id}/members/{user_id}",
        &[pid, carol_id],
        Some(json!({"role": "editor"})),
        200,
    )
    .await;

    // Labels.
    let l = t
        .expect(
            &olive,
            Method::POST,
            "/api/v1/projects/{id}/labels",
            &[pid],
            Some(json!({"name": "bug", "color": "#ff0000"})),
            201,
        )
        .await;
    let lid = l["id"].as_i64().unwrap();
    let l2 = t
        .expect(
            &olive,
            Method::POST,
            "/api/v1/projects/{id}/labels",
            &[pid],
            Some(json!({"name": "chore", "color": "#00ff00"})),
            201,
        )
        .await;
    t.expect(
        &olive,
        Method::POST,
        "/api/v1/projects/{id}/labels",
        &[pid],
        Some(json!({"name": "x", "color": "red"})),
        422,
    )
    .await;
    t.expect(&olive, Method::GET, "/api/v1/projects/{id}/labels", &[pid], None, 200).await;
    t.expect(
        &olive,
        Method::PATCH,
        "/api/v1/projects/{id}/labels/{label_id}",
        &[pid, lid],
        Some(json!({"color": "#aa0000"})),
        200,
    )
    .await;
    t.expect(
        &olive,
        Method::DELETE,
        "/api/v1/projects/{id}/labels/{label_id}",
        &[pid, l2["id"].as_i64().unwrap()],
        None,
        204,
    )
    .await;

    // Export and import.
    let doc = t.expect(&olive, Method::GET, "/api/v1/projects/{id}/export", &[pid], None, 200).await;
    t.expect(&olive, Method::GET, "/api/v1/projects/{id}/tasks.csv", &[pid], None, 200).await;
    t.expect(&olive, Method::POST, "/api/v1/projects/import", &[], Some(doc), 201).await;
    t.expect(
        &olive,
        Method::POST,
        "/api/v1/projects/import",
        &[],
        Some(json!({"format": "x", "name": "y", "exported_at": null})),
        422,
    )
    .await;

    // Imports from other tools and the export of everything.
    let csv = "TYPE,CONTENT,PRIORITY,INDENT\ntask,From Todoist,1,1\n";
    let b = t.request(&olive, &Method::POST, "/api/v1/projects/import/todoist", &[], "?name=Todoist");
    let (status, body, _) =
        t.send(Method::POST, "/api/v1/projects/import/todoist", b.header("content-type", "text/csv").body(csv)).await;
    assert_eq!(status, 201, "{body}");
    let board = json!({"name": "Board", "lists": [{"id": "l", "name": "Doing"}], "cards": [{"id": "c", "name": "Card", "idList": "l"}]});
    t.expect(&olive, Method::POST, "/api/v1/projects/import/trello", &[], Some(board), 201).await;
    t.expect(&olive, Method::POST, "/api/v1/projects/import/trello", &[], Some(json!({"name": "no cards"})), 422).await;
    t.expect(&olive, Method::GET, "/api/v1/me/export", &[], None, 200).await;

    // Webhooks.
    let hook = json!({"url": "https://hooks.example.com/tasks", "events": ["task.created", "task.deleted"]});
    let wh = t.expect(&olive, Method::POST, "/api/v1/projects/{id}/webhooks", &[pid], Some(hook), 201).await;
    let wid = wh["id"].as_i64().unwrap();
    let local = json!({"url": "http://127.0.0.1:9/hook", "events": ["task.created"]});
    t.expect(&olive, Method::POST, "/api/v1/projects/{id}/webhooks", &[pid], Some(local), 422).await;
    t.expect(&olive, Method::GET, "/api/v1/projects/{id}/webhooks", &[pid], None, 200).await;
    let pause = json!({"active": false});
    t.expect(&olive, Method::PATCH, "/api/v1/projects/{id}/webhooks/{webhook_id}", &[pid, wid], Some(pause), 200).await;
    t.expect(&olive, Method::GET, "/api/v1/projects/{id}/webhooks/{webhook_id}/deliveries", &[pid, wid], None, 200)
        .await;
    t.expect(&olive, Method::POST, "/api/v1/projects/{id}/webhooks/{webhook_id}/confirm", &[pid, wid], None, 200).await;
    t.expect(&olive, Method::POST, "/api/v1/projects/{id}/webhooks/{webhook_id}/confirm", &[pid, wid + 100], None, 404)
        .await;
    let owner = json!({"user_id": olive_id});
    t.expect(&admin, Method::POST, "/api/v1/admin/projects/{id}/owners", &[pid], Some(owner.clone()), 200).await;
    t.expect(&olive, Method::POST, "/api/v1/admin/projects/{id}/owners", &[pid], Some(owner.clone()), 403).await;
    t.expect(&admin, Method::POST, "/api/v1/admin/projects/{id}/owners", &[pid + 1000], Some(owner), 404).await;
    t.expect(&olive, Method::DELETE, "/api/v1/projects/{id}/webhooks/{webhook_id}", &[pid, wid], None, 204).await;
    t.expect(&olive, Method::DELETE, "/api/v1/projects/{id}/webhooks/{webhook_id}", &[pid, wid], None, 404).await;

    // Tasks.
    let new_task = json!({"title": "Write the tour", "description": "*all* endpoints", "priority": "high",
        "due_at": "2030-01-02T03:04:05+02:00", "assignee_id": olive_id, "labels": [lid]});
    let b = t
        .request(&olive, &Method::POST, "/api/v1/projects/{id}/tasks", &[pid], "")
        .header("idempotency-key", "tour-1")
        .json(&new_task);
    let (s, task, _) = t.send(Method::POST, "/api/v1/projects/{id}/tasks", b).await;
    assert_eq!(s, 201, "{task}");
    let b = t
        .request(&olive, &Method::POST, "/api/v1/projects/{id}/tasks", &[pid], "")
        .header("idempotency-key", "tour-1")
        .json(&new_task);
    let (s, replay, _) = t.send(Method::POST, "/api/v1/projects/{id}/tasks", b).await;
    assert_eq!((s, &replay["id"]), (201, &task["id"]), "replayed: {replay}");
    let b = t
        .request(&olive, &Method::POST, "/api/v1/projects/{id}/tasks", &[pid], "")
        .header("idempotency-key", "tour-1")
        .json(&json!({"title": "another body"}));
    let (s, _, _) = t.send(Method::POST, "/api/v1/projects/{id}/tasks", b).await;
    assert_eq!(s, 422);
    let tid = task["id"].as_i64().unwrap();
    let second = t
        .expect(
            &olive,
            Method::POST,
            "/api/v1/projects/{id}/tasks",
            &[pid],
            Some(json!({"title": "second", "status": "done"})),
            201,
        )
        .await;
    t.expect(&olive, Method::POST, "/api/v1/projects/{id}/tasks", &[pid], Some(json!({"title": " "})), 422).await;
    t.expect(&carol, Method::GET, "/api/v1/tasks/{id}", &[tid], None, 200).await;
    let page = t
        .expect_q(
            &olive,
            Method::GET,
            "/api/v1/projects/{id}/tasks",
            &[pid],
            "?status=todo,done&sort=created_at&limit=1",
            None,
            200,
        )
        .await;
    let cursor = page["next_cursor"].as_str().expect("a second page").to_owned();
    t.expect_q(
        &olive,
        Method::GET,
        "/api/v1/projects/{id}/tasks",
        &[pid],
        &format!("?status=todo,done&sort=created_at&limit=1&cursor={cursor}"),
        None,
        200,
    )
    .await;
    t.expect_q(&olive, Method::GET, "/api/v1/projects/{id}/tasks", &[pid], "?cursor=garbage", None, 400).await;
    t.expect_q(&olive, Method::GET, "/api/v1/projects/{id}/tasks", &[pid], "?limit=500", None, 422).await;
    t.expect_q(&olive, Method::GET, "/api/v1/tasks", &[], "?assignee=me&q=TOUR&overdue=false", None, 200).await;
    t.expect(&olive, Method::GET, "/api/v1/me/tasks", &[], None, 200).await;
    t.expect(&olive, Method::GET, "/api/v1/tasks/{id}", &[tid], None, 200).await;
    t.expect(&olive, Method::GET, "/api/v1/tasks/{id}", &[tid + 1000], None, 404).await;
    let b = t
        .request(&olive, &Method::PATCH, "/api/v1/tasks/{id}", &[tid], "")
        .header("if-match", "\"1\"")
        .json(&json!({"status": "in_progress", "due_at": null}));
    let (s, patched, _) = t.send(Method::PATCH, "/api/v1/tasks/{id}", b).await;
    assert_eq!(s, 200, "{patched}");
    let b = t
        .request(&olive, &Method::PATCH, "/api/v1/tasks/{id}", &[tid], "")
        .header("if-match", "\"1\"")
        .json(&json!({"title": "stale"}));
    let (s, _, _) = t.send(Method::PATCH, "/api/v1/tasks/{id}", b).await;
    assert_eq!(s, 412);
    t.expect(&olive, Method::PATCH, "/api/v1/tasks/{id}", &[tid], Some(json!({"priority": "extreme"})), 422).await;
    // A recurring task: the completing call names the next occurrence.
    let weekly = json!({"title": "Review", "due_at": "2030-01-07T09:00:00Z", "recurrence": "FREQ=WEEKLY;BYDAY=MO"});
    let rid = t.expect(&olive, Method::POST, "/api/v1/projects/{id}/tasks", &[pid], Some(weekly), 201).await["id"]
        .as_i64()
        .unwrap();
    let done =
        t.expect(&olive, Method::PATCH, "/api/v1/tasks/{id}", &[rid], Some(json!({"status": "done"})), 200).await;
    assert!(done["next_occurrence"]["id"].is_i64(), "{done}");
    let hourly = json!({"recurrence": "FREQ=HOURLY"});
    t.expect(&olive, Method::PATCH, "/api/v1/tasks/{id}", &[rid], Some(hourly), 422).await;
    t.expect(&olive, Method::POST, "/api/v1/tasks/{id}/move", &[tid], Some(json!({"status": "done"})), 200).await;
    t.expect(&olive, Method::POST, "/api/v1/tasks/{id}/move", &[tid], Some(json!({"after_id": tid})), 422).await;
    t.expect(&olive, Method::GET, "/api/v1/tasks/{id}/activity", &[tid], None, 200).await;
    let item = t
        .expect(&olive, Method::POST, "/api/v1/tasks/{id}/checklist", &[tid], Some(json!({"text": "Check"})), 201)
        .await;
    let iid = item["id"].as_i64().unwrap();
    t.expect(&olive, Method::POST, "/api/v1/tasks/{id}/checklist", &[tid], Some(json!({"text": ""})), 422).await;
    t.expect(&olive, Method::GET, "/api/v1/tasks/{id}/checklist", &[tid], None, 200).await;
    let tick = json!({"done": true});
    t.expect(&olive, Method::PATCH, "/api/v1/tasks/{id}/checklist/{item_id}", &[tid, iid], Some(tick), 200).await;
    t.expect(&olive, Method::DELETE, "/api/v1/tasks/{id}/checklist/{item_id}", &[tid, iid], None, 204).await;
    let sid = second["id"].as_i64().unwrap();
    let blocks = json!({"kind": "blocks", "task_id": sid});
    let rel = t.expect(&olive, Method::POST, "/api/v1/tasks/{id}/relations", &[tid], Some(blocks.clone()), 201).await;
    t.expect(&olive, Method::POST, "/api/v1/tasks/{id}/relations", &[tid], Some(blocks), 409).await;
    t.expect(&olive, Method::GET, "/api/v1/tasks/{id}/relations", &[sid], None, 200).await;
    let rid = rel["id"].as_i64().unwrap();
    t.expect(&olive, Method::DELETE, "/api/v1/tasks/{id}/relations/{relation_id}", &[sid, rid], None, 204).await;
    t.expect(&olive, Method::DELETE, "/api/v1/tasks/{id}/relations/{relation_id}", &[sid, rid], None, 404).await;
    // Attachments: a PNG downloads as image/png, an HTML file as an opaque download;
    // both types must be what the document says a download may be.
    let upload = "/api/v1/tasks/{id}/attachments";
    let one = "/api/v1/tasks/{id}/attachments/{attachment_id}";
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let mut aid = 0;
    for (name, bytes, served) in [
        ("dot.png", png.as_slice(), "image/png"),
        ("page.html", b"<!DOCTYPE html><p>hi</p>", "application/octet-stream"),
    ] {
        let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name);
        let b = t
            .request(&olive, &Method::POST, upload, &[tid], "")
            .multipart(reqwest::multipart::Form::new().part("file", part));
        let (s, att, _) = t.send(Method::POST, upload, b).await;
        assert_eq!(s, 201, "{att}");
        aid = att["id"].as_i64().unwrap();
        let (s, _, headers) = t.send(Method::GET, one, t.request(&olive, &Method::GET, one, &[tid, aid], "")).await;
        assert_eq!((s, headers["content-type"].to_str().unwrap()), (200, served), "{name}");
    }
    t.expect(&olive, Method::POST, upload, &[tid], Some(json!({"file": "not a form"})), 400).await;
    t.expect(&olive, Method::GET, upload, &[tid], None, 200).await;
    t.expect(&olive, Method::GET, one, &[tid, aid + 1000], None, 404).await;
    t.expect(&olive, Method::DELETE, one, &[tid, aid], None, 204).await;
    let bulk = json!({"task_ids": [tid], "set": {"priority": "low"}});
    t.expect(&olive, Method::POST, "/api/v1/projects/{id}/tasks/bulk", &[pid], Some(bulk), 200).await;
    let bulk = json!({"task_ids": [], "delete": true});
    t.expect(&olive, Method::POST, "/api/v1/projects/{id}/tasks/bulk", &[pid], Some(bulk), 422).await;

    // Comments.
    let cm = t
        .expect(&carol, Method::POST, "/api/v1/tasks/{id}/comments", &[tid], Some(json!({"body": "Looks good"})), 201)
        .await;
    t.expect(&olive, Method::POST, "/api/v1/tasks/{id}/comments", &[tid], Some(json!({"body": ""})), 422).await;
    t.expect(&olive, Method::GET, "/api/v1/tasks/{id}/comments", &[tid], None, 200).await;
    t.expect(
        &olive,
        Method::DELETE,
        "/api/v1/tasks/{id}/comments/{comment_id}",
        &[tid, cm["id"].as_i64().unwrap()],
        None,
        403,
    )
    .await;
    t.expect(
        &carol,
        Method::DELETE,
        "/api/v1/tasks/{id}/comments/{comment_id}",
        &[tid, cm["id"].as_i64().unwrap()],
        None,
        204,
    )
    .await;

    // Sign-in throttling (last: it throttles the client address every user here shares).
    let wrong = json!({"email": "nobody@example.com", "password": "not the password"});
    t.expect(&anon, Method::POST, "/api/v1/auth/login", &[], Some(wrong.clone()), 401).await;
    t.expect(&anon, Method::POST, "/api/v1/auth/login", &[], Some(wrong.clone()), 401).await;
    t.expect(&anon, Method::POST, "/api/v1/auth/login", &[], Some(wrong), 429).await;

    // Removals and sign-out.
    t.expect(&olive, Method::DELETE, "/api/v1/tasks/{id}", &[second["id"].as_i64().unwrap()], None, 204).await;
    t.expect(&olive, Method::DELETE, "/api/v1/projects/{id}/members/{user_id}", &[pid, carol_id], None, 204).await;
    t.expect(&olive, Method::DELETE, "/api/v1/projects/{id}/members/{user_id}", &[pid, olive_id], None, 409).await;
    t.expect(&olive, Method::POST, "/api/v1/auth/logout", &[], None, 204).await;
    t.expect(&olive, Method::GET, "/api/v1/me", &[], None, 401).await;

    // Every documented operation was exercised, with at least one success.
    for op in &documented {
        let statuses = t.seen.get(op).unwrap_or_else(|| panic!("the tour misses {op:?}"));
        assert!(statuses.iter().any(|s| (200..300).contains(s)), "{op:?} never succeeded: {statuses:?}");
    }

    // The router matched every documented operation to its own template: the metrics'
    // http_route label is the matched route.
    let samples = prom::parse(&app.metrics().await);
    let mut served: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for x in samples.iter().filter(|x| x.name == "http_server_requests_total") {
        served
            .entry((x.labels["http_request_method"].clone(), x.labels["http_route"].clone()))
            .or_default()
            .insert(x.labels["http_response_status_code"].clone());
    }
    for op in &documented {
        let statuses = served.get(op).unwrap_or_else(|| panic!("{op:?} was never matched by the router"));
        assert!(!statuses.contains("405"), "{op:?} answered 405");
    }
    let infrastructure = [("GET".to_owned(), "/api/v1/openapi.json".to_owned())];
    for (op, _) in served.iter().filter(|((_, route), _)| route != "unmatched") {
        assert!(documented.contains(op) || infrastructure.contains(op), "{op:?} is served but not documented");
    }

    // On every documented path, the methods the document does not list are refused
    // with 405 and an Allow header naming exactly the documented ones.
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        let allowed: BTreeSet<&str> = documented.iter().filter(|(_, p)| p == path).map(|(m, _)| m.as_str()).collect();
        let url = app.url(&fill(path, &vec![1; path.matches('{').count()]));
        for m in METHODS.iter().filter(|m| !allowed.contains(*m)) {
            let r = olive.request(Method::from_bytes(m.as_bytes()).unwrap(), &url).send().await.unwrap();
            assert_eq!(r.status(), 405, "{m} {path} is not documented, yet answered {}", r.status());
            let allow: BTreeSet<String> = r.headers()["allow"]
                .to_str()
                .unwrap()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| s != "HEAD")
                .collect();
            let allowed: BTreeSet<String> = allowed.iter().map(|s| s.to_string()).collect();
            assert_eq!(allow, allowed, "Allow of {path}");
        }
    }
    // Every response conformed (checked last, so the checks above run too).
    assert!(
        t.failures.is_empty(),
        "{} responses disagree with the document:\n{}",
        t.failures.len(),
        t.failures.join("\n")
    );
    app.stop().await;
});
