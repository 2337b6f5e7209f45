//! Checklists: items added in order, ticked, edited and removed, each change in the
//! task's activity; viewers read, editors write; bad input writes nothing.

use reqwest::Method;
use serde_json::json;

use crate::{both, common::*, helpers::*};

both!(checklist_items_keep_their_order_and_record_activity, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("cleo").await;
    let pid = create_project(&app, &owner, "Lists").await;
    let tid = create_task(&app, &owner, pid, json!({"title": "Pack"})).await["id"].as_i64().unwrap();
    let path = format!("/api/v1/tasks/{tid}/checklist");
    let mut ids = vec![];
    for text in ["Passport", "Charger", "Socks"] {
        let (s, v) = app.call(&owner, Method::POST, &path, Some(json!({"text": text}))).await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["done"], false);
        ids.push(v["id"].as_i64().unwrap());
    }
    let (s, v) = app.call(&owner, Method::PATCH, &format!("{path}/{}", ids[1]), Some(json!({"done": true}))).await;
    assert_eq!((s.as_u16(), v["done"].as_bool()), (200, Some(true)));
    let (s, v) =
        app.call(&owner, Method::PATCH, &format!("{path}/{}", ids[2]), Some(json!({"text": "Wool socks"}))).await;
    assert_eq!((s.as_u16(), v["text"].as_str()), (200, Some("Wool socks")));
    let (s, _) = app.call(&owner, Method::DELETE, &format!("{path}/{}", ids[0]), None).await;
    assert_eq!(s, 204);
    let (_, list) = app.call(&owner, Method::GET, &path, None).await;
    let items: Vec<(String, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["text"].as_str().unwrap().to_owned(), i["done"].as_bool().unwrap()))
        .collect();
    assert_eq!(items, vec![("Charger".to_owned(), true), ("Wool socks".to_owned(), false)]);
    let (_, activity) = app.call(&owner, Method::GET, &format!("/api/v1/tasks/{tid}/activity"), None).await;
    let checklist: Vec<(Option<&str>, Option<&str>)> = activity
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["field"] == "checklist")
        .map(|a| (a["old_value"].as_str(), a["new_value"].as_str()))
        .collect();
    assert_eq!(
        checklist,
        vec![
            (None, Some("Passport")),
            (None, Some("Charger")),
            (None, Some("Socks")),
            (Some("[ ] Charger"), Some("[x] Charger")),
            (Some("[ ] Socks"), Some("[ ] Wool socks")),
            (Some("Passport"), None),
        ]
    );
    // Deleting the task deletes its checklist.
    app.call(&owner, Method::DELETE, &format!("/api/v1/tasks/{tid}"), None).await;
    assert_eq!(app.count("checklist_item").await, 0);
});

both!(checklist_access_and_bad_input, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("dex").await;
    let (viewer, _) = app.user("val").await;
    let (outsider, _) = app.user("oz").await;
    let pid = create_project(&app, &owner, "Guarded").await;
    add_member(&app, &owner, pid, "val", "viewer").await;
    let tid = create_task(&app, &owner, pid, json!({"title": "T"})).await["id"].as_i64().unwrap();
    let path = format!("/api/v1/tasks/{tid}/checklist");
    let (_, item) = app.call(&owner, Method::POST, &path, Some(json!({"text": "one"}))).await;
    let item_path = format!("{path}/{}", item["id"]);
    let before = snapshot(&app).await;
    assert_eq!(app.call(&viewer, Method::GET, &path, None).await.0, 200);
    assert_eq!(app.call(&viewer, Method::POST, &path, Some(json!({"text": "no"}))).await.0, 403);
    assert_eq!(app.call(&viewer, Method::PATCH, &item_path, Some(json!({"done": true}))).await.0, 403);
    assert_eq!(app.call(&outsider, Method::GET, &path, None).await.0, 404);
    assert_eq!(app.call(&outsider, Method::DELETE, &item_path, None).await.0, 404);
    for body in [json!({"text": ""}), json!({"text": "x".repeat(501)}), json!({"text": 3}), json!({"done": true})] {
        let (s, _) = app.call(&owner, Method::POST, &path, Some(body.clone())).await;
        assert!(s == 400 || s == 422, "{body}: {s}");
    }
    assert_eq!(app.call(&owner, Method::PATCH, &format!("{path}/999999"), Some(json!({"done": true}))).await.0, 404);
    assert_eq!(app.call(&owner, Method::PATCH, &item_path, Some(json!({"text": "  "}))).await.0, 422);
    assert_unchanged(&before, &snapshot(&app).await, "refused checklist changes");
});
