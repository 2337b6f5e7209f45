//! Sign-up, sign-in and sign-out, security headers, assets, error pages, escaping and
//! the viewer's read-only pages.

use crate::{
    both,
    common::TestApp,
    support::{link_starting, Browser, PASSWORD},
};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

both!(sign_up_sign_in_sign_out, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.get("/").await.redirects_to("/signin");
    let page = br.get("/projects").await;
    page.redirects_to("/signin?next=%2Fprojects");
    br.sign_up("ann").await;
    let page = br.get("/projects").await;
    assert!(page.body.contains("ann") && page.body.contains("You have no projects yet"), "{}", page.excerpt());

    br.post("/signout", &[]).await.redirects_to("/signin");
    br.get("/projects").await.redirects_to("/signin?next=%2Fprojects");
    let page = br.get("/signin?next=%2Fmy-tasks").await;
    assert_eq!(page.status, 200);
    let wrong = br
        .post("/signin", &[("email", "ann@example.com"), ("password", "wrong password!"), ("next", "/my-tasks")])
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("The e-mail or the password is not correct."));
    let ok = br.post("/signin", &[("email", "ANN@example.com"), ("password", PASSWORD), ("next", "/my-tasks")]).await;
    ok.redirects_to("/my-tasks");
    assert_eq!(br.get("/my-tasks").await.status, 200);
    // A `next` to another site is not followed.
    br.post("/signout", &[]).await;
    br.get("/signin").await;
    let ok =
        br.post("/signin", &[("email", "ann@example.com"), ("password", PASSWORD), ("next", "//evil.example/")]).await;
    ok.redirects_to("/projects");

    // Duplicate e-mail and short password: the form again with the messages, no account.
    let mut other = Browser::new(&app);
    other.get("/signup").await;
    let before = app.count("app_user").await;
    let res = other
        .post(
            "/signup",
            &[("display_name", "x"), ("email", "ann@example.com"), ("password", "short"), ("time_zone", "")],
        )
        .await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("role=\"alert\""), "{}", res.excerpt());
    assert_eq!(app.count("app_user").await, before);
    // A taken address with a valid password gets what a free one gets (see sign_up).
    other.get("/signup").await;
    let fields =
        [("display_name", "x"), ("email", "ann@example.com"), ("password", "another fine secret"), ("time_zone", "")];
    other.post("/signup", &fields).await.redirects_to("/signin");
    assert_eq!(app.count("app_user").await, before);
});

both!(security_headers_assets_and_error_pages, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    let page = br.get("/signin").await;
    let h = &page.headers;
    assert_eq!(h["content-security-policy"], CSP);
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(!page.body.contains("<script>"), "no inline script");
    assert!(!page.body.contains("style=\""), "no inline style");

    let css = link_starting(&page.body, "/assets/app.").unwrap();
    assert!(css.ends_with(".css"), "{css}");
    let js_start = page.body.find("src=\"/assets/app.").unwrap() + 5;
    let js = &page.body[js_start..js_start + page.body[js_start..].find('"').unwrap()];
    let mut total = 0;
    for path in [css.as_str(), js] {
        let res = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
        total += res.bytes().await.unwrap().len();
    }
    assert!(total < 100 * 1024, "CSS + JS is {total} bytes");
    assert_eq!(reqwest::get(app.url("/assets/app.000000000000.css")).await.unwrap().status(), 404);

    br.sign_up("eve").await;
    let page = br.get("/projects/424242").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("Not found") && page.body.contains("class=\"top\""), "same design: {}", page.excerpt());
    assert_eq!(br.get("/tasks/not-a-number").await.status, 404);
    // A path no route knows: the same page for a browser, problem+json for the API.
    let res = reqwest::Client::new().get(app.url("/no/such/page")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(res.headers().contains_key("content-security-policy"));
    assert!(res.text().await.unwrap().contains("Not found"));
    let res =
        reqwest::Client::new().get(app.url("/api/v1/no/such")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(br.get("/tasks/424242").await.status, 404);
    // Another person's project is not found either.
    let mut owner = Browser::new(&app);
    owner.sign_up("owen").await;
    let pid = owner.project("Private").await;
    let tid = owner.task(pid, "secret task").await;
    assert_eq!(br.get(&format!("/projects/{pid}")).await.status, 404);
    assert_eq!(br.get(&format!("/tasks/{tid}")).await.status, 404);
    // The UI is not part of the API's document.
    let doc: serde_json::Value = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap().json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.keys().all(|p| p.starts_with("/api/v1/") || p.starts_with("/healthz")), "{:?}", paths.keys());
});

