//! Personal API tokens: create (secret shown once), list, revoke, use, expiry.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{both, common::*, helpers::*};

both!(create_list_use_revoke, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, uid) = app.user("tia").await;
    let expires_at = rfc3339(chrono_now() + 86_400);
    let (s, t) = app
        .call(
            &c,
            Method::POST,
            "/api/v1/me/tokens",
            Some(json!({"name": " ci ", "scope": "read_write", "expires_at": expires_at})),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    let secret = t["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tm_") && secret.len() > 30, "{secret}");
    let tok = &t["token"];
    let id = tok["id"].as_i64().unwrap();
    assert_eq!(tok["name"], "ci");
    assert_eq!(tok["scope"], "read_write");
    assert_eq!(tok["prefix"].as_str().unwrap(), &secret[..10]);
    assert_eq!(tok["expires_at"].as_str().unwrap(), expires_at);
    assert!(tok["revoked_at"].is_null() && tok["last_used_at"].is_null());
    // Stored hashed: the secret is nowhere in the table.
    let stored: i64 = sqlx::query_scalar("select count(*) from api_token where secret_hash = $1 or prefix = $1")
        .bind(&secret)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0);

    let (_, ro) = create_token(&app, &c, "read").await;

    // The list never shows a secret.
    let (s, list) = app.call(&c, Method::GET, "/api/v1/me/tokens", None).await;
    assert_eq!(s, 200);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    let text = serde_json::to_string(&list).unwrap();
    assert!(!text.contains(&secret) && !text.contains(&ro), "{text}");
    assert!(list.iter().all(|t| t.get("secret").is_none()));
    assert!(list.iter().any(|t| t["id"] == id && t["scope"] == "read_write"));
    assert!(list.iter().any(|t| t["scope"] == "read"));

    // Bearer use: reads and writes as the owner of the token.
    let api = bearer(&secret);
    let (s, me) = app.call(&api, Method::GET, "/api/v1/me", None).await;
    assert_eq!((s.as_u16(), me["id"].as_i64()), (200, Some(uid)));
    let (s, p) = app.call(&api, Method::POST, "/api/v1/projects", Some(json!({"name": "by token"}))).await;
    assert_eq!((s.as_u16(), p["role"].as_str()), (201, Some("owner")), "{p}");
    // The use is recorded off the request path: wait (bounded) for the write.
    let mut used = Value::Null;
    for _ in 0..100 {
        let (_, list) = app.call(&c, Method::GET, "/api/v1/me/tokens", None).await;
        used = list.as_array().unwrap().iter().find(|t| t["id"] == id).unwrap().clone();
        if used["last_used_at"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(used["last_used_at"].is_string(), "use is recorded: {used}");

    // A read-only token reads but cannot write.
    let ro_client = bearer(&ro);
    assert_eq!(app.call(&ro_client, Method::GET, "/api/v1/projects", None).await.0, 200);
    let before = snapshot(&app).await;
    let (s, p) = app.call(&ro_client, Method::POST, "/api/v1/projects", Some(json!({"name": "nope"}))).await;
    assert_eq!((s.as_u16(), p["code"].as_str()), (403, Some("forbidden")));
    assert_unchanged(&before, &snapshot(&app).await, "read-only token write");

    // Garbage and unknown bearer tokens are refused.
    assert_eq!(app.call(&bearer("tm_nonsense"), Method::GET, "/api/v1/me", None).await.0, 401);

    // Revoke: 204, then the token is refused at once; revoking again or someone
    // else's token is 404.
    let (s, _) = app.call(&c, Method::DELETE, &format!("/api/v1/me/tokens/{id}"), None).await;
    assert_eq!(s, 204);
    assert_eq!(app.call(&api, Method::GET, "/api/v1/me", None).await.0, 401);
    let (_, list) = app.call(&c, Method::GET, "/api/v1/me/tokens", None).await;
    let revoked = list.as_array().unwrap().iter().find(|t| t["id"] == id).unwrap().clone();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    assert_eq!(app.call(&c, Method::DELETE, &format!("/api/v1/me/tokens/{id}"), None).await.0, 404);
    let (other, _) = app.user("mallory").await;
    let (_, l) = app.call(&c, Method::GET, "/api/v1/me/tokens", None).await;
    let ro_id = l.as_array().unwrap().iter().find(|t| t["scope"] == "read").unwrap()["id"].as_i64().unwrap();
    assert_eq!(app.call(&other, Method::DELETE, &format!("/api/v1/me/tokens/{ro_id}"), None).await.0, 404);
    assert_eq!(app.call(&ro_client, Method::GET, "/api/v1/me", None).await.0, 200, "still valid");
    let (_, mine) = app.call(&other, Method::GET, "/api/v1/me/tokens", None).await;
    assert_eq!(mine, json!([]), "tokens are per user");
});

both!(expiry, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, _) = app.user("eve").await;
    let before = snapshot(&app).await;
    let (s, p) = app
        .call(
            &c,
            Method::POST,
            "/api/v1/me/tokens",
            Some(json!({"name": "old", "scope": "read", "expires_at": "2001-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["expires_at"]);
    assert_unchanged(&before, &snapshot(&app).await, "token expiring in the past");

    let (id, secret) = create_token(&app, &c, "read_write").await;
    let api = bearer(&secret);
    assert_eq!(app.call(&api, Method::GET, "/api/v1/me", None).await.0, 200);
    // Expire it in the database (deterministic, no sleeping).
    expire_token(&app, id).await;
    let (s, p) = app.call(&api, Method::GET, "/api/v1/me", None).await;
    assert_eq!((s.as_u16(), p["code"].as_str()), (401, Some("unauthorized")));
});

/// Moves a token's expiry one second into the past. The API cannot change an expiry,
/// so this writes behind the service's back, as another replica would; the service's
/// token cache is then told, as it would be after the TTL.
pub async fn expire_token(app: &TestApp, id: i64) {
    let past = (chrono_now() - 1) * 1000;
    sqlx::query("update api_token set expires_at = $1 where id = $2")
        .bind(past)
        .bind(id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    app.state.tokens.clear();
}

/// Unix seconds now.
pub fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// RFC 3339 (UTC, seconds) of Unix seconds, as the API prints times.
pub fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
