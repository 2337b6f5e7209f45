//! Typed relations: shown from both sides with the inverse kind, removed from either
//! side, one per kind and pair (409), never with itself or across projects (422),
//! activity on both tasks; outsiders get 404 and viewers only read.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{both, common::*, helpers::*};

async fn task(app: &TestApp, c: &reqwest::Client, pid: i64, title: &str) -> i64 {
    create_task(app, c, pid, json!({"title": title})).await["id"].as_i64().unwrap()
}

/// (kind, other task id) of a task's relations.
async fn relations(app: &TestApp, c: &reqwest::Client, id: i64) -> Vec<(String, i64)> {
    let (s, v) = app.call(c, Method::GET, &format!("/api/v1/tasks/{id}/relations"), None).await;
    assert_eq!(s, 200, "{v}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].as_str().unwrap().to_owned(), r["task"]["id"].as_i64().unwrap()))
        .collect()
}

fn rel(kind: &str, id: i64) -> (String, i64) {
    (kind.to_owned(), id)
}

both!(relations_read_both_ways_and_delete_from_either_side, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("uma").await;
    let pid = create_project(&app, &owner, "Links").await;
    let a = task(&app, &owner, pid, "Design").await;
    let bb = task(&app, &owner, pid, "Build").await;
    let c = task(&app, &owner, pid, "Old idea").await;
    let add = |from: i64, kind: &str, to: i64| {
        let (app, owner) = (&app, &owner);
        let body = json!({"kind": kind, "task_id": to});
        async move { app.call(owner, Method::POST, &format!("/api/v1/tasks/{from}/relations"), Some(body)).await }
    };
    let (s, v) = add(a, "blocks", bb).await;
    assert_eq!(s, 201, "{v}");
    let blocks = v["id"].as_i64().unwrap();
    assert_eq!(
        (v["kind"].as_str(), v["task"]["id"].as_i64(), v["task"]["title"].as_str()),
        (Some("blocks"), Some(bb), Some("Build"))
    );
    // Given from the other side: c is duplicated by a (a duplicates c).
    assert_eq!(add(c, "duplicated_by", a).await.0, 201);
    let (s, v) = add(bb, "relates_to", c).await;
    assert_eq!(s, 201);
    let related = v["id"].as_i64().unwrap();

    assert_eq!(relations(&app, &owner, a).await, vec![rel("blocks", bb), rel("duplicates", c)]);
    assert_eq!(relations(&app, &owner, bb).await, vec![rel("blocked_by", a), rel("relates_to", c)]);
    assert_eq!(relations(&app, &owner, c).await, vec![rel("duplicated_by", a), rel("relates_to", bb)]);

    // Activity on both tasks.
    let (_, activity) = app.call(&owner, Method::GET, &format!("/api/v1/tasks/{bb}/activity"), None).await;
    let changes: Vec<Option<&str>> = activity
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["field"] == "relations")
        .map(|x| x["new_value"].as_str())
        .collect();
    assert_eq!(changes, vec![Some(format!("blocked_by #{a}").as_str()), Some(format!("relates_to #{c}").as_str())]);

    // Both sides list the one row under the same id; either side removes it.
    let (_, listed) = app.call(&owner, Method::GET, &format!("/api/v1/tasks/{bb}/relations"), None).await;
    assert_eq!(listed[0]["id"], blocks);
    let (s, _) = app.call(&owner, Method::DELETE, &format!("/api/v1/tasks/{bb}/relations/{blocks}"), None).await;
    assert_eq!(s, 204);
    assert_eq!(relations(&app, &owner, a).await, vec![rel("duplicates", c)]);
    assert_eq!(relations(&app, &owner, bb).await, vec![rel("relates_to", c)]);
    assert_eq!(app.call(&owner, Method::DELETE, &format!("/api/v1/tasks/{c}/relations/{related}"), None).await.0, 204);
    let (_, activity) = app.call(&owner, Method::GET, &format!("/api/v1/tasks/{a}/activity"), None).await;
    let removed: Vec<Option<&str>> = activity
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["field"] == "relations")
        .map(|x| x["old_value"].as_str())
        .collect();
    assert_eq!(removed, vec![None, None, Some(format!("blocks #{bb}").as_str())]);
    // Deleting a task removes its relations.
    app.call(&owner, Method::DELETE, &format!("/api/v1/tasks/{c}"), None).await;
    assert_eq!(relations(&app, &owner, a).await, vec![]);
    assert_eq!(app.count("task_relation").await, 0);
});

