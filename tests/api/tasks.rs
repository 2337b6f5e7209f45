//! Tasks: create, get (ETag), PATCH (partial, null clears), DELETE, move,
//! completed_at, activity, "my tasks" and the cross-project listing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    both,
    common::*,
    helpers::*,
    tokens::{chrono_now, rfc3339},
};

fn etag_of(r: &Resp) -> String {
    r.header("etag").expect("ETag header").to_owned()
}

both!(create_get_patch_delete, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, me) = app.user("tom").await;
    let (_, mate) = app.user("mate").await;
    let pid = create_project(&app, &c, "Tasks").await;
    add_member(&app, &c, pid, "mate", "editor").await;
    let l1 = create_label(&app, &c, pid, "one").await;
    let l2 = create_label(&app, &c, pid, "two").await;

    // Defaults.
    let r = send(
        &app,
        &c,
        Method::POST,
        &format!("/api/v1/projects/{pid}/tasks"),
        Some(json!({"title": "  Plain  "})),
        &[],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let plain = r.body.clone();
    assert_eq!(etag_of(&r), "\"1\"");
    assert_eq!(plain["title"], "Plain");
    assert_eq!(plain["description"], "");
    assert_eq!(plain["status"], "todo");
    assert_eq!(plain["priority"], "medium");
    assert!(plain["due_at"].is_null() && plain["assignee_id"].is_null() && plain["completed_at"].is_null());
    assert_eq!(plain["labels"], json!([]));
    assert_eq!(plain["project_id"], pid);
    assert_eq!(plain["created_by"], me);
    assert_eq!(plain["version"], 1);
    assert!(!plain["position"].as_str().unwrap().is_empty());
    assert_eq!(plain["created_at"], plain["updated_at"]);

    // Every field; due_at with an offset comes back in UTC.
    let t = create_task(
        &app,
        &c,
        pid,
        json!({"title": "Full", "description": "# Heading\n\n*md*", "status": "in_progress", "priority": "urgent",
               "due_at": "2030-05-01T10:30:00+02:00", "assignee_id": mate, "labels": [l2, l1]}),
    )
    .await;
    let id = t["id"].as_i64().unwrap();
    assert_eq!(t["description"], "# Heading\n\n*md*");
    assert_eq!(t["status"], "in_progress");
    assert_eq!(t["priority"], "urgent");
    assert_eq!(t["due_at"], "2030-05-01T08:30:00Z");
    assert_eq!(t["assignee_id"], mate);
    assert_eq!(t["labels"], json!([l1.min(l2), l1.max(l2)]));

    // GET: same body, ETag is the quoted version.
    let r = send(&app, &c, Method::GET, &format!("/api/v1/tasks/{id}"), None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, t);
    assert_eq!(etag_of(&r), format!("\"{}\"", r.body["version"]));

    // PATCH partial: only the title changes.
    let r = send(
        &app,
        &c,
        Method::PATCH,
        &format!("/api/v1/tasks/{id}"),
        Some(json!({"title": "Renamed"})),
        &[("if-match", "\"1\"")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(etag_of(&r), "\"2\"");
    let u = r.body.clone();
    assert_eq!(u["version"], 2);
    assert_eq!(u["title"], "Renamed");
    for f in
        ["description", "status", "priority", "due_at", "assignee_id", "labels", "position", "created_at", "created_by"]
    {
        assert_eq!(u[f], t[f], "{f} unchanged by a partial update");
    }
    // null clears due_at and the assignee; absent fields stay.
    let r = send(
        &app,
        &c,
        Method::PATCH,
        &format!("/api/v1/tasks/{id}"),
        Some(json!({"due_at": null, "assignee_id": null, "labels": [l2]})),
        &[("if-match", "W/\"2\"")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["due_at"].is_null() && r.body["assignee_id"].is_null(), "{}", r.body);
    assert_eq!(r.body["labels"], json!([l2]));
    assert_eq!((r.body["title"].as_str(), r.body["priority"].as_str()), (Some("Renamed"), Some("urgent")));
    assert_eq!(r.body["version"], 3);
    // Setting them again.
    let (s, u) = app
        .call(
            &c,
            Method::PATCH,
            &format!("/api/v1/tasks/{id}"),
            Some(json!({"due_at": "2031-01-01T00:00:00Z", "assignee_id": me, "priority": "low"})),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(
        (u["due_at"].as_str(), u["assignee_id"].as_i64(), u["priority"].as_str()),
        (Some("2031-01-01T00:00:00Z"), Some(me), Some("low"))
    );

    // completed_at follows done.
    let (_, d) = app.call(&c, Method::PATCH, &format!("/api/v1/tasks/{id}"), Some(json!({"status": "done"}))).await;
    assert_eq!(d["status"], "done");
    assert!(d["completed_at"].is_string(), "{d}");
    let (_, d2) =
        app.call(&c, Method::PATCH, &format!("/api/v1/tasks/{id}"), Some(json!({"title": "still done"}))).await;
    assert_eq!(d2["completed_at"], d["completed_at"], "unchanged while it stays done");
    let (_, r2) = app.call(&c, Method::PATCH, &format!("/api/v1/tasks/{id}"), Some(json!({"status": "blocked"}))).await;
    assert_eq!(r2["status"], "blocked");
    assert!(r2["completed_at"].is_null(), "{r2}");
    let done = create_task(&app, &c, pid, json!({"title": "born done", "status": "done"})).await;
    assert!(done["completed_at"].is_string());

    // DELETE: stale If-Match 412 and nothing deleted; then 204, then 404.
    let current = get_task(&app, &c, id).await["version"].as_i64().unwrap();
    let before = snapshot(&app).await;
    let r = send(&app, &c, Method::DELETE, &format!("/api/v1/tasks/{id}"), None, &[("if-match", "\"1\"")]).await;
    assert_eq!((r.status.as_u16(), r.code()), (412, "stale_version"));
    assert_unchanged(&before, &snapshot(&app).await, "stale delete");
    let etag = format!("\"{current}\"");
    let r = send(&app, &c, Method::DELETE, &format!("/api/v1/tasks/{id}"), None, &[("if-match", etag.as_str())]).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.call(&c, Method::GET, &format!("/api/v1/tasks/{id}"), None).await.0, 404);
    assert_eq!(app.call(&c, Method::DELETE, &format!("/api/v1/tasks/{id}"), None).await.0, 404);
    let labels_left: i64 = sqlx::query_scalar("select count(*) from task_label where task_id = $1")
        .bind(id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(labels_left, 0);
    // Without If-Match a delete just happens.
    let pid2 = plain["id"].as_i64().unwrap();
    assert_eq!(app.call(&c, Method::DELETE, &format!("/api/v1/tasks/{pid2}"), None).await.0, 204);
});

both!(activity_records_changes, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, me) = app.user("ann").await;
    let pid = create_project(&app, &c, "Log").await;
    let l = create_label(&app, &c, pid, "l").await;
    let t = create_task(&app, &c, pid, json!({"title": "first", "due_at": "2030-01-01T12:00:00Z"})).await;
    let id = t["id"].as_i64().unwrap();
    let (s, _) = app
        .call(
            &c,
            Method::PATCH,
            &format!("/api/v1/tasks/{id}"),
            Some(json!({"title": "second", "priority": "high", "due_at": null, "labels": [l]})),
        )
        .await;
    assert_eq!(s, 200);
    // A PATCH that changes nothing records nothing.
    let (s, _) = app.call(&c, Method::PATCH, &format!("/api/v1/tasks/{id}"), Some(json!({"title": "second"}))).await;
    assert_eq!(s, 200);
    let (s, log) = app.call(&c, Method::GET, &format!("/api/v1/tasks/{id}/activity"), None).await;
    assert_eq!(s, 200);
    let entries: Vec<(String, Value, Value)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["old_value"].clone(), e["new_value"].clone()))
        .collect();
    assert_eq!(
        entries,
        [
            ("created".to_owned(), Value::Null, json!("first")),
            ("title".to_owned(), json!("first"), json!("second")),
            ("priority".to_owned(), json!("medium"), json!("high")),
            ("due_at".to_owned(), json!("2030-01-01T12:00:00Z"), Value::Null),
            ("labels".to_owned(), json!(""), json!(l.to_string())),
        ]
    );
    for e in log.as_array().unwrap() {
        assert_eq!(
            (e["actor_id"].as_i64(), e["actor_name"].as_str(), e["task_id"].as_i64()),
            (Some(me), Some("ann"), Some(id))
        );
        assert!(e["created_at"].is_string() && e["id"].is_i64());
    }
});

