//! Every state-changing form needs the session's CSRF token and this site's origin;
//! a refused form writes nothing.

use crate::{both, common::TestApp, support::Browser};

/// What is wrong, the form's fields, the Origin header.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<&'a str>);

both!(forms_without_the_right_token_or_origin_are_refused, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("carol").await;
    br.get("/projects").await;
    let origin = format!("http://{}", app.addr);
    let token = br.csrf.clone();
    let before = app.count("project").await;

    let cases: Vec<Case> = vec![
        ("no token", vec![("name", "A")], Some(&origin)),
        ("empty token", vec![("_csrf", ""), ("name", "A")], Some(&origin)),
        ("wrong token", vec![("_csrf", "not-the-token"), ("name", "A")], Some(&origin)),
        ("another site", vec![("_csrf", &token), ("name", "A")], Some("http://evil.example")),
        ("opaque origin", vec![("_csrf", &token), ("name", "A")], Some("null")),
    ];
    for (what, fields, origin) in cases {
        let res = br.post_raw("/projects", &fields, origin).await;
        assert_eq!(res.status, 403, "{what}: {}", res.excerpt());
        assert!(res.body.contains("This form has expired") || res.body.contains("You cannot do this"), "{what}");
        assert_eq!(app.count("project").await, before, "{what}: nothing written");
    }
    // Another session's token does not work either.
    let mut other = Browser::new(&app);
    other.sign_up("dave").await;
    other.get("/projects").await;
    let res = br.post_raw("/projects", &[("_csrf", &other.csrf), ("name", "A")], Some(&origin)).await;
    assert_eq!(res.status, 403);
    assert_eq!(app.count("project").await, before);
    // A Referer from another site, without Origin, is refused too.
    let res = br
        .client
        .post(app.url("/projects"))
        .header("referer", "http://evil.example/page")
        .form(&[("_csrf", token.as_str()), ("name", "A")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.count("project").await, before);

    // With the token and the origin: created.
    let res = br.post_raw("/projects", &[("_csrf", &token), ("name", "A")], Some(&origin)).await;
    assert_eq!(res.status, 303, "{}", res.excerpt());
    assert_eq!(app.count("project").await, before + 1);
    let pid = res.location.unwrap().trim_start_matches("/projects/").trim_end_matches("/board").to_owned();

    // The same for the task, comment, sign-out and token forms.
    let tid = br.task(pid.parse().unwrap(), "T").await;
    let tasks = app.count("task").await;
    for path in [
        format!("/projects/{pid}/tasks"),
        format!("/tasks/{tid}"),
        format!("/tasks/{tid}/status"),
        format!("/tasks/{tid}/move"),
        format!("/tasks/{tid}/comments"),
        format!("/tasks/{tid}/delete"),
        format!("/projects/{pid}/members"),
        format!("/projects/{pid}/labels"),
        format!("/projects/{pid}/archive"),
        "/account/tokens".to_owned(),
        "/account/profile".to_owned(),
        "/signout".to_owned(),
    ] {
        let fields = [("_csrf", "wrong"), ("title", "x"), ("status", "done"), ("body", "x"), ("name", "x")];
        let res = br.post_raw(&path, &fields, Some(&origin)).await;
        assert_eq!(res.status, 403, "{path}");
    }
    assert_eq!(app.count("task").await, tasks);
    assert_eq!(app.count("comment").await, 0);
    assert_eq!(app.count("api_token").await, 0);
    assert_eq!(app.count("label").await, 0);
    // Still signed in (sign-out was refused).
    assert_eq!(br.get("/projects").await.status, 200);

    // Sign-in: the form's token must match the browser's cookie.
    let mut anon = Browser::new(&app);
    let res = anon
        .post_raw("/signin", &[("email", "carol@example.com"), ("password", crate::support::PASSWORD)], Some(&origin))
        .await;
    assert_eq!(res.status, 403);
    anon.get("/signin").await;
    let res = anon
        .post_raw(
            "/signin",
            &[("_csrf", "forged"), ("email", "carol@example.com"), ("password", crate::support::PASSWORD)],
            Some(&origin),
        )
        .await;
    assert_eq!(res.status, 403);
    let res = anon.post("/signin", &[("email", "carol@example.com"), ("password", crate::support::PASSWORD)]).await;
    assert_eq!(res.status, 303);
});
