//! Return paths that must stay on this site, response headers of the API, and
//! idempotency keys bound to the credential that used them.

use reqwest::{redirect::Policy, Client, Method};
use serde_json::json;

use crate::{both, common::*, helpers::*};

/// A browser signed in through the API, which does not follow redirects.
async fn browser(app: &TestApp, name: &str) -> Client {
    let (_, _) = app.user(name).await;
    let client = Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap();
    let r = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": format!("{name}@example.com"), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    client
}

/// Values of `next` and `return` that lead to another site, or that a browser reads
/// as another site, encoded as they arrive in a query string.
const HOSTILE: &[&str] = &[
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d%0a/evil.example",
    "/%00",
    "//evil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "/%20/evil.example",
    "/%C2%A0/evil.example",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/%7F",
];

both!(hostile_return_paths_fall_back_to_a_page_of_this_site, |b| async move {
    let app = TestApp::spawn(b).await;
    let browser = browser(&app, "rita").await;
    let (owner, _) = (browser.clone(), ());
    let (s, p) = app.call(&owner, Method::POST, "/api/v1/projects", Some(json!({"name": "Trips"}))).await;
    assert_eq!(s, 201, "{p}");
    let pid = p["id"].as_i64().unwrap();
    let task = create_task(&app, &owner, pid, json!({"title": "Pack"})).await;
    let tid = task["id"].as_i64().unwrap();
    let location = |r: &reqwest::Response| r.headers().get("location").map(|v| v.as_bytes().to_vec());

    let r = browser.get(app.url("/signin?next=%2Fprojects%2F7%3Fstatus%3Dtodo")).send().await.unwrap();
    assert_eq!(location(&r).as_deref(), Some(&b"/projects/7?status=todo"[..]), "a local path is followed");
    for hostile in HOSTILE {
        let r = browser.get(app.url(&format!("/signin?next={hostile}"))).send().await.unwrap();
        assert!(r.status().is_redirection(), "next={hostile}: {}", r.status());
        assert_eq!(location(&r).as_deref(), Some(&b"/projects"[..]), "next={hostile}");

        let r = browser.get(app.url(&format!("/tasks/{tid}/complete?return={hostile}"))).send().await.unwrap();
        assert!(r.status().is_redirection(), "return={hostile}: {}", r.status());
        let fallback = format!("/tasks/{tid}");
        assert_eq!(location(&r).as_deref(), Some(fallback.as_bytes()), "return={hostile}");
    }
});

both!(api_answers_are_not_stored_by_caches_and_hsts_follows_cookie_secure, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, _) = app.user("hana").await;
    for path in ["/api/v1/me", "/api/v1/projects", "/api/v1/nowhere", "/api/v1/openapi.json"] {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.headers().get("cache-control").unwrap(), "no-store", "{path}");
        assert!(r.headers().get("strict-transport-security").is_none(), "no HSTS over plain HTTP: {path}");
    }
    let r = c.get(app.url("/api/v1/me")).header("content-type", "text/plain").send().await.unwrap();
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");

    let secure = TestApp::spawn_with(b, |c| c.cookie_secure = true).await;
    for path in ["/api/v1/projects", "/healthz/live", "/signin"] {
        let r = secure.client().get(secure.url(path)).send().await.unwrap();
        assert_eq!(r.headers().get("strict-transport-security").unwrap(), "max-age=31536000", "{path}");
    }
});

both!(an_idempotency_key_never_replays_a_secret_or_crosses_credentials, |b| async move {
    let app = TestApp::spawn(b).await;
    let (session, _) = app.user("ivan").await;
    let (_, read_only) = create_token(&app, &session, "read").await;
    let body = json!({"name": "deploy", "scope": "read_write"});
    let key = [("Idempotency-Key", "token-1")];
    let first = send(&app, &session, Method::POST, "/api/v1/me/tokens", Some(body.clone()), &key).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let secret = first.body["secret"].as_str().unwrap().to_owned();

    // The same key with a read-only token: never the session's answer.
    let auth = format!("Bearer {read_only}");
    let bearer = [("Idempotency-Key", "token-1"), ("Authorization", auth.as_str())];
    let other = send(&app, &app.client(), Method::POST, "/api/v1/me/tokens", Some(body.clone()), &bearer).await;
    assert_ne!(other.status, 201, "{:?}", other.body);
    assert!(!other.body.to_string().contains(&secret), "the secret was replayed to another credential");

    // The same credential retrying: the secret is not kept, so it is not replayed.
    let retry = send(&app, &session, Method::POST, "/api/v1/me/tokens", Some(body.clone()), &key).await;
    assert_eq!((retry.status.as_u16(), retry.code()), (409, "secret_not_replayed"), "{:?}", retry.body);
    assert!(!retry.body.to_string().contains(&secret));
    let stored: Vec<String> = sqlx::query_scalar("select coalesce(response_body, '') from idempotency_key")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert!(stored.iter().all(|b| !b.contains(&secret)), "a secret is stored: {stored:?}");

    // Webhooks' signing keys likewise.
    let pid = create_project(&app, &session, "Hooks").await;
    let hook = json!({"url": "https://hooks.example.com/x", "events": ["task.created"]});
    let path = format!("/api/v1/projects/{pid}/webhooks");
    let key = [("Idempotency-Key", "hook-1")];
    let created = send(&app, &session, Method::POST, &path, Some(hook.clone()), &key).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let retry = send(&app, &session, Method::POST, &path, Some(hook), &key).await;
    assert_eq!((retry.status.as_u16(), retry.code()), (409, "secret_not_replayed"));
    assert!(!retry.body.to_string().contains(created.body["secret"].as_str().unwrap()));
});

both!(a_refusal_that_depends_on_the_caller_does_not_poison_the_key, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("olga").await;
    let (viewer, _) = app.user("vera").await;
    let pid = create_project(&app, &owner, "Shared").await;
    add_member(&app, &owner, pid, "vera", "viewer").await;
    let path = format!("/api/v1/projects/{pid}/tasks");
    let key = [("Idempotency-Key", "task-1")];
    let refused = send(&app, &viewer, Method::POST, &path, Some(json!({"title": "Mine"})), &key).await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    let (s, m) = app
        .call(
            &owner,
            Method::PATCH,
            &format!("/api/v1/projects/{pid}/members/{}", vera_id(&app, &viewer).await),
            Some(json!({"role": "editor"})),
        )
        .await;
    assert_eq!(s, 200, "{m}");
    let retried = send(&app, &viewer, Method::POST, &path, Some(json!({"title": "Mine"})), &key).await;
    assert_eq!(retried.status, 201, "the earlier 403 was replayed: {:?}", retried.body);
});

async fn vera_id(app: &TestApp, c: &Client) -> i64 {
    let (_, me) = app.call(c, Method::GET, "/api/v1/me", None).await;
    me["id"].as_i64().unwrap()
}

both!(request_bodies_must_be_objects, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, _) = app.user("otto").await;
    let before = snapshot(&app).await;
    for body in ["[null, null]", "[\"Otto 2\", \"UTC\"]", "null", "\"x\"", "7", "[]"] {
        let r =
            c.patch(app.url("/api/v1/me")).header("content-type", "application/json").body(body).send().await.unwrap();
        let (status, answer) = decode(r).await;
        assert_eq!(status, 422, "PATCH /me {body}: {answer}");
        assert_problem_shape(status, &answer);
    }
    assert_eq!(snapshot(&app).await, before);
});
