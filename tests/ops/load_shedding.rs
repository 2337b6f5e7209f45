//! Load shedding: beyond `max_concurrent_requests` a request gets 503 with
//! `Retry-After` at once, and health checks still answer. The slots are held through
//! the application's state, as requests in flight would hold them, so the test does
//! not depend on timing.

use reqwest::StatusCode;

use crate::{both, common::*};

both!(requests_beyond_capacity_are_shed_but_health_checks_answer, |b| async move {
    let app = TestApp::spawn_with(b, |c| c.max_concurrent_requests = 2).await;
    let docs = app.url("/api/v1/openapi.json");
    assert_eq!(reqwest::get(&docs).await.unwrap().status(), StatusCode::OK);

    let busy = app.state.capacity.clone().acquire_many_owned(2).await.unwrap();
    let r = reqwest::get(&docs).await.unwrap();
    assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let (status, problem) = decode(r).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")));
    let (s, _) = app.call(&app.client(), reqwest::Method::GET, "/api/v1/me", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "every route but health is shed");
    for health in ["/healthz/live", "/healthz/ready"] {
        assert_eq!(reqwest::get(app.url(health)).await.unwrap().status(), StatusCode::OK, "{health}");
    }

    drop(busy);
    assert_eq!(reqwest::get(&docs).await.unwrap().status(), StatusCode::OK, "freed slots serve again");
});
