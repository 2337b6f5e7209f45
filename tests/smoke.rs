//! The harness itself: an app starts on both databases and answers.
mod common;
use common::*;
use reqwest::Method;

both!(ready_and_register, |b| async move {
    let app = TestApp::spawn(b).await;
    let r = reqwest::get(app.url("/healthz/ready")).await.unwrap();
    assert_eq!(r.status(), 200);
    let (c, id) = app.user("ada").await;
    let (s, me) = app.call(&c, Method::GET, "/api/v1/me", None).await;
    assert_eq!(s, 200);
    assert_eq!(me["id"], id);
    app.stop().await;
});
