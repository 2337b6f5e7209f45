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
