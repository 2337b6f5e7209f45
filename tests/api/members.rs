//! Members: add by e-mail, list, change role, remove; a project keeps an owner.

use reqwest::Method;
use serde_json::json;

use crate::{both, common::*, helpers::*};

both!(add_change_remove_and_last_owner, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, owner_id) = app.user("own").await;
    let (ed, ed_id) = app.user("ed").await;
    let (_, vi_id) = app.user("vi").await;
    let pid = create_project(&app, &owner, "Team").await;
    let members = format!("/api/v1/projects/{pid}/members");

    let (s, m) =
        app.call(&owner, Method::POST, &members, Some(json!({"email": "ED@example.com", "role": "editor"}))).await;
    assert_eq!(s, 201, "{m}");
    assert_eq!(m["user_id"], ed_id);
    assert_eq!(m["email"], "ed@example.com");
    assert_eq!(m["display_name"], "ed");
    assert_eq!(m["role"], "editor");
    assert!(m["created_at"].is_string());
    add_member(&app, &owner, pid, "vi", "viewer").await;

    // Now the editor sees the project with their role.
    let (s, p) = app.call(&ed, Method::GET, &format!("/api/v1/projects/{pid}"), None).await;
    assert_eq!((s.as_u16(), p["role"].as_str()), (200, Some("editor")));

    let (s, list) = app.call(&ed, Method::GET, &members, None).await;
    assert_eq!(s, 200);
    let mut roles: Vec<(i64, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user_id"].as_i64().unwrap(), m["role"].as_str().unwrap().to_owned()))
        .collect();
    roles.sort();
    assert_eq!(roles, [(owner_id, "owner".into()), (ed_id, "editor".into()), (vi_id, "viewer".into())]);

    let before = snapshot(&app).await;
    // Already a member: 409; unknown account: 422 on email; bad role: 422.
    let (s, p) =
        app.call(&owner, Method::POST, &members, Some(json!({"email": "vi@example.com", "role": "editor"}))).await;
    assert_eq!((s.as_u16(), p["code"].as_str()), (409, Some("already_member")));
    let (s, p) =
        app.call(&owner, Method::POST, &members, Some(json!({"email": "ghost@example.com", "role": "editor"}))).await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["email"]);
    let (s, p) =
        app.call(&owner, Method::POST, &members, Some(json!({"email": "ghost@example.com", "role": "admin"}))).await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["role"]);
    // The last owner can neither be demoted nor leave.
    let (s, p) =
        app.call(&owner, Method::PATCH, &format!("{members}/{owner_id}"), Some(json!({"role": "editor"}))).await;
    assert_eq!((s.as_u16(), p["code"].as_str()), (409, Some("last_owner")), "{p}");
    let (s, p) = app.call(&owner, Method::DELETE, &format!("{members}/{owner_id}"), None).await;
    assert_eq!((s.as_u16(), p["code"].as_str()), (409, Some("last_owner")), "{p}");
    // Unknown member: 404.
    assert_eq!(
        app.call(&owner, Method::PATCH, &format!("{members}/999999"), Some(json!({"role": "viewer"}))).await.0,
        404
    );
    assert_eq!(app.call(&owner, Method::DELETE, &format!("{members}/999999"), None).await.0, 404);
    assert_unchanged(&before, &snapshot(&app).await, "refused member changes");

    // Change role: promote the editor to owner; then the first owner may step down.
    let (s, m) = app.call(&owner, Method::PATCH, &format!("{members}/{ed_id}"), Some(json!({"role": "owner"}))).await;
    assert_eq!((s.as_u16(), m["role"].as_str(), m["user_id"].as_i64()), (200, Some("owner"), Some(ed_id)));
    let (s, m) =
        app.call(&owner, Method::PATCH, &format!("{members}/{owner_id}"), Some(json!({"role": "viewer"}))).await;
    assert_eq!((s.as_u16(), m["role"].as_str()), (200, Some("viewer")), "{m}");
    // Now the original owner is a viewer and cannot manage members.
    let (s, _) = app.call(&owner, Method::PATCH, &format!("{members}/{vi_id}"), Some(json!({"role": "editor"}))).await;
    assert_eq!(s, 403);
    // And ed, the only owner, cannot be demoted.
    let (s, _) = app.call(&ed, Method::PATCH, &format!("{members}/{ed_id}"), Some(json!({"role": "editor"}))).await;
    assert_eq!(s, 409);

    // Anyone may leave; owners remove anyone.
    let (s, _) = app.call(&owner, Method::DELETE, &format!("{members}/{owner_id}"), None).await;
    assert_eq!(s, 204);
    assert_eq!(app.call(&owner, Method::GET, &format!("/api/v1/projects/{pid}"), None).await.0, 404);
    let (s, _) = app.call(&ed, Method::DELETE, &format!("{members}/{vi_id}"), None).await;
    assert_eq!(s, 204);
    let (_, list) = app.call(&ed, Method::GET, &members, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["user_id"], ed_id);
});