both!(duplicate_self_and_foreign_relations_are_refused, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("vic").await;
    let (viewer, _) = app.user("wes").await;
    let (outsider, _) = app.user("xia").await;
    let pid = create_project(&app, &owner, "Guarded").await;
    add_member(&app, &owner, pid, "wes", "viewer").await;
    let a = task(&app, &owner, pid, "A").await;
    let bb = task(&app, &owner, pid, "B").await;
    let other_project = create_project(&app, &owner, "Other").await;
    let foreign = task(&app, &owner, other_project, "Foreign").await;
    let theirs = create_project(&app, &outsider, "Theirs").await;
    let hidden = task(&app, &outsider, theirs, "Hidden").await;
    let c = task(&app, &owner, pid, "C").await;
    let path = format!("/api/v1/tasks/{a}/relations");
    let (s, v) = app.call(&owner, Method::POST, &path, Some(json!({"kind": "blocks", "task_id": bb}))).await;
    assert_eq!(s, 201);
    let blocks = v["id"].as_i64().unwrap();
    let (_, v) = app
        .call(
            &owner,
            Method::POST,
            &format!("/api/v1/tasks/{bb}/relations"),
            Some(json!({"kind": "relates_to", "task_id": c})),
        )
        .await;
    let elsewhere = v["id"].as_i64().unwrap();
    let before = snapshot(&app).await;

    // The same relation again, also given from the other side or reversed: 409.
    for (from, kind, to) in [(a, "blocks", bb), (bb, "blocked_by", a), (bb, "blocks", a)] {
        let (s, v) = app
            .call(
                &owner,
                Method::POST,
                &format!("/api/v1/tasks/{from}/relations"),
                Some(json!({"kind": kind, "task_id": to})),
            )
            .await;
        assert_eq!((s.as_u16(), v["code"].as_str()), (409, Some("relation_exists")), "{from} {kind} {to}: {v}");
    }
    for (to, code) in
        [(a, "self"), (foreign, "not_in_project"), (hidden, "not_in_project"), (999_999, "not_in_project")]
    {
        let (s, v) = app.call(&owner, Method::POST, &path, Some(json!({"kind": "relates_to", "task_id": to}))).await;
        assert_eq!((s.as_u16(), v["errors"][0]["code"].as_str()), (422, Some(code)), "{to}: {v}");
    }
    let (s, _) = app.call(&owner, Method::POST, &path, Some(json!({"kind": "causes", "task_id": bb}))).await;
    assert!(s == 400 || s == 422, "{s}");
    // Deleting what is not there, or a relation the task is not part of: 404.
    for p in [format!("{path}/999999"), format!("{path}/{elsewhere}")] {
        assert_eq!(app.call(&owner, Method::DELETE, &p, None).await.0, 404, "{p}");
    }
    // Viewers read, not write; outsiders learn nothing.
    assert_eq!(relations(&app, &viewer, bb).await, vec![rel("blocked_by", a), rel("relates_to", c)]);
    assert_eq!(app.call(&viewer, Method::POST, &path, Some(json!({"kind": "relates_to", "task_id": bb}))).await.0, 403);
    assert_eq!(app.call(&viewer, Method::DELETE, &format!("{path}/{blocks}"), None).await.0, 403);
    assert_eq!(app.call(&outsider, Method::GET, &path, None).await.0, 404);
    assert_eq!(app.call(&outsider, Method::DELETE, &format!("{path}/{blocks}"), None).await.0, 404);
    let (s, _): (_, Value) = app
        .call(
            &outsider,
            Method::POST,
            &format!("/api/v1/tasks/{hidden}/relations"),
            Some(json!({"kind": "blocks", "task_id": a})),
        )
        .await;
    assert_eq!(s, 422, "an outsider's own task cannot reach into another project");
    assert_unchanged(&before, &snapshot(&app).await, "refused relation changes");
});
