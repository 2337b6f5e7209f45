//! The token cache never delays a change made through the same replica: revocation,
//! disabling, demotion and profile changes show on the next request. Another replica
//! sharing the database sees them within its `token_cache_ttl` (at once with 0).

use std::time::Duration;

use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::{admin::admin_client, both, common::*, helpers::*};

both!(changes_through_this_replica_take_effect_at_once, |b| async move {
    let app = TestApp::spawn_with(b, |c| c.token_cache_ttl = Duration::from_secs(3600)).await;
    let (admin, _) = admin_client(&app).await;
    let (u, uid) = app.user("casey").await;
    let (id, secret) = create_token(&app, &u, "read_write").await;
    let api = bearer(&secret);

    // Each check first uses the token, so the cache holds it when the change happens.
    let (s, me) = app.call(&api, Method::GET, "/api/v1/me", None).await;
    assert_eq!((s.as_u16(), me["display_name"].as_str()), (200, Some("casey")));
    let (s, me) = app.call(&u, Method::PATCH, "/api/v1/me", Some(json!({"display_name": "Casey B"}))).await;
    assert_eq!((s.as_u16(), me["display_name"].as_str()), (200, Some("Casey B")));
    let (_, me) = app.call(&api, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["display_name"], "Casey B", "a profile change shows through the token at once");

    let user_path = format!("/api/v1/admin/users/{uid}");
    let flag = |body| app.call(&admin, Method::PATCH, &user_path, Some(body));
    assert_eq!(flag(json!({"is_admin": true})).await.0, 200);
    assert_eq!(app.call(&api, Method::GET, "/api/v1/admin/users", None).await.0, 200, "promotion");
    assert_eq!(flag(json!({"is_admin": false})).await.0, 200);
    assert_eq!(app.call(&api, Method::GET, "/api/v1/admin/users", None).await.0, 403, "demotion");
    assert_eq!(flag(json!({"disabled": true})).await.0, 200);
    assert_eq!(app.call(&api, Method::GET, "/api/v1/me", None).await.0, 401, "disabled");
    assert_eq!(flag(json!({"disabled": false})).await.0, 200);
    assert_eq!(app.call(&api, Method::GET, "/api/v1/me", None).await.0, 200, "enabled again");

    assert_eq!(app.call(&u, Method::DELETE, &format!("/api/v1/me/tokens/{id}"), None).await.0, 204);
    let (s, p) = app.call(&api, Method::GET, "/api/v1/me", None).await;
    assert_eq!((s.as_u16(), p["code"].as_str()), (401, Some("unauthorized")), "revoked");

    // Read-only stays read-only when served from the cache.
    let (_, ro) = create_token(&app, &u, "read").await;
    let ro = bearer(&ro);
    assert_eq!(app.call(&ro, Method::GET, "/api/v1/me", None).await.0, 200);
    let (s, p) = app.call(&ro, Method::POST, "/api/v1/projects", Some(json!({"name": "no"}))).await;
    assert_eq!((s.as_u16(), p["code"].as_str()), (403, Some("forbidden")));
});

both!(other_replicas_see_a_revocation_within_their_ttl, |b| async move {
    let first = TestApp::spawn(b).await;
    let url = first.state.config.database_url.expose_secret().to_owned();
    let replica = |ttl: Duration| {
        let url = url.clone();
        TestApp::spawn_with(b, move |c| {
            c.database_url = url.into();
            c.token_cache_ttl = ttl;
        })
    };
    let uncached = replica(Duration::ZERO).await;
    let cached = replica(Duration::from_secs(3600)).await;
    let (u, _) = first.user("rey").await;
    let (id, secret) = create_token(&first, &u, "read_write").await;
    let api = bearer(&secret);
    for app in [&first, &uncached, &cached] {
        assert_eq!(app.call(&api, Method::GET, "/api/v1/me", None).await.0, 200);
    }

    assert_eq!(first.call(&u, Method::DELETE, &format!("/api/v1/me/tokens/{id}"), None).await.0, 204);
    assert_eq!(first.call(&api, Method::GET, "/api/v1/me", None).await.0, 401, "the replica that revoked");
    assert_eq!(uncached.call(&api, Method::GET, "/api/v1/me", None).await.0, 401, "a replica without the cache");
    // A replica cannot be told: it keeps its entry until the TTL (here an hour) ends.
    assert_eq!(cached.call(&api, Method::GET, "/api/v1/me", None).await.0, 200, "within the other replica's TTL");
    cached.state.tokens.clear();
    assert_eq!(cached.call(&api, Method::GET, "/api/v1/me", None).await.0, 401, "once its entry is gone");
});
