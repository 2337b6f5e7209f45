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
    // The answer repeats the request (it is the same for a taken address, below).
    let u = &r.body;
    assert_eq!(u["email"], "Ada@Example.com");
    assert_eq!(u["display_name"], "Ada");
    assert_eq!(u["time_zone"], "Europe/Paris");
    assert!(u["detail"].as_str().is_some_and(|d| d.contains("sign in")), "{u}");
    assert!(u.get("id").is_none() && u.get("password").is_none(), "{u}");
    let row: (i64, String, String, i64, i64) =
        sqlx::query_as("select id, email, display_name, is_admin, disabled from app_user")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    let id = row.0;
    assert_eq!((row.1.as_str(), row.2.as_str(), row.3, row.4), ("Ada@Example.com", "Ada", 0, 0));
    // Registering does not sign in.
    assert_eq!(app.call(&c, Method::GET, "/api/v1/me", None).await.0, 401);

    // The same address in another case is taken: the answer is the one a free address
    // gets, and nothing changes.
    let before = snapshot(&app).await;
    let register = |email: &'static str| {
        let (app, c) = (&app, &c);
        async move {
            let body = json!({"email": email, "password": PASSWORD, "display_name": "Other"});
            send(app, c, Method::POST, "/api/v1/auth/register", Some(body), &[]).await
        }
    };
    let taken = register("ada@example.COM").await;
    assert_unchanged(&before, &snapshot(&app).await, "duplicate e-mail");
    let free = register("bob@example.COM").await;
    assert_eq!((taken.status.as_u16(), free.status.as_u16()), (201, 201), "{}", taken.body);
    let mut taken_body = taken.body.clone();
    taken_body["email"] = free.body["email"].clone();
    assert_eq!(taken_body, free.body, "a taken address is not told apart");
    assert_eq!(taken.body["email"], "ada@example.COM");
    assert!(taken.header("set-cookie").is_none() && free.header("set-cookie").is_none());
    assert_eq!(app.count("app_user").await, 2);

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

/// Sends a sign-in as if through one trusted proxy that saw the client at `from`.
async fn login_from(app: &TestApp, email: &str, pw: &str, from: &str) -> Resp {
    let body = json!({"email": email, "password": pw});
    send(app, &app.client(), Method::POST, "/api/v1/auth/login", Some(body), &[("x-forwarded-for", from)]).await
}

/// Moves every recorded attempt `ms` into the past, as if that much time had passed.
async fn age_attempts(app: &TestApp, ms: i64) {
    sqlx::query(&format!("update login_failure set created_at = created_at - {ms}"))
        .execute(app.state.db.pool())
        .await
        .unwrap();
}

