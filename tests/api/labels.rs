//! Labels: create, list, update, delete; names unique per project ignoring case.

use reqwest::Method;
use serde_json::json;

use crate::{both, common::*, helpers::*};

both!(crud_and_case_insensitive_names, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, _) = app.user("lea").await;
    let pid = create_project(&app, &c, "Labels").await;
    let other = create_project(&app, &c, "Other").await;
    let labels = format!("/api/v1/projects/{pid}/labels");

    let (s, l) = app.call(&c, Method::POST, &labels, Some(json!({"name": " Bug ", "color": "#FF0000"}))).await;
    assert_eq!(s, 201, "{l}");
    let bug = l["id"].as_i64().unwrap();
    assert_eq!(
        (l["name"].as_str(), l["color"].as_str(), l["project_id"].as_i64()),
        (Some("Bug"), Some("#ff0000"), Some(pid))
    );
    assert!(l["created_at"].is_string());
    let (s, f) = app.call(&c, Method::POST, &labels, Some(json!({"name": "feature", "color": "#00ff00"}))).await;
    assert_eq!(s, 201);
    let feature = f["id"].as_i64().unwrap();
    // The same name in another project is fine.
    create_label(&app, &c, other, "bug").await;

    let before = snapshot(&app).await;
    let (s, p) = app.call(&c, Method::POST, &labels, Some(json!({"name": "BUG", "color": "#000000"}))).await;
    assert_eq!((s.as_u16(), p["code"].as_str()), (409, Some("already_exists")), "{p}");
    let (s, p) = app.call(&c, Method::PATCH, &format!("{labels}/{feature}"), Some(json!({"name": "bUg"}))).await;
    assert_eq!(s, 409, "{p}");
    let (s, p) = app.call(&c, Method::POST, &labels, Some(json!({"name": "x", "color": "red"}))).await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["color"]);
    let (s, p) = app.call(&c, Method::POST, &labels, Some(json!({"name": "", "color": "#12345"}))).await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["name", "color"]);
    // A label of another project is not found through this one.
    let (_, ol) = app.call(&c, Method::GET, &format!("/api/v1/projects/{other}/labels"), None).await;
    let other_label = ol[0]["id"].as_i64().unwrap();
    assert_eq!(
        app.call(&c, Method::PATCH, &format!("{labels}/{other_label}"), Some(json!({"name": "z"}))).await.0,
        404
    );
    assert_eq!(app.call(&c, Method::DELETE, &format!("{labels}/{other_label}"), None).await.0, 404);
    assert_unchanged(&before, &snapshot(&app).await, "refused label writes");

    let (s, list) = app.call(&c, Method::GET, &labels, None).await;
    assert_eq!(s, 200);
    let names: Vec<_> = list.as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Bug", "feature"]);

    // Renaming to a different case of its own name is allowed.
    let (s, u) = app.call(&c, Method::PATCH, &format!("{labels}/{bug}"), Some(json!({"name": "BUG"}))).await;
    assert_eq!((s.as_u16(), u["name"].as_str(), u["color"].as_str()), (200, Some("BUG"), Some("#ff0000")), "{u}");
    let (s, u) = app.call(&c, Method::PATCH, &format!("{labels}/{bug}"), Some(json!({"color": "#0000AA"}))).await;
    assert_eq!((s.as_u16(), u["name"].as_str(), u["color"].as_str()), (200, Some("BUG"), Some("#0000aa")));

    // Deleting removes it from tasks.
    let t = create_task(&app, &c, pid, json!({"title": "labelled", "labels": [bug, feature]})).await;
    assert_eq!(t["labels"], json!([bug.min(feature), bug.max(feature)]));
    let (s, _) = app.call(&c, Method::DELETE, &format!("{labels}/{bug}"), None).await;
    assert_eq!(s, 204);
    assert_eq!(app.call(&c, Method::DELETE, &format!("{labels}/{bug}"), None).await.0, 404);
    assert_eq!(get_task(&app, &c, t["id"].as_i64().unwrap()).await["labels"], json!([feature]));
    let (_, list) = app.call(&c, Method::GET, &labels, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
});
