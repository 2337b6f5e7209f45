//! Administration: list accounts, disable and enable one; a disabled account's
//! sessions and tokens stop working at once.

use reqwest::Method;
use serde_json::json;
use task_manager::api::auth::create_user;

use crate::{both, common::*, helpers::*};

/// Creates an administrator and signs them in.
pub async fn admin_client(app: &TestApp) -> (reqwest::Client, i64) {
    let u = create_user(&app.state, "root@example.com", PASSWORD, "Root", None, true).await.unwrap();
    let c = app.client();
    let (s, _) = app
        .call(&c, Method::POST, "/api/v1/auth/login", Some(json!({"email": "root@example.com", "password": PASSWORD})))
        .await;
    assert_eq!(s, 200);
    (c, u.id)
}

both!(list_and_disable_users, |b| async move {
    let app = TestApp::spawn(b).await;
    let (admin, admin_id) = admin_client(&app).await;
    let (u, uid) = app.user("ursula").await;
    let (_, secret) = create_token(&app, &u, "read_write").await;
    let api = bearer(&secret);

    let (s, list) = app.call(&admin, Method::GET, "/api/v1/admin/users", None).await;
    assert_eq!(s, 200, "{list}");
    let users = list.as_array().unwrap();
    assert_eq!(users.len(), 2);
    let root = users.iter().find(|x| x["id"] == admin_id).unwrap();
    assert_eq!((root["is_admin"].as_bool(), root["email"].as_str()), (Some(true), Some("root@example.com")));
    assert!(users.iter().any(|x| x["id"] == uid && x["is_admin"] == false && x["disabled"] == false));
    assert!(!list.to_string().contains("argon2"), "no password hashes");

    // Non-admins: 403 and nothing changes.
    let before = snapshot(&app).await;
    assert_eq!(app.call(&u, Method::GET, "/api/v1/admin/users", None).await.0, 403);
    let (s, _) =
        app.call(&u, Method::PATCH, &format!("/api/v1/admin/users/{admin_id}"), Some(json!({"disabled": true}))).await;
    assert_eq!(s, 403);
    let (s, _) =
        app.call(&u, Method::PATCH, &format!("/api/v1/admin/users/{uid}"), Some(json!({"is_admin": true}))).await;
    assert_eq!(s, 403);
    // An administrator cannot lock themselves out; unknown users are 404.
    let (s, p) = app
        .call(&admin, Method::PATCH, &format!("/api/v1/admin/users/{admin_id}"), Some(json!({"disabled": true})))
        .await;
    assert_eq!((s.as_u16(), p["code"].as_str()), (409, Some("self_lockout")));
    let (s, _) = app
        .call(&admin, Method::PATCH, &format!("/api/v1/admin/users/{admin_id}"), Some(json!({"is_admin": false})))
        .await;
    assert_eq!(s, 409);
    assert_eq!(
        app.call(&admin, Method::PATCH, "/api/v1/admin/users/999999", Some(json!({"disabled": true}))).await.0,
        404
    );
    assert_unchanged(&before, &snapshot(&app).await, "refused admin changes");

    // Disable: the session and the token get 401 at once, and signing in is refused.
    let (s, v) =
        app.call(&admin, Method::PATCH, &format!("/api/v1/admin/users/{uid}"), Some(json!({"disabled": true}))).await;
    assert_eq!((s.as_u16(), v["disabled"].as_bool(), v["id"].as_i64()), (200, Some(true), Some(uid)));
    assert_eq!(app.call(&u, Method::GET, "/api/v1/me", None).await.0, 401);
    assert_eq!(app.call(&api, Method::GET, "/api/v1/me", None).await.0, 401);
    let (s, _) = app
        .call(
            &app.client(),
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": "ursula@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, 401);

    // Enable again: the same session and token work; admin flag can be granted.
    let (s, v) = app
        .call(
            &admin,
            Method::PATCH,
            &format!("/api/v1/admin/users/{uid}"),
            Some(json!({"disabled": false, "is_admin": true})),
        )
        .await;
    assert_eq!((s.as_u16(), v["disabled"].as_bool(), v["is_admin"].as_bool()), (200, Some(false), Some(true)));
    assert_eq!(app.call(&u, Method::GET, "/api/v1/me", None).await.0, 200);
    assert_eq!(app.call(&api, Method::GET, "/api/v1/admin/users", None).await.0, 200);
});
