//! Export and import: the JSON document round-trips (export → import → export gives the
//! same content), the CSV lists the tasks, and a bad document writes nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{both, common::*, helpers::*};

/// The document without the parts that differ between two exports by design.
fn content(mut doc: Value) -> Value {
    doc.as_object_mut().unwrap().remove("exported_at");
    doc
}

/// The document without `tasks[i]`, which nothing points at: later indexes shift down.
fn without_task(mut doc: Value, i: usize) -> Value {
    doc["tasks"].as_array_mut().unwrap().remove(i);
    let shift = |v: &mut Value| {
        if let Some(n) = v.as_u64().filter(|n| *n as usize > i) {
            *v = json!(n - 1);
        }
    };
    for t in doc["tasks"].as_array_mut().unwrap() {
        if let Some(p) = t.get_mut("parent") {
            shift(p);
        }
    }
    for r in doc["relations"].as_array_mut().into_iter().flatten() {
        shift(&mut r["task"]);
        shift(&mut r["other"]);
    }
    doc
}

both!(export_import_export_round_trips, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, owner_id) = app.user("ivy").await;
    let (_, _) = app.user("jon").await;
    let pid = create_project(&app, &owner, "Original").await;
    add_member(&app, &owner, pid, "jon", "editor").await;
    let jon_id = app.call(&owner, Method::GET, &format!("/api/v1/projects/{pid}/members"), None).await.1[1]["user_id"]
        .as_i64()
        .unwrap();
    let urgent = create_label(&app, &owner, pid, "urgent").await;
    create_label(&app, &owner, pid, "later").await;
    let t1 = create_task(
        &app,
        &owner,
        pid,
        json!({"title": "Write \"docs\", then ship", "description": "Line one\nline, two", "priority": "high",
               "due_at": "2031-02-03T04:05:06Z", "assignee_id": owner_id, "labels": [urgent],
               "recurrence": "FREQ=WEEKLY;INTERVAL=2;COUNT=5"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let t2 = create_task(&app, &owner, pid, json!({"title": "Jon's task", "assignee_id": jon_id, "status": "done"}))
        .await["id"]
        .as_i64()
        .unwrap();
    app.call(&owner, Method::POST, &format!("/api/v1/tasks/{t1}/checklist"), Some(json!({"text": "Draft"}))).await;
    let (_, item) =
        app.call(&owner, Method::POST, &format!("/api/v1/tasks/{t1}/checklist"), Some(json!({"text": "Review"}))).await;
    app.call(
        &owner,
        Method::PATCH,
        &format!("/api/v1/tasks/{t1}/checklist/{}", item["id"]),
        Some(json!({"done": true})),
    )
    .await;
    app.call(&owner, Method::POST, &format!("/api/v1/tasks/{t1}/comments"), Some(json!({"body": "Mine"}))).await;
    let _ = t2;
    // A subtask of t1 that t1 blocks.
    let t3 =
        create_task(&app, &owner, pid, json!({"title": "Proofread", "parent_id": t1})).await["id"].as_i64().unwrap();
    let (s, _) = app
        .call(
            &owner,
            Method::POST,
            &format!("/api/v1/tasks/{t3}/relations"),
            Some(json!({"kind": "blocked_by", "task_id": t1})),
        )
        .await;
    assert_eq!(s, 201);

    let (s, first) = app.call(&owner, Method::GET, &format!("/api/v1/projects/{pid}/export"), None).await;
    assert_eq!(s, 200);
    assert_eq!(first["format"], "task-manager.project.v1");
    assert_eq!(first["tasks"].as_array().unwrap().len(), 3);
    let index = |title: &str| first["tasks"].as_array().unwrap().iter().position(|t| t["title"] == title).unwrap();
    let (i1, i3) = (index("Write \"docs\", then ship"), index("Proofread"));
    assert_eq!(first["tasks"][i3]["parent"], i1);
    assert!(first["tasks"][i1].get("parent").is_none());
    assert_eq!(first["relations"], json!([{"task": i1, "kind": "blocks", "other": i3}]));
    let written =
        first["tasks"].as_array().unwrap().iter().find(|t| t["title"] == "Write \"docs\", then ship").unwrap();
    assert_eq!(written["labels"], json!(["urgent"]));
    assert_eq!(written["assignee"], "ivy@example.com");
    assert_eq!(written["checklist"], json!([{"text": "Draft", "done": false}, {"text": "Review", "done": true}]));
    assert_eq!(written["comments"][0]["author"], "ivy@example.com");
    assert_eq!(written["recurrence"], "FREQ=WEEKLY;INTERVAL=2;COUNT=5");
    assert_eq!(written["recurrence_start"], "2031-02-03T04:05:06Z");

    // Import a copy made of the owner's own work only: it round-trips exactly.
    let jons = first["tasks"].as_array().unwrap().iter().position(|t| t["assignee"] == "jon@example.com").unwrap();
    let mine = without_task(first.clone(), jons);
    let (s, report) = app.call(&owner, Method::POST, "/api/v1/projects/import", Some(mine.clone())).await;
    assert_eq!(s, 201, "{report}");
    assert_eq!(
        (
            report["tasks"].as_i64(),
            report["labels"].as_i64(),
            report["checklist_items"].as_i64(),
            report["comments"].as_i64(),
            report["relations"].as_i64()
        ),
        (Some(2), Some(2), Some(2), Some(1), Some(1))
    );
    assert_eq!(report["skipped"], json!([]));
    let copy = report["project_id"].as_i64().unwrap();
    let (_, second) = app.call(&owner, Method::GET, &format!("/api/v1/projects/{copy}/export"), None).await;
    assert_eq!(content(second), content(mine));

    // The full export: Jon is not a member of the new project; the report says so.
    let (s, report) = app.call(&owner, Method::POST, "/api/v1/projects/import", Some(first.clone())).await;
    assert_eq!(s, 201);
    assert_eq!(report["skipped"][0]["item"], format!("tasks[{jons}].assignee"));
    assert!(report["skipped"][0]["reason"].as_str().unwrap().contains("jon@example.com"));

    // CSV.
    let res = owner.get(app.url(&format!("/api/v1/projects/{pid}/tasks.csv"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let text = res.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "title,status,priority,due_at,assignee,labels,completed_at,created_at,checklist,description"
    );
    assert!(
        text.contains("\"Write \"\"docs\"\", then ship\",todo,high,2031-02-03T04:05:06+00:00,ivy@example.com,urgent,")
    );
    assert!(text.contains(",1/2,\"Line one\nline, two\""), "{text}");
});

both!(a_bad_import_writes_nothing_and_outsiders_cannot_export, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("kim").await;
    let (outsider, _) = app.user("lou").await;
    let pid = create_project(&app, &owner, "Private").await;
    assert_eq!(app.call(&outsider, Method::GET, &format!("/api/v1/projects/{pid}/export"), None).await.0, 404);
    assert_eq!(outsider.get(app.url(&format!("/api/v1/projects/{pid}/tasks.csv"))).send().await.unwrap().status(), 404);
    let before = snapshot(&app).await;
    let task = |title: &str| json!({"title": title, "status": "todo", "priority": "low", "due_at": null, "assignee": null, "completed_at": null, "created_at": null});
    let with_parent = |mut t: Value, p: usize| {
        t["parent"] = json!(p);
        t
    };
    let recurring = |due: Value, rule: &str| {
        let mut t = task("r");
        t["due_at"] = due;
        t["recurrence"] = json!(rule);
        t
    };
    for (doc, field) in [
        (json!({"format": "other", "name": "X", "exported_at": null}), "format"),
        (json!({"format": "task-manager.project.v1", "name": "", "exported_at": null}), "name"),
        (
            json!({"format": "task-manager.project.v1", "name": "X", "exported_at": null, "tasks": [task("ok"), task("")]}),
            "tasks[1].title",
        ),
        (
            json!({"format": "task-manager.project.v1", "name": "X", "exported_at": null,
                "labels": [{"name": "a", "color": "red"}]}),
            "labels[0].color",
        ),
        (
            json!({"format": "task-manager.project.v1", "name": "X", "exported_at": null,
                "tasks": [task("a"), with_parent(task("b"), 1)]}),
            "tasks[1].parent",
        ),
        (
            json!({"format": "task-manager.project.v1", "name": "X", "exported_at": null,
                "tasks": [task("a")], "relations": [{"task": 0, "kind": "blocks", "other": 3}]}),
            "relations[0]",
        ),
        (
            json!({"format": "task-manager.project.v1", "name": "X", "exported_at": null,
                "tasks": [recurring(json!("2031-01-01T09:00:00Z"), "FREQ=SOMETIMES")]}),
            "tasks[0].recurrence",
        ),
        (
            json!({"format": "task-manager.project.v1", "name": "X", "exported_at": null,
                "tasks": [recurring(Value::Null, "FREQ=DAILY")]}),
            "tasks[0].recurrence",
        ),
    ] {
        let (s, v) = app.call(&owner, Method::POST, "/api/v1/projects/import", Some(doc)).await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(field_names(&v), vec![field.to_string()], "{v}");
    }
    let (s, _) = app.call(&owner, Method::POST, "/api/v1/projects/import", Some(json!({"name": "no format"}))).await;
    assert!(s == 400 || s == 422);
    assert_unchanged(&before, &snapshot(&app).await, "refused imports");
});

both!(csv_cells_that_start_a_formula_open_as_text, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("csv").await;
    let pid = create_project(&app, &owner, "Sheets").await;
    let label = create_label(&app, &owner, pid, "@cmd").await;
    for title in ["=HYPERLINK(\"http://127.0.0.1/x\",\"y\")", "+1+1", "-2", "@SUM(1)", "Plain"] {
        create_task(&app, &owner, pid, json!({"title": title, "labels": [label], "description": "=cmd|' /C calc'!A0"}))
            .await;
    }
    let text = owner.get(app.url(&format!("/api/v1/projects/{pid}/tasks.csv"))).send().await.unwrap().text().await;
    let text = text.unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let mut titles = vec![];
    for row in rows.records() {
        let row = row.unwrap();
        titles.push(row[0].to_owned());
        assert_eq!(&row[5], "'@cmd", "labels cell: {text}");
        assert_eq!(&row[9], "'=cmd|' /C calc'!A0", "description cell: {text}");
    }
    titles.sort();
    assert_eq!(titles, ["'+1+1", "'-2", "'=HYPERLINK(\"http://127.0.0.1/x\",\"y\")", "'@SUM(1)", "Plain"], "{text}");
});
