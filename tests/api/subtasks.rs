//! Subtasks: setting and clearing a parent (with If-Match like any field), the rules
//! (same project, no cycles, limited depth), the parent's list and the `parent_id`
//! filter, deleting a parent, and completing a parent with open subtasks.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{both, common::*, helpers::*};

async fn task(app: &TestApp, c: &reqwest::Client, pid: i64, body: Value) -> i64 {
    create_task(app, c, pid, body).await["id"].as_i64().unwrap()
}

fn activity_of(list: &Value, field: &str) -> Vec<(Option<String>, Option<String>)> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|a| a["field"] == field)
        .map(|a| (a["old_value"].as_str().map(str::to_owned), a["new_value"].as_str().map(str::to_owned)))
        .collect()
}

both!(a_parent_is_set_listed_filtered_and_cleared, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("pia").await;
    let pid = create_project(&app, &owner, "Trip").await;
    let parent = task(&app, &owner, pid, json!({"title": "Plan trip"})).await;
    let (s, first) = app
        .call(
            &owner,
            Method::POST,
            &format!("/api/v1/projects/{pid}/tasks"),
            Some(json!({"title": "Book train", "parent_id": parent})),
        )
        .await;
    assert_eq!(s, 201, "{first}");
    assert_eq!(first["parent_id"], parent);
    let second = task(&app, &owner, pid, json!({"title": "Book hotel"})).await;
    let loose = task(&app, &owner, pid, json!({"title": "Unrelated"})).await;

    // PATCH sets the parent, honours If-Match and moves the ETag like any field.
    let path = format!("/api/v1/tasks/{second}");
    let stale =
        send(&app, &owner, Method::PATCH, &path, Some(json!({"parent_id": parent})), &[("if-match", "\"7\"")]).await;
    assert_eq!(stale.status, 412);
    let r =
        send(&app, &owner, Method::PATCH, &path, Some(json!({"parent_id": parent})), &[("if-match", "\"1\"")]).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((r.body["parent_id"].as_i64(), r.header("etag")), (Some(parent), Some("\"2\"")));

    // The parent lists its subtasks (id, title, status) in board order.
    let view = get_task(&app, &owner, parent).await;
    let subtasks: Vec<(i64, &str, &str)> = view["subtasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_i64().unwrap(), t["title"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    let first_id = first["id"].as_i64().unwrap();
    assert_eq!(subtasks, vec![(first_id, "Book train", "todo"), (second, "Book hotel", "todo")]);
    // Listings filter by parent, or keep the top-level tasks only.
    let ids =
        |v: &Value| -> Vec<i64> { v["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect() };
    let (s, page) =
        app.call(&owner, Method::GET, &format!("/api/v1/projects/{pid}/tasks?parent_id={parent}"), None).await;
    assert_eq!((s.as_u16(), ids(&page)), (200, vec![first_id, second]));
    let (_, page) = app.call(&owner, Method::GET, "/api/v1/tasks?parent_id=none", None).await;
    assert_eq!(ids(&page), vec![parent, loose]);
    assert_eq!(app.call(&owner, Method::GET, "/api/v1/tasks?parent_id=x", None).await.0, 422);
    assert!(page["items"][0].get("subtasks").is_none(), "listings carry no subtask list");

    // null clears it; activity on the task and on the parent it left.
    let (s, v) = app.call(&owner, Method::PATCH, &path, Some(json!({"parent_id": null}))).await;
    assert_eq!((s.as_u16(), v["parent_id"].clone()), (200, Value::Null));
    let (_, activity) = app.call(&owner, Method::GET, &format!("{path}/activity"), None).await;
    assert_eq!(
        activity_of(&activity, "parent_id"),
        vec![(None, Some(parent.to_string())), (Some(parent.to_string()), None)]
    );
    let (_, activity) = app.call(&owner, Method::GET, &format!("/api/v1/tasks/{parent}/activity"), None).await;
    assert_eq!(
        activity_of(&activity, "subtasks"),
        vec![(None, Some(first_id.to_string())), (None, Some(second.to_string())), (Some(second.to_string()), None)]
    );

    // Deleting the parent detaches its subtasks.
    assert_eq!(app.call(&owner, Method::DELETE, &format!("/api/v1/tasks/{parent}"), None).await.0, 204);
    assert_eq!(get_task(&app, &owner, first_id).await["parent_id"], Value::Null);
});

both!(parents_stay_in_the_project_without_cycles_or_deep_trees, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("quin").await;
    let pid = create_project(&app, &owner, "Tree").await;
    let other_pid = create_project(&app, &owner, "Elsewhere").await;
    let foreign = task(&app, &owner, other_pid, json!({"title": "Foreign"})).await;
    let (stranger, _) = app.user("rex").await;
    let strangers = create_project(&app, &stranger, "Theirs").await;
    let hidden = task(&app, &stranger, strangers, json!({"title": "Hidden"})).await;
    // A chain of MAX levels: a > b > c > d.
    let a = task(&app, &owner, pid, json!({"title": "a"})).await;
    let b1 = task(&app, &owner, pid, json!({"title": "b", "parent_id": a})).await;
    let c = task(&app, &owner, pid, json!({"title": "c", "parent_id": b1})).await;
    let d = task(&app, &owner, pid, json!({"title": "d", "parent_id": c})).await;
    let before = snapshot(&app).await;
    let patch = |id: i64, parent: Value| {
        let app = &app;
        let owner = &owner;
        async move {
            app.call(owner, Method::PATCH, &format!("/api/v1/tasks/{id}"), Some(json!({"parent_id": parent}))).await
        }
    };
    for (id, parent, code) in [
        (b1, json!(b1), "self"),
        (a, json!(d), "cycle"),
        (b1, json!(c), "cycle"),
        (a, json!(foreign), "not_in_project"),
        (a, json!(hidden), "not_in_project"),
        (a, json!(999_999), "not_in_project"),
    ] {
        let (s, v) = patch(id, parent.clone()).await;
        assert_eq!(s, 422, "{id} under {parent}: {v}");
        assert_eq!(v["errors"][0]["field"], "parent_id");
        assert_eq!(v["errors"][0]["code"], code, "{v}");
    }
    // A fifth level is refused, on create and on update.
    let (s, v) = app
        .call(
            &owner,
            Method::POST,
            &format!("/api/v1/projects/{pid}/tasks"),
            Some(json!({"title": "e", "parent_id": d})),
        )
        .await;
    assert_eq!((s.as_u16(), v["errors"][0]["code"].as_str()), (422, Some("too_deep")), "{v}");
    let top = task(&app, &owner, pid, json!({"title": "top"})).await;
    let (s, v) = patch(a, json!(top)).await;
    assert_eq!((s.as_u16(), v["errors"][0]["code"].as_str()), (422, Some("too_deep")), "{v}");
    let (s, v) = app
        .call(
            &owner,
            Method::POST,
            &format!("/api/v1/projects/{pid}/tasks"),
            Some(json!({"title": "x", "parent_id": foreign})),
        )
        .await;
    assert_eq!((s.as_u16(), v["errors"][0]["code"].as_str()), (422, Some("not_in_project")));
    // Refusals write nothing (the extra top-level task aside).
    app.call(&owner, Method::DELETE, &format!("/api/v1/tasks/{top}"), None).await;
    assert_unchanged(&before, &snapshot(&app).await, "refused parents");
});

both!(completing_a_parent_leaves_open_subtasks_unless_asked, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("sol").await;
    let (viewer, _) = app.user("tam").await;
    let pid = create_project(&app, &owner, "Release").await;
    add_member(&app, &owner, pid, "tam", "viewer").await;
    let parent = task(&app, &owner, pid, json!({"title": "Release 2.0"})).await;
    let open = task(&app, &owner, pid, json!({"title": "Changelog", "parent_id": parent})).await;
    let grandchild = task(&app, &owner, pid, json!({"title": "Credits", "parent_id": open})).await;
    let done = task(&app, &owner, pid, json!({"title": "Tag", "parent_id": parent, "status": "done"})).await;

    // A viewer reads the parent but cannot change it.
    assert_eq!(get_task(&app, &viewer, parent).await["subtasks"].as_array().unwrap().len(), 2);
    let path = format!("/api/v1/tasks/{parent}");
    assert_eq!(app.call(&viewer, Method::PATCH, &path, Some(json!({"parent_id": null}))).await.0, 403);
    // complete_subtasks needs the task to end done.
    let (s, v) = app.call(&owner, Method::PATCH, &path, Some(json!({"complete_subtasks": true}))).await;
    assert_eq!((s.as_u16(), v["errors"][0]["field"].as_str()), (422, Some("complete_subtasks")));

    // By default only the parent is completed, and the response says what is still open.
    let (s, v) = app.call(&owner, Method::PATCH, &path, Some(json!({"status": "done"}))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "done");
    assert_eq!(v["open_subtasks"], json!([open, grandchild]));
    assert!(v.get("completed_subtasks").is_none());
    assert_eq!(get_task(&app, &owner, open).await["status"], "todo");
    assert_eq!(get_task(&app, &owner, grandchild).await["status"], "todo");

    // Reopen, then complete with its subtasks: all in one request, activity on each.
    app.call(&owner, Method::PATCH, &path, Some(json!({"status": "in_progress"}))).await;
    let (s, v) =
        app.call(&owner, Method::PATCH, &path, Some(json!({"status": "done", "complete_subtasks": true}))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["completed_subtasks"], json!([open, grandchild]));
    assert!(v.get("open_subtasks").is_none());
    for id in [open, grandchild, done] {
        assert_eq!(get_task(&app, &owner, id).await["status"], "done", "task {id}");
    }
    for id in [open, grandchild] {
        let (_, activity) = app.call(&owner, Method::GET, &format!("/api/v1/tasks/{id}/activity"), None).await;
        assert_eq!(activity_of(&activity, "status"), vec![(Some("todo".into()), Some("done".into()))], "task {id}");
    }
    // Moving a parent to done by the board says the same.
    app.call(&owner, Method::PATCH, &format!("/api/v1/tasks/{open}"), Some(json!({"status": "todo"}))).await;
    app.call(&owner, Method::PATCH, &path, Some(json!({"status": "todo"}))).await;
    let (s, v) = app.call(&owner, Method::POST, &format!("{path}/move"), Some(json!({"status": "done"}))).await;
    assert_eq!((s.as_u16(), v["open_subtasks"].clone()), (200, json!([open])));
});