/// The titles of a column in position order, with positions and versions.
async fn column(app: &TestApp, c: &reqwest::Client, pid: i64, status: &str) -> Vec<(String, String, i64)> {
    let (s, page) =
        app.call(c, Method::GET, &format!("/api/v1/projects/{pid}/tasks?status={status}&sort=position"), None).await;
    assert_eq!(s, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap().to_owned(),
                t["position"].as_str().unwrap().to_owned(),
                t["version"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn titles(col: &[(String, String, i64)]) -> Vec<&str> {
    col.iter().map(|(t, _, _)| t.as_str()).collect()
}

/// Everything but `moved` is exactly as before.
fn only_moved_changed(before: &[(String, String, i64)], after: &[(String, String, i64)], moved: &str) {
    for row in before.iter().filter(|r| r.0 != moved) {
        assert!(after.contains(row), "{row:?} changed; before {before:?}, after {after:?}");
    }
}

both!(move_within_and_between_columns, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, _) = app.user("mo").await;
    let pid = create_project(&app, &c, "Board").await;
    let other = create_project(&app, &c, "Elsewhere").await;
    let mut id = std::collections::HashMap::new();
    for name in ["A", "B", "C", "D"] {
        id.insert(name, create_task(&app, &c, pid, json!({"title": name})).await["id"].as_i64().unwrap());
    }
    for name in ["X", "Y"] {
        id.insert(
            name,
            create_task(&app, &c, pid, json!({"title": name, "status": "in_progress"})).await["id"].as_i64().unwrap(),
        );
    }
    let foreign = create_task(&app, &c, other, json!({"title": "F"})).await["id"].as_i64().unwrap();
    let todo0 = column(&app, &c, pid, "todo").await;
    assert_eq!(titles(&todo0), ["A", "B", "C", "D"], "created at the end of the column");
    let mv = |task: &'static str, body: Value| {
        let app = &app;
        let c = &c;
        let tid = id[task];
        async move { app.call(c, Method::POST, &format!("/api/v1/tasks/{tid}/move"), Some(body)).await }
    };

    // D after A, within the column.
    let (s, t) = mv("D", json!({"after_id": id["A"]})).await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["version"], 2);
    let todo1 = column(&app, &c, pid, "todo").await;
    assert_eq!(titles(&todo1), ["A", "D", "B", "C"]);
    only_moved_changed(&todo0, &todo1, "D");

    // C before A: to the start.
    let (s, _) = mv("C", json!({"before_id": id["A"]})).await;
    assert_eq!(s, 200);
    let todo2 = column(&app, &c, pid, "todo").await;
    assert_eq!(titles(&todo2), ["C", "A", "D", "B"]);
    only_moved_changed(&todo1, &todo2, "C");

    // B before D: between two neighbours.
    let (s, _) = mv("B", json!({"before_id": id["D"]})).await;
    assert_eq!(s, 200);
    let todo3 = column(&app, &c, pid, "todo").await;
    assert_eq!(titles(&todo3), ["C", "A", "B", "D"]);
    only_moved_changed(&todo2, &todo3, "B");

    // A to in_progress between X and Y.
    let prog0 = column(&app, &c, pid, "in_progress").await;
    let (s, t) = mv("A", json!({"status": "in_progress", "after_id": id["X"]})).await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["status"], "in_progress");
    let prog1 = column(&app, &c, pid, "in_progress").await;
    assert_eq!(titles(&prog1), ["X", "A", "Y"]);
    only_moved_changed(&prog0, &prog1, "A");
    let todo4 = column(&app, &c, pid, "todo").await;
    assert_eq!(titles(&todo4), ["C", "B", "D"]);
    only_moved_changed(&todo3, &todo4, "A");

    // To done, at the end: completed_at set; back to todo before C: cleared.
    let (s, t) = mv("D", json!({"status": "done"})).await;
    assert_eq!(s, 200);
    assert!(t["completed_at"].is_string(), "{t}");
    let (s, t) = mv("D", json!({"status": "todo", "before_id": id["C"]})).await;
    assert_eq!(s, 200);
    assert!(t["completed_at"].is_null(), "{t}");
    assert_eq!(titles(&column(&app, &c, pid, "todo").await), ["D", "C", "B"]);
    // Neither neighbour: the end of the current column.
    let (s, _) = mv("D", json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(titles(&column(&app, &c, pid, "todo").await), ["C", "B", "D"]);

    // Many moves into the same gap keep working without renumbering.
    for _ in 0..30 {
        let (s, _) = mv("D", json!({"after_id": id["C"]})).await;
        assert_eq!(s, 200);
        let (s, _) = mv("B", json!({"after_id": id["C"]})).await;
        assert_eq!(s, 200);
    }
    assert_eq!(titles(&column(&app, &c, pid, "todo").await), ["C", "B", "D"]);

    // Refused moves write nothing: itself as neighbour, a neighbour in another column
    // or project, an unknown task.
    let before = snapshot(&app).await;
    for (body, field) in [
        (json!({"after_id": id["D"]}), "after_id"),
        (json!({"before_id": id["D"]}), "before_id"),
        (json!({"after_id": id["X"]}), "after_id"),
        (json!({"status": "in_progress", "before_id": id["C"]}), "before_id"),
        (json!({"after_id": foreign}), "after_id"),
        (json!({"after_id": 99999999}), "after_id"),
    ] {
        let (s, p) = mv("D", body.clone()).await;
        assert_eq!(s, 422, "{body}: {p}");
        assert_eq!(field_names(&p), [field], "{body}");
    }
    let (s, p) = mv("D", json!({"status": "doing"})).await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["status"]);
    assert_eq!(app.call(&c, Method::POST, "/api/v1/tasks/99999999/move", Some(json!({}))).await.0, 404);
    let r = send(
        &app,
        &c,
        Method::POST,
        &format!("/api/v1/tasks/{}/move", id["D"]),
        Some(json!({})),
        &[("if-match", "\"1\"")],
    )
    .await;
    assert_eq!(r.status, 412);
    assert_unchanged(&before, &snapshot(&app).await, "refused moves");
});

