//! Sign-up, sign-in, sign-out, the profile, password changes and sign-in throttling.

use reqwest::Method;
use serde_json::json;

use crate::{both, common::*, helpers::*};

both!(register_login_me_logout, |b| async move {
    let app = TestApp::spawn(b).await;
    let c = app.client();
    let r = send(
        &app,
        &c,
        Method::POST,
        "/api/v1/auth/register",
        Some(json!({"email": "Ada@Example.com", "password": PASSWORD, "display_name": " Ada ", "time_zone": "Europe/Paris"})),
        &[],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let u = &r.body;
    let id = u["id"].as_i64().unwrap();
    assert_eq!(u["email"], "Ada@Example.com");
    assert_eq!(u["display_name"], "Ada");
    assert_eq!(u["time_zone"], "Europe/Paris");
    assert_eq!(u["is_admin"], false);
    assert_eq!(u["disabled"], false);
    assert!(u["created_at"].as_str().unwrap().ends_with('Z'), "{u}");
    assert!(u.get("password_hash").is_none() && u.get("password").is_none(), "{u}");
    // Registering does not sign in.
    assert_eq!(app.call(&c, Method::GET, "/api/v1/me", None).await.0, 401);

    // The same address in another case is taken.
    let before = snapshot(&app).await;
    let (s, p) = app
        .call(
            &c,
            Method::POST,
            "/api/v1/auth/register",
            Some(json!({"email": "ada@example.COM", "password": PASSWORD, "display_name": "Other"})),
        )
        .await;
    assert_eq!((s.as_u16(), p["code"].as_str()), (409, Some("email_taken")), "{p}");
    assert_unchanged(&before, &snapshot(&app).await, "duplicate e-mail");

    // Sign in with any case of the address; the cookie is HttpOnly and SameSite=Lax.
    let r = send(
        &app,
        &c,
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({"email": "ADA@example.com", "password": PASSWORD})),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], id);
    let cookie = r.header("set-cookie").unwrap().to_owned();
    assert!(cookie.starts_with("tm_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "not configured for HTTPS: {cookie}");
    assert_eq!(app.count("session").await, 1);

    let (s, me) = app.call(&c, Method::GET, "/api/v1/me", None).await;
    assert_eq!(s, 200);
    assert_eq!((me["id"].as_i64(), me["email"].as_str()), (Some(id), Some("Ada@Example.com")));

    let r = send(&app, &c, Method::POST, "/api/v1/auth/logout", None, &[]).await;
    assert_eq!(r.status, 204);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(app.count("session").await, 0, "the session is deleted from the database");
    let (s, p) = app.call(&c, Method::GET, "/api/v1/me", None).await;
    assert_eq!((s.as_u16(), p["code"].as_str()), (401, Some("unauthorized")));
    // Logging out again without a session is refused.
    assert_eq!(app.call(&c, Method::POST, "/api/v1/auth/logout", None).await.0, 401);
});

both!(secure_cookie_and_disabled_registration, |b| async move {
    let app = TestApp::spawn_with(b, |c| {
        c.cookie_secure = true;
        c.registration_enabled = false;
    })
    .await;
    let c = app.client();
    let before = snapshot(&app).await;
    let (s, p) = app
        .call(
            &c,
            Method::POST,
            "/api/v1/auth/register",
            Some(json!({"email": "x@example.com", "password": PASSWORD, "display_name": "X"})),
        )
        .await;
    assert_eq!(s, 403, "{p}");
    assert_unchanged(&before, &snapshot(&app).await, "registration disabled");
    task_manager::api::auth::create_user(&app.state, "x@example.com", PASSWORD, "X", None, false).await.unwrap();
    let r = send(
        &app,
        &c,
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({"email": "x@example.com", "password": PASSWORD})),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").unwrap().contains("; Secure"), "{:?}", r.header("set-cookie"));
});

both!(update_me, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, id) = app.user("grace").await;
    let (s, u) = app
        .call(
            &c,
            Method::PATCH,
            "/api/v1/me",
            Some(json!({"display_name": "Grace H.", "time_zone": "America/New_York"})),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(
        (u["id"].as_i64(), u["display_name"].as_str(), u["time_zone"].as_str()),
        (Some(id), Some("Grace H."), Some("America/New_York"))
    );
    // Partial: only the name.
    let (s, u) = app.call(&c, Method::PATCH, "/api/v1/me", Some(json!({"display_name": "G"}))).await;
    assert_eq!(s, 200);
    assert_eq!((u["display_name"].as_str(), u["time_zone"].as_str()), (Some("G"), Some("America/New_York")));
    let (_, me) = app.call(&c, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me, u);

    let before = snapshot(&app).await;
    let (s, p) = app
        .call(&c, Method::PATCH, "/api/v1/me", Some(json!({"display_name": "ok", "time_zone": "Mars/Olympus"})))
        .await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["time_zone"]);
    let (s, p) = app.call(&c, Method::PATCH, "/api/v1/me", Some(json!({"display_name": "   "}))).await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["display_name"]);
    assert_unchanged(&before, &snapshot(&app).await, "invalid profile");
});

