//! Bulk edit: many tasks in one call and one transaction, all or nothing, with
//! activity per task and the 500-task limit.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{both, common::*, helpers::*};

async fn tasks(app: &TestApp, c: &reqwest::Client, pid: i64, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(create_task(app, c, pid, json!({"title": format!("Bulk {i}")})).await["id"].as_i64().unwrap());
    }
    ids
}

both!(bulk_changes_every_task_and_records_activity, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("bea").await;
    let (_, ed_id) = app.user("ed").await;
    let pid = create_project(&app, &owner, "Bulk").await;
    add_member(&app, &owner, pid, "ed", "editor").await;
    let red = create_label(&app, &owner, pid, "red").await;
    let blue = create_label(&app, &owner, pid, "blue").await;
    let ids = tasks(&app, &owner, pid, 3).await;
    let path = format!("/api/v1/projects/{pid}/tasks/bulk");
    let body = json!({"task_ids": ids, "set": {"status": "done", "priority": "urgent", "assignee_id": ed_id,
        "due_at": "2030-05-01T09:00:00+02:00", "add_labels": [red, blue]}});
    let (s, v) = app.call(&owner, Method::POST, &path, Some(body)).await;
    assert_eq!(s, 200, "{v}");
    let updated = v["updated"].as_array().unwrap();
    assert_eq!(updated.len(), 3);
    for t in updated {
        assert_eq!((t["status"].as_str(), t["priority"].as_str()), (Some("done"), Some("urgent")));
        assert_eq!(t["assignee_id"], ed_id);
        assert_eq!(t["due_at"], "2030-05-01T07:00:00Z");
        assert_eq!(t["labels"], json!([red.min(blue), red.max(blue)]));
        assert!(t["completed_at"].is_string());
    }
    // Remove one label, clear the due date.
    let body = json!({"task_ids": [ids[0], ids[1]], "set": {"remove_labels": [red], "due_at": null}});
    let (s, v) = app.call(&owner, Method::POST, &path, Some(body)).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["updated"].as_array().unwrap().iter().all(|t| t["labels"] == json!([blue]) && t["due_at"].is_null()));
    let third = get_task(&app, &owner, ids[2]).await;
    assert_eq!(third["labels"], json!([red.min(blue), red.max(blue)]), "untouched task kept its labels");
    let (_, activity) = app.call(&owner, Method::GET, &format!("/api/v1/tasks/{}/activity", ids[0]), None).await;
    let fields: Vec<&str> = activity.as_array().unwrap().iter().filter_map(|a| a["field"].as_str()).collect();
    for f in ["status", "priority", "assignee_id", "due_at", "labels"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }

    // Delete.
    let (s, v) = app.call(&owner, Method::POST, &path, Some(json!({"task_ids": ids, "delete": true}))).await;
    assert_eq!(s, 200);
    assert_eq!(v["deleted"].as_array().unwrap().len(), 3);
    assert_eq!(app.count("task").await, 0);
});

both!(bulk_is_all_or_nothing_and_refuses_bad_input, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("cy").await;
    let (other, _) = app.user("di").await;
    let pid = create_project(&app, &owner, "Mine").await;
    let elsewhere = create_project(&app, &other, "Theirs").await;
    let foreign_task = tasks(&app, &other, elsewhere, 1).await[0];
    let foreign_label = create_label(&app, &other, elsewhere, "x").await;
    let ids = tasks(&app, &owner, pid, 2).await;
    let path = format!("/api/v1/projects/{pid}/tasks/bulk");
    let before = snapshot(&app).await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"task_ids": [ids[0], foreign_task], "set": {"priority": "low"}}), 422, "task_ids"),
        (json!({"task_ids": [ids[0], 999_999], "delete": true}), 422, "task_ids"),
        (json!({"task_ids": ids, "set": {"add_labels": [foreign_label]}}), 422, "labels"),
        (json!({"task_ids": ids, "set": {"status": "finished"}}), 422, ""),
        (json!({"task_ids": ids, "set": {}}), 422, "set"),
        (json!({"task_ids": ids}), 422, "set"),
        (json!({"task_ids": ids, "set": {"priority": "low"}, "delete": true}), 422, "set"),
        (json!({"task_ids": [], "delete": true}), 422, "task_ids"),
        (json!({"task_ids": (1..=501).collect::<Vec<i64>>(), "delete": true}), 422, "task_ids"),
        (json!({"task_ids": ids, "set": {"labels": [], "add_labels": []}}), 422, "labels"),
    ];
    for (body, status, field) in cases {
        let (s, v) = app.call(&owner, Method::POST, &path, Some(body.clone())).await;
        assert_eq!(s.as_u16(), status, "{body}: {v}");
        if !field.is_empty() {
            assert_eq!(field_names(&v), vec![field.to_string()], "{body}: {v}");
        }
    }
    assert_unchanged(&before, &snapshot(&app).await, "refused bulk edits");
    // A non-member cannot see the project; 404 and nothing changes.
    let (s, _) = app.call(&other, Method::POST, &path, Some(json!({"task_ids": ids, "delete": true}))).await;
    assert_eq!(s, 404);
    assert_unchanged(&before, &snapshot(&app).await, "outsider");
});