both!(owners_demoting_each_other_at_once_leave_an_owner, |b| async move {
    let app = TestApp::spawn(b).await;
    let (a, a_id) = app.user("ann").await;
    let (bo, b_id) = app.user("bob").await;
    let mut projects = vec![];
    for n in 0..10 {
        let pid = create_project(&app, &a, &format!("Pair {n}")).await;
        add_member(&app, &a, pid, "bob", "owner").await;
        projects.push(pid);
    }
    // Each pair of owners demotes the other at the same moment, on every project at once.
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(projects.len() * 2));
    let mut calls = vec![];
    for &pid in &projects {
        for (client, other) in [(a.clone(), b_id), (bo.clone(), a_id)] {
            let (start, url) = (start.clone(), app.url(&format!("/api/v1/projects/{pid}/members/{other}")));
            calls.push(tokio::spawn(async move {
                start.wait().await;
                client.patch(url).json(&json!({"role": "editor"})).send().await.unwrap().status().as_u16()
            }));
        }
    }
    let mut statuses = vec![];
    for c in calls {
        statuses.push(c.await.unwrap());
    }
    assert!(statuses.iter().all(|s| [200, 403, 409].contains(s)), "{statuses:?}");
    for &pid in &projects {
        let (s, list) = app.call(&a, Method::GET, &format!("/api/v1/projects/{pid}/members"), None).await;
        assert_eq!(s, 200, "{list}");
        let owners = list.as_array().unwrap().iter().filter(|m| m["role"] == "owner").count();
        assert_eq!(owners, 1, "project {pid} must keep exactly one owner: {list} ({statuses:?})");
    }
});

both!(administrators_repair_a_project_without_owner, |b| async move {
    let app = TestApp::spawn(b).await;
    let (admin, _) = crate::admin::admin_client(&app).await;
    let (owner, _) = app.user("own").await;
    let (ed, ed_id) = app.user("ed").await;
    let pid = create_project(&app, &owner, "Orphan").await;
    add_member(&app, &owner, pid, "ed", "editor").await;
    // A project left without an owner, as the race above could leave one before.
    sqlx::query("update project_member set role = 'editor' where project_id = $1")
        .bind(pid)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let url = format!("/api/v1/admin/projects/{pid}/owners");

    let before = snapshot(&app).await;
    assert_eq!(app.call(&ed, Method::POST, &url, Some(json!({"user_id": ed_id}))).await.0, 403);
    let (s, p) = app.call(&admin, Method::POST, &url, Some(json!({"user_id": 999_999}))).await;
    assert_eq!((s.as_u16(), field_names(&p)), (422, vec!["user_id".to_owned()]), "{p}");
    let (s, _) =
        app.call(&admin, Method::POST, "/api/v1/admin/projects/999999/owners", Some(json!({"user_id": ed_id}))).await;
    assert_eq!(s, 404);
    assert_unchanged(&before, &snapshot(&app).await, "refused repairs");

    let (s, list) = app.call(&admin, Method::POST, &url, Some(json!({"user_id": ed_id}))).await;
    assert_eq!(s, 200, "{list}");
    assert!(list.as_array().unwrap().iter().any(|m| m["user_id"] == ed_id && m["role"] == "owner"), "{list}");
    // The repaired owner manages the project again.
    let (s, _) = app.call(&ed, Method::PATCH, &format!("/api/v1/projects/{pid}"), Some(json!({"name": "Fixed"}))).await;
    assert_eq!(s, 200);
});