both!(login_throttling_and_uniform_failures, |b| async move {
    let app = TestApp::spawn_with(b, |c| {
        c.trusted_proxy_hops = 1;
        c.login_slowdown = std::time::Duration::from_secs(60);
        c.login_slowdown_max = std::time::Duration::from_secs(120);
    })
    .await;
    let (_, _) = app.user("alan").await;
    let (_, _) = app.user("kurt").await;

    // An unknown e-mail and a wrong password answer exactly alike.
    let unknown = login_from(&app, "nobody@example.com", "whatever it is", "10.0.0.100").await;
    let wrong = login_from(&app, "alan@example.com", "not the password", "10.0.0.101").await;
    assert_eq!((unknown.status.as_u16(), wrong.status.as_u16()), (401, 401));
    assert_eq!(unknown.body["code"], wrong.body["code"]);
    assert_eq!(unknown.body["detail"], wrong.body["detail"]);
    assert_eq!(unknown.body["title"], wrong.body["title"]);
    assert_eq!(unknown.body["type"], wrong.body["type"]);
    assert!(unknown.header("set-cookie").is_none() && wrong.header("set-cookie").is_none());

    // One address guessing one account: five failures, then 429 even for the right password.
    for _ in 0..5 {
        assert_eq!(login_from(&app, "kurt@example.com", "not the password", "10.0.9.9").await.status, 401);
    }
    let r = login_from(&app, "kurt@example.com", PASSWORD, "10.0.9.9").await;
    assert_eq!((r.status.as_u16(), r.code()), (429, "too_many_requests"), "{}", r.body);
    let retry: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=15 * 60).contains(&retry), "{retry}");
    assert!(r.header("set-cookie").is_none());
    // A minute later that address is still refused for the whole window, while the
    // owner, from their own address, gets in.
    age_attempts(&app, 61_000).await;
    assert_eq!(login_from(&app, "kurt@example.com", PASSWORD, "10.0.9.9").await.status, 429);
    assert_eq!(login_from(&app, "kurt@example.com", PASSWORD, "10.0.9.10").await.status, 200);

    // Strangers from many addresses: after five failures the account is slowed down...
    for from in ["10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4"] {
        assert_eq!(login_from(&app, "alan@example.com", "not the password", from).await.status, 401);
    }
    let r = login_from(&app, "alan@example.com", PASSWORD, "10.0.2.1").await;
    assert_eq!((r.status.as_u16(), r.code()), (429, "too_many_requests"), "{}", r.body);
    let retry: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry), "a wait of the slowdown, not of the window: {retry}");
    // ...not locked: once the interval has passed, the owner's right password works,
    // although the five failures are still within the 15-minute window.
    age_attempts(&app, 61_000).await;
    assert_eq!(login_from(&app, "alan@example.com", PASSWORD, "10.0.2.1").await.status, 200);

    // Per address: twenty failures against any accounts lock the address out.
    for i in 0..20 {
        let email = format!("someone{i}@example.com");
        assert_eq!(login_from(&app, &email, "not the password", "10.0.3.3").await.status, 401);
    }
    let r = login_from(&app, "kurt@example.com", PASSWORD, "10.0.3.3").await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    assert_eq!(login_from(&app, "kurt@example.com", PASSWORD, "10.0.3.4").await.status, 200);
});

both!(the_client_address_is_the_one_the_trusted_proxy_saw, |b| async move {
    let app = TestApp::spawn_with(b, |c| {
        c.trusted_proxy_hops = 1;
        c.login_address_max_failures = 3;
    })
    .await;
    // A client that writes its own X-Forwarded-For entries does not get a new address:
    // the proxy appended the one it saw (10.0.5.5), and only that one counts.
    for (i, spoofed) in ["1.1.1.1", "2.2.2.2", "3.3.3.3"].iter().enumerate() {
        let from = format!("{spoofed}, 10.0.5.5");
        let r = login_from(&app, &format!("x{i}@example.com"), "not the password", &from).await;
        assert_eq!(r.status, 401);
    }
    let r = login_from(&app, "y@example.com", "not the password", "4.4.4.4, 10.0.5.5").await;
    assert_eq!((r.status.as_u16(), r.code()), (429, "too_many_requests"), "{}", r.body);
    // Another client behind the same proxy is not affected.
    assert_eq!(login_from(&app, "y@example.com", "not the password", "10.0.5.6").await.status, 401);
});