/// A time zone in which it is around noon now, so "due today" is deterministic.
fn noon_zone() -> String {
    let hour = (chrono_now() / 3600).rem_euclid(24);
    let offset = 12 - hour; // local = UTC + offset
    match offset {
        0 => "UTC".into(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

both!(my_tasks_groups, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, me) = app.user("mia").await;
    let (other, other_id) = app.user("oli").await;
    let (s, _) = app.call(&c, Method::PATCH, "/api/v1/me", Some(json!({"time_zone": noon_zone()}))).await;
    assert_eq!(s, 200);
    let p1 = create_project(&app, &c, "One").await;
    let p2 = create_project(&app, &other, "Two").await;
    add_member(&app, &other, p2, "mia", "editor").await;
    add_member(&app, &c, p1, "oli", "editor").await;
    let now = chrono_now();
    let mk = |pid: i64, title: &'static str, due: Option<i64>, assignee: Option<i64>, status: &'static str| {
        let app = &app;
        let c = &c;
        async move {
            let mut body = json!({"title": title, "assignee_id": assignee, "status": status});
            if let Some(d) = due {
                body["due_at"] = json!(rfc3339(d));
            }
            create_task(app, c, pid, body).await["id"].as_i64().unwrap()
        }
    };
    let late = mk(p1, "late", Some(now - 2 * 86_400), Some(me), "todo").await;
    let late2 = mk(p2, "late2", Some(now - 3600), Some(me), "blocked").await;
    let today = mk(p2, "today", Some(now + 3600), Some(me), "in_progress").await;
    let later = mk(p1, "later", Some(now + 3 * 86_400), Some(me), "todo").await;
    let never = mk(p1, "never", None, Some(me), "todo").await;
    mk(p1, "done late", Some(now - 86_400), Some(me), "done").await;
    mk(p1, "someone else's", Some(now - 86_400), Some(other_id), "todo").await;
    mk(p1, "nobody's", Some(now - 86_400), None, "todo").await;

    let (s, mine) = app.call(&c, Method::GET, "/api/v1/me/tasks", None).await;
    assert_eq!(s, 200, "{mine}");
    let group =
        |name: &str| -> Vec<i64> { mine[name].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect() };
    assert_eq!(group("overdue"), [late, late2], "oldest due first");
    assert_eq!(group("due_today"), [today]);
    assert_eq!(group("upcoming"), [later, never], "no due date last");

    // The other user sees their own assignment only.
    let (_, theirs) = app.call(&other, Method::GET, "/api/v1/me/tasks", None).await;
    assert_eq!(theirs["overdue"].as_array().unwrap().len(), 1);
    assert_eq!(theirs["due_today"], json!([]));
    assert_eq!(theirs["upcoming"], json!([]));
});

both!(tasks_across_projects, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, _) = app.user("xavier").await;
    let (stranger, _) = app.user("yann").await;
    let p1 = create_project(&app, &c, "P1").await;
    let p2 = create_project(&app, &c, "P2").await;
    let p3 = create_project(&app, &stranger, "P3").await;
    let a = create_task(&app, &c, p1, json!({"title": "a", "priority": "high"})).await["id"].as_i64().unwrap();
    let b2 = create_task(&app, &c, p2, json!({"title": "b", "priority": "low"})).await["id"].as_i64().unwrap();
    let hidden =
        create_task(&app, &stranger, p3, json!({"title": "c", "priority": "high"})).await["id"].as_i64().unwrap();
    let (s, page) = app.call(&c, Method::GET, "/api/v1/tasks?sort=created_at", None).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(ids(&page), [a, b2]);
    assert!(page["next_cursor"].is_null());
    let (_, page) = app.call(&c, Method::GET, "/api/v1/tasks?priority=high", None).await;
    assert_eq!(ids(&page), [a]);
    let (_, page) = app.call(&stranger, Method::GET, "/api/v1/tasks", None).await;
    assert_eq!(ids(&page), [hidden]);
    // Joining a project shows its tasks.
    add_member(&app, &stranger, p3, "xavier", "viewer").await;
    let (_, page) = app.call(&c, Method::GET, "/api/v1/tasks?sort=created_at", None).await;
    assert_eq!(ids(&page), [a, b2, hidden]);
});
