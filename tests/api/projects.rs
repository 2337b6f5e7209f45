//! Projects: create, list (mine), get, update, archive, delete.

use reqwest::Method;
use serde_json::json;

use crate::{both, common::*, helpers::*};

both!(crud_and_archive, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, _) = app.user("olga").await;
    let (other, _) = app.user("pavel").await;

    let (s, p) = app
        .call(&c, Method::POST, "/api/v1/projects", Some(json!({"name": "  Zeta  ", "description": "last by name"})))
        .await;
    assert_eq!(s, 201, "{p}");
    let zeta = p["id"].as_i64().unwrap();
    assert_eq!(p["name"], "Zeta");
    assert_eq!(p["description"], "last by name");
    assert_eq!(p["archived"], false);
    assert_eq!(p["role"], "owner");
    assert!(p["created_at"].is_string() && p["updated_at"].is_string());
    let (s, p2) = app.call(&c, Method::POST, "/api/v1/projects", Some(json!({"name": "alpha"}))).await;
    assert_eq!(s, 201);
    assert_eq!(p2["description"], "");
    let alpha = p2["id"].as_i64().unwrap();
    let theirs = create_project(&app, &other, "Not mine").await;

    // List: mine only, by name ignoring case.
    let (s, list) = app.call(&c, Method::GET, "/api/v1/projects", None).await;
    assert_eq!(s, 200);
    let names: Vec<_> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["alpha", "Zeta"]);
    assert!(!list.as_array().unwrap().iter().any(|p| p["id"] == theirs));

    let (s, got) = app.call(&c, Method::GET, &format!("/api/v1/projects/{zeta}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(got, p);

    // Update: partial.
    let (s, u) =
        app.call(&c, Method::PATCH, &format!("/api/v1/projects/{zeta}"), Some(json!({"description": "changed"}))).await;
    assert_eq!(s, 200, "{u}");
    assert_eq!((u["name"].as_str(), u["description"].as_str()), (Some("Zeta"), Some("changed")));
    let (s, u) = app.call(&c, Method::PATCH, &format!("/api/v1/projects/{zeta}"), Some(json!({"name": "Beta"}))).await;
    assert_eq!(s, 200);
    assert_eq!((u["name"].as_str(), u["description"].as_str()), (Some("Beta"), Some("changed")));

    // Archive: hidden from the list unless ?archived=true; still readable; restorable.
    let (s, u) =
        app.call(&c, Method::PATCH, &format!("/api/v1/projects/{zeta}"), Some(json!({"archived": true}))).await;
    assert_eq!((s.as_u16(), u["archived"].as_bool()), (200, Some(true)));
    let (_, list) = app.call(&c, Method::GET, "/api/v1/projects", None).await;
    assert_eq!(list.as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect::<Vec<_>>(), [alpha]);
    let (_, list) = app.call(&c, Method::GET, "/api/v1/projects?archived=false", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, list) = app.call(&c, Method::GET, "/api/v1/projects?archived=true", None).await;
    let all: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p["archived"].as_bool().unwrap()))
        .collect();
    assert_eq!(all, [(alpha, false), (zeta, true)]);
    assert_eq!(app.call(&c, Method::GET, &format!("/api/v1/projects/{zeta}"), None).await.1["archived"], true);
    let (s, p) = app.call(&c, Method::GET, "/api/v1/projects?archived=maybe", None).await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["archived"]);
    let (s, u) =
        app.call(&c, Method::PATCH, &format!("/api/v1/projects/{zeta}"), Some(json!({"archived": false}))).await;
    assert_eq!((s.as_u16(), u["archived"].as_bool()), (200, Some(false)));
    assert_eq!(app.call(&c, Method::GET, "/api/v1/projects", None).await.1.as_array().unwrap().len(), 2);

    // Delete: cascades to members, labels, tasks, comments and activity.
    create_label(&app, &c, zeta, "bug").await;
    let t = create_task(&app, &c, zeta, json!({"title": "doomed"})).await;
    let (s, _) =
        app.call(&c, Method::POST, &format!("/api/v1/tasks/{}/comments", t["id"]), Some(json!({"body": "hi"}))).await;
    assert_eq!(s, 201);
    let (s, _) = app.call(&c, Method::DELETE, &format!("/api/v1/projects/{zeta}"), None).await;
    assert_eq!(s, 204);
    assert_eq!(app.call(&c, Method::GET, &format!("/api/v1/projects/{zeta}"), None).await.0, 404);
    assert_eq!(app.call(&c, Method::GET, &format!("/api/v1/tasks/{}", t["id"]), None).await.0, 404);
    assert_eq!(app.call(&c, Method::DELETE, &format!("/api/v1/projects/{zeta}"), None).await.0, 404);
    for table in ["task", "label", "comment", "activity"] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
    assert_eq!(app.count("project").await, 2);
});