both!(parallel_wrong_passwords_cannot_race_past_the_limit, |b| async move {
    let app = TestApp::spawn(b).await;
    let (_, _) = app.user("ross").await;
    let attempts = (0..40).map(|_| {
        let app = &app;
        async move {
            let body = json!({"email": "ross@example.com", "password": "not the password"});
            send(app, &app.client(), Method::POST, "/api/v1/auth/login", Some(body), &[]).await
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let count = |code: u16| answers.iter().filter(|r| r.status.as_u16() == code).count();
    let (unauthorized, throttled) = (count(401), count(429));
    assert_eq!(unauthorized + throttled, 40, "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(unauthorized <= 5, "the limit is 5 failures, {unauthorized} were checked");
    assert!(answers.iter().filter(|r| r.status == 429).all(|r| r.header("retry-after").is_some()));
    // Throttled attempts are not recorded as failures.
    let recorded: i64 = sqlx::query_scalar("select count(*) from login_failure where subject like 'pair:%'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(recorded, unauthorized as i64);
});

both!(hashing_is_bounded_and_throttles_come_before_it, |b| async move {
    let app = TestApp::spawn_with(b, |c| {
        c.password_hashing_concurrency = 2;
        c.password_hashing_wait = std::time::Duration::ZERO;
        c.registration_max_per_address = 2;
    })
    .await;
    let (signed_in, _) = app.user("hedy").await;
    // Every hashing slot busy: sign-in and sign-up answer 503 with Retry-After...
    let slots = app.state.passwords.slots().acquire_many(2).await.unwrap();
    let c = app.client();
    let hedy = json!({"email": "hedy@example.com", "password": PASSWORD});
    let r = send(&app, &c, Method::POST, "/api/v1/auth/login", Some(hedy.clone()), &[]).await;
    assert_eq!((r.status.as_u16(), r.code()), (503, "unavailable"), "{}", r.body);
    assert!(r.header("retry-after").is_some());
    let body = json!({"email": "new@example.com", "password": PASSWORD, "display_name": "New"});
    let r = send(&app, &c, Method::POST, "/api/v1/auth/register", Some(body.clone()), &[]).await;
    assert_eq!((r.status.as_u16(), r.code()), (503, "unavailable"), "{}", r.body);
    assert!(r.header("retry-after").is_some());
    // ...and the refused sign-in is not held against the account.
    let held: i64 = sqlx::query_scalar("select count(*) from login_failure where subject like 'account:%'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(held, 0);
    assert_eq!(app.count("app_user").await, 1);
    // Requests that need no hashing are served meanwhile.
    assert_eq!(app.call(&signed_in, Method::GET, "/api/v1/me", None).await.0, 200);
    // The sign-up throttle is checked before hashing: its 429 comes although no slot is free.
    let r = send(&app, &c, Method::POST, "/api/v1/auth/register", Some(body.clone()), &[]).await;
    assert_eq!((r.status.as_u16(), r.code()), (429, "too_many_requests"), "{}", r.body);
    assert!(r.header("retry-after").is_some());
    drop(slots);
    let r = send(&app, &c, Method::POST, "/api/v1/auth/login", Some(hedy), &[]).await;
    assert_eq!(r.status, 200);
});

both!(sign_up_throttle_per_address, |b| async move {
    let app = TestApp::spawn_with(b, |c| c.registration_max_per_address = 3).await;
    let c = app.client();
    let register = |i: usize| {
        let (app, c) = (&app, &c);
        async move {
            let body = json!({"email": format!("r{i}@example.com"), "password": PASSWORD, "display_name": "R"});
            send(app, c, Method::POST, "/api/v1/auth/register", Some(body), &[]).await
        }
    };
    for i in 0..3 {
        assert_eq!(register(i).await.status, 201);
    }
    let before = snapshot(&app).await;
    let r = register(3).await;
    assert_eq!((r.status.as_u16(), r.code()), (429, "too_many_requests"), "{}", r.body);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_unchanged(&before, &snapshot(&app).await, "throttled sign-up");
    assert_eq!(app.count("app_user").await, 3);
});

both!(weak_passwords_are_refused, |b| async move {
    let app = TestApp::spawn(b).await;
    let c = app.client();
    let before = snapshot(&app).await;
    for (email, pw, code) in [
        ("grace@example.com", "password123", "too_common"),
        ("grace@example.com", "QWERTYUIOP", "too_common"),
        ("grace.hopper@example.com", "Grace.Hopper@example.com", "same_as_email"),
        ("grace.hopper@example.com", "grace.hopper", "same_as_email"),
    ] {
        let body = json!({"email": email, "password": pw, "display_name": "Grace"});
        let r = send(&app, &c, Method::POST, "/api/v1/auth/register", Some(body), &[]).await;
        assert_eq!((r.status.as_u16(), r.fields()), (422, vec!["password".to_owned()]), "{pw}: {}", r.body);
        assert_eq!(r.body["errors"][0]["code"], code, "{pw}");
    }
    assert_unchanged(&before, &snapshot(&app).await, "weak passwords");
    // The same rules for a new password.
    let (signed_in, _) = app.user("alan").await;
    for pw in ["1234567890", "alan@example.com"] {
        let body = json!({"current_password": PASSWORD, "new_password": pw});
        let (s, p) = app.call(&signed_in, Method::POST, "/api/v1/me/password", Some(body)).await;
        assert_eq!((s.as_u16(), field_names(&p)), (422, vec!["new_password".to_owned()]), "{pw}: {p}");
    }
});