both!(password_change_signs_out_other_sessions, |b| async move {
    let app = TestApp::spawn(b).await;
    let (a, _) = app.user("linus").await;
    // A second browser.
    let other = app.client();
    let (s, _) = app
        .call(
            &other,
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": "linus@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, secret) = create_token(&app, &a, "read_write").await;
    assert_eq!(app.count("session").await, 2);

    let before = snapshot(&app).await;
    let (s, p) = app
        .call(
            &a,
            Method::POST,
            "/api/v1/me/password",
            Some(json!({"current_password": "wrong password!", "new_password": "a brand new secret"})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["current_password"]);
    let (s, p) = app
        .call(
            &a,
            Method::POST,
            "/api/v1/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": "short"})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["new_password"]);
    assert_unchanged(&before, &snapshot(&app).await, "refused password change");
    assert_eq!(app.call(&other, Method::GET, "/api/v1/me", None).await.0, 200);

    let (s, p) = app
        .call(
            &a,
            Method::POST,
            "/api/v1/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": "a brand new secret"})),
        )
        .await;
    assert_eq!(s, 204, "{p}");
    assert_eq!(app.call(&a, Method::GET, "/api/v1/me", None).await.0, 200, "this session stays");
    assert_eq!(app.call(&other, Method::GET, "/api/v1/me", None).await.0, 401, "the other session is signed out");
    assert_eq!(app.count("session").await, 1);
    // API tokens are not sessions: they keep working until revoked.
    assert_eq!(app.call(&bearer(&secret), Method::GET, "/api/v1/me", None).await.0, 200);

    let login = |pw: &'static str| {
        let app = &app;
        async move {
            app.call(
                &app.client(),
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"email": "linus@example.com", "password": pw})),
            )
            .await
            .0
        }
    };
    assert_eq!(login(PASSWORD).await, 401);
    assert_eq!(login("a brand new secret").await, 200);
});

both!(login_throttling_and_uniform_failures, |b| async move {
    let app = TestApp::spawn_with(b, |c| c.trust_forwarded_for = true).await;
    let (_, _) = app.user("alan").await;
    let (_, _) = app.user("kurt").await;
    let login = |email: &'static str, pw: &'static str, from: &'static str| {
        let app = &app;
        async move {
            send(
                app,
                &app.client(),
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"email": email, "password": pw})),
                &[("x-forwarded-for", from)],
            )
            .await
        }
    };

    // An unknown e-mail and a wrong password answer exactly alike.
    let unknown = login("nobody@example.com", "whatever it is", "10.0.0.100").await;
    let wrong = login("alan@example.com", "not the password", "10.0.0.101").await;
    assert_eq!((unknown.status.as_u16(), wrong.status.as_u16()), (401, 401));
    assert_eq!(unknown.body["code"], wrong.body["code"]);
    assert_eq!(unknown.body["detail"], wrong.body["detail"]);
    assert_eq!(unknown.body["title"], wrong.body["title"]);
    assert_eq!(unknown.body["type"], wrong.body["type"]);
    assert!(unknown.header("set-cookie").is_none() && wrong.header("set-cookie").is_none());

    // Per account: four more failures from different addresses make five.
    for i in 0..4 {
        let from = ["10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4"][i];
        assert_eq!(login("alan@example.com", "not the password", from).await.status, 401);
    }
    // Now even the right password, from a fresh address, is refused with Retry-After.
    let r = login("alan@example.com", PASSWORD, "10.0.2.1").await;
    assert_eq!((r.status.as_u16(), r.code()), (429, "too_many_requests"), "{}", r.body);
    let retry: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    assert!(r.header("set-cookie").is_none());
    // The address-independent account lock does not affect another account.
    assert_eq!(login("kurt@example.com", PASSWORD, "10.0.2.1").await.status, 200);

    // Per address: five failures against different accounts lock the address out.
    for email in ["a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"] {
        let email: &'static str = email;
        assert_eq!(login(email, "not the password", "10.0.3.3").await.status, 401);
    }
    let r = login("kurt@example.com", PASSWORD, "10.0.3.3").await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    assert_eq!(login("kurt@example.com", PASSWORD, "10.0.3.4").await.status, 200);
});
