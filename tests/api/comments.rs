//! Comments: add, list, delete own; someone else's is 403.

use reqwest::Method;
use serde_json::json;

use crate::{both, common::*, helpers::*};

both!(add_list_delete_own, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, me) = app.user("cora").await;
    let (ed, ed_id) = app.user("edd").await;
    let pid = create_project(&app, &c, "Talk").await;
    add_member(&app, &c, pid, "edd", "editor").await;
    let tid = create_task(&app, &c, pid, json!({"title": "discuss"})).await["id"].as_i64().unwrap();
    let path = format!("/api/v1/tasks/{tid}/comments");

    let (s, c1) = app.call(&c, Method::POST, &path, Some(json!({"body": "  **first**  "}))).await;
    assert_eq!(s, 201, "{c1}");
    assert_eq!(c1["body"], "**first**");
    assert_eq!(
        (c1["task_id"].as_i64(), c1["author_id"].as_i64(), c1["author_name"].as_str()),
        (Some(tid), Some(me), Some("cora"))
    );
    assert!(c1["created_at"].is_string());
    let (s, c2) = app.call(&ed, Method::POST, &path, Some(json!({"body": "second"}))).await;
    assert_eq!(s, 201);
    assert_eq!(c2["author_id"], ed_id);

    let (s, list) = app.call(&ed, Method::GET, &path, None).await;
    assert_eq!(s, 200);
    assert_eq!(list, json!([c1, c2]), "oldest first");

    let other = create_task(&app, &c, pid, json!({"title": "other"})).await["id"].as_i64().unwrap();
    // Someone else's comment: 403, even for the project owner, and nothing deleted.
    let before = snapshot(&app).await;
    let (s, p) = app.call(&c, Method::DELETE, &format!("{path}/{}", c2["id"]), None).await;
    assert_eq!((s.as_u16(), p["code"].as_str()), (403, Some("forbidden")));
    let (s, p) = app.call(&c, Method::POST, &path, Some(json!({"body": "   "}))).await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["body"]);
    let (s, p) = app.call(&c, Method::POST, &path, Some(json!({"body": "x".repeat(10_001)}))).await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["body"]);
    // A comment id of another task is not found through this one.
    assert_eq!(
        app.call(&c, Method::DELETE, &format!("/api/v1/tasks/{other}/comments/{}", c1["id"]), None).await.0,
        404
    );
    assert_unchanged(&before, &snapshot(&app).await, "refused comment writes");

    let (s, _) = app.call(&c, Method::DELETE, &format!("{path}/{}", c1["id"]), None).await;
    assert_eq!(s, 204);
    assert_eq!(app.call(&c, Method::DELETE, &format!("{path}/{}", c1["id"]), None).await.0, 404);
    let (_, list) = app.call(&c, Method::GET, &path, None).await;
    assert_eq!(list, json!([c2]));
});