both!(script_injection_is_shown_as_text, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("mallory").await;
    let pid = br.project("<script>alert('p')</script>").await;
    let tid = br.task(pid, "<script>alert(1)</script>").await;
    br.get(&format!("/tasks/{tid}")).await;
    let desc = "Hello <script>alert(2)</script> [click](javascript:alert(3)) <img src=x onerror=alert(4)> **bold**";
    let res = br
        .post(
            &format!("/tasks/{tid}"),
            &[
                ("version", "1"),
                ("title", "<script>alert(1)</script>"),
                ("description", desc),
                ("status", "todo"),
                ("priority", "medium"),
                ("due_at", ""),
                ("assignee_id", ""),
            ],
        )
        .await;
    res.redirects_to(&format!("/tasks/{tid}"));
    br.get(&format!("/tasks/{tid}")).await;
    br.post(&format!("/tasks/{tid}/comments"), &[("body", "<script>alert(5)</script> [x](javascript:alert(6))")]).await;
    for path in
        [format!("/tasks/{tid}"), format!("/projects/{pid}"), format!("/projects/{pid}/board"), "/projects".into()]
    {
        let page = br.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        let body = &page.body;
        assert!(!body.contains("<script>alert"), "{path}: a script from user content");
        assert!(!body.contains("href=\"javascript:"), "{path}: a javascript: link");
        assert!(!body.contains("onerror="), "{path}: an event handler");
        assert!(body.contains("&lt;script&gt;alert("), "{path}: the title is shown as text");
    }
    let page = br.get(&format!("/tasks/{tid}")).await;
    assert!(page.body.contains("<strong>bold</strong>"), "Markdown is rendered");
    assert!(
        page.body.contains(">click</a>") || page.body.contains("<a rel=\"noopener noreferrer nofollow\">click</a>")
    );
});

both!(viewers_see_no_edit_controls_and_cannot_edit, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut owner = Browser::new(&app);
    owner.sign_up("olive").await;
    let pid = owner.project("Shared").await;
    let tid = owner.task(pid, "Read me").await;
    let mut viewer = Browser::new(&app);
    viewer.sign_up("victor").await;
    owner.get(&format!("/projects/{pid}/settings")).await;
    owner
        .post(&format!("/projects/{pid}/members"), &[("email", "victor@example.com"), ("role", "viewer")])
        .await
        .redirects_to(&format!("/projects/{pid}/settings"));

    for path in [
        format!("/projects/{pid}"),
        format!("/projects/{pid}/board"),
        format!("/tasks/{tid}"),
        format!("/projects/{pid}/settings"),
    ] {
        let page = viewer.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.body.contains("Read me") || path.ends_with("settings"), "{path} shows the task");
        let main = &page.body[page.body.find("<main").unwrap()..];
        // The only form a viewer gets in the page body is the filter (GET) form.
        assert!(!main.contains("method=\"post\""), "{path} has an edit control: {}", page.excerpt());
        assert!(!main.contains("data-editable") && !main.contains("data-inline-edit"), "{path}");
    }
    let before = app.count("activity").await;
    viewer.get(&format!("/tasks/{tid}")).await;
    let res = viewer
        .post(
            &format!("/tasks/{tid}"),
            &[("title", "changed"), ("status", "done"), ("priority", "low"), ("version", "1")],
        )
        .await;
    assert_eq!(res.status, 403, "{}", res.excerpt());
    assert_eq!(app.count("activity").await, before);
    let res = viewer.post(&format!("/projects/{pid}/tasks"), &[("title", "new")]).await;
    assert_eq!(res.status, 403);
    let res = viewer.post(&format!("/tasks/{tid}/comments"), &[("body", "hi")]).await;
    assert_eq!(res.status, 403);
    assert_eq!(app.count("comment").await, 0);
    assert_eq!(app.count("task").await, 1);
});
