//! Projects: the list, create, archive; project settings (name, members, labels).

use axum::{extract::State, http::StatusCode, response::Response};
use serde_json::{json, Value};

use super::{
    extract::{json_of, CsrfForm, WebError, WebPath, WebResult, WebUser},
    format,
    render::{page, redirect, Nav},
};
use crate::{
    api::{labels, members, projects},
    db::repo::{self, projects::ProjectRow},
    domain::Role,
    error::AppError,
    extract::{ApiJson, Path, QueryPairs},
    state::AppState,
};

/// The project as the viewer sees it, or 404.
pub async fn load(state: &AppState, user: &WebUser, id: i64) -> Result<(ProjectRow, Role), WebError> {
    let mut c = state.db.conn().await?;
    let p = repo::projects::get_for_member(&state.db, &mut c, id, user.id()).await?.ok_or(AppError::NotFound)?;
    let role = Role::parse(&p.role).unwrap_or(Role::Viewer);
    Ok((p, role))
}

/// What the project's tab bar needs.
pub fn header(p: &ProjectRow, role: Role, current: &str) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "archived": p.archived != 0,
        "role": role.as_str(),
        "can_edit": role.can_edit() && p.archived == 0,
        "tab_list": current == "list",
        "tab_board": current == "board",
        "tab_settings": current == "settings",
    })
}

pub(super) fn messages(e: AppError) -> Result<Vec<String>, WebError> {
    match e {
        AppError::Unprocessable(errs) => Ok(errs.into_iter().map(|e| e.message).collect()),
        AppError::Conflict(_, m) => Ok(vec![m]),
        other => Err(other.into()),
    }
}

async fn index_page(
    state: &AppState,
    user: &WebUser,
    status: StatusCode,
    errors: Vec<String>,
    values: Value,
) -> WebResult {
    let mut c = state.db.conn().await?;
    let rows = repo::projects::list_for_member(&state.db, &mut c, user.id(), true).await?;
    let tz = user.tz();
    let view = |p: &ProjectRow| {
        let role = Role::parse(&p.role).unwrap_or(Role::Viewer);
        json!({
            "id": p.id, "name": p.name, "description": p.description,
            "role": role.as_str(), "can_manage": role.can_manage(),
            "updated": format::time(p.updated_at, tz),
        })
    };
    let active: Vec<Value> = rows.iter().filter(|p| p.archived == 0).map(view).collect();
    let archived: Vec<Value> = rows.iter().filter(|p| p.archived != 0).map(view).collect();
    let data = json!({"active": active, "archived": archived, "errors": errors, "values": values});
    Ok(page(&user.ctx, status, Nav::Projects, "projects", "Projects", data))
}

pub async fn index(State(state): State<AppState>, user: WebUser) -> WebResult {
    index_page(&state, &user, StatusCode::OK, vec![], json!({"name": "", "description": ""})).await
}

pub async fn create(State(state): State<AppState>, user: WebUser, form: CsrfForm) -> WebResult {
    let body = projects::CreateProject { name: form.get("name"), description: Some(form.raw("description")) };
    match projects::create_project(State(state.clone()), user.principal.clone(), ApiJson(body)).await {
        Ok(res) => {
            let id = json_of(res).await?["id"].as_i64().unwrap_or_default();
            Ok(redirect(&format!("/projects/{id}/board"), Some("project_created")))
        }
        Err(e) => {
            let errors = messages(e)?;
            let values = json!({"name": form.get("name"), "description": form.raw("description")});
            index_page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, errors, values).await
        }
    }
}

pub async fn archive(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let archived = form.get("archived") != "false";
    let body = projects::UpdateProject { name: None, description: None, archived: Some(archived) };
    let _ = projects::update_project(State(state), user.principal, Path(id), ApiJson(body)).await?;
    Ok(redirect("/projects", Some(if archived { "project_archived" } else { "project_restored" })))
}

async fn settings_page(
    state: &AppState,
    user: &WebUser,
    id: i64,
    status: StatusCode,
    errors: Vec<String>,
) -> WebResult {
    let (p, role) = load(state, user, id).await?;
    let mut c = state.db.conn().await?;
    let members = repo::members::list(&state.db, &mut c, id).await?;
    let labels = repo::labels::list(&state.db, &mut c, id).await?;
    let can_manage = role.can_manage();
    let members: Vec<Value> = members
        .iter()
        .map(|m| {
            let roles: Vec<Value> = ["viewer", "editor", "owner"]
                .iter()
                .map(|r| json!({"value": r, "label": capitalise(r), "selected": *r == m.role}))
                .collect();
            json!({
                "user_id": m.user_id, "display_name": m.display_name, "email": m.email,
                "role": capitalise(&m.role), "roles": roles, "is_me": m.user_id == user.id(),
            })
        })
        .collect();
    let labels: Vec<Value> = labels
        .iter()
        .map(|l| json!({"id": l.id, "name": l.name, "color": l.color, "swatch": format::swatch(&l.color)}))
        .collect();
    let webhooks: Vec<Value> = if can_manage {
        repo::webhooks::list(&state.db, &mut c, id)
            .await?
            .iter()
            .map(|w| {
                // Who answers for it: the creator, or the owner who confirmed it last.
                let owner = w.confirmed_by.unwrap_or(w.created_by);
                let by = members.iter().find(|m| m["user_id"] == owner).and_then(|m| m["display_name"].as_str());
                json!({"id": w.id, "url": w.url, "events": w.events.replace(',', ", "), "active": w.active == 1,
                       "paused": w.paused_reason.is_some(), "by": by.unwrap_or("a former member")})
            })
            .collect()
    } else {
        vec![]
    };
    let data = json!({
        "webhooks": webhooks,
        "webhook_events": crate::webhooks::Event::ALL.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        "project": header(&p, role, "settings"),
        "description": p.description,
        "can_manage": can_manage,
        "can_edit": role.can_edit(),
        "members": members,
        "labels": labels,
        "errors": errors,
    });
    Ok(page(&user.ctx, status, Nav::Projects, "settings", &format!("Settings · {}", p.name), data))
}

pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

pub async fn settings(State(state): State<AppState>, user: WebUser, WebPath(id): WebPath<i64>) -> WebResult {
    settings_page(&state, &user, id, StatusCode::OK, vec![]).await
}

/// Runs a settings change: back to the settings page with a message, or the page
/// again with what was wrong.
pub(super) async fn settings_change<T>(
    state: &AppState,
    user: &WebUser,
    id: i64,
    result: Result<T, AppError>,
    flash: &'static str,
) -> WebResult {
    match result {
        Ok(_) => Ok(redirect(&format!("/projects/{id}/settings"), Some(flash))),
        Err(e) => {
            let status = e.status();
            let errors = messages(e)?;
            settings_page(state, user, id, status, errors).await
        }
    }
}

pub async fn update(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let body = projects::UpdateProject {
        name: Some(form.get("name")),
        description: Some(form.raw("description")),
        archived: None,
    };
    let r = projects::update_project(State(state.clone()), user.principal.clone(), Path(id), ApiJson(body)).await;
    settings_change(&state, &user, id, r, "project_saved").await
}

fn role_of(form: &CsrfForm) -> Result<Role, WebError> {
    Role::parse(&form.get("role"))
        .ok_or_else(|| AppError::field("role", "invalid", "Choose viewer, editor or owner.").into())
}

pub async fn add_member(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let body = members::AddMember { email: form.get("email"), role: role_of(&form)? };
    let r = members::add_member(State(state.clone()), user.principal.clone(), Path(id), ApiJson(body)).await;
    settings_change(&state, &user, id, r, "member_added").await
}

pub async fn change_member(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((id, user_id)): WebPath<(i64, i64)>,
    form: CsrfForm,
) -> WebResult {
    let body = members::UpdateMember { role: role_of(&form)? };
    let r =
        members::update_member(State(state.clone()), user.principal.clone(), Path((id, user_id)), ApiJson(body)).await;
    settings_change(&state, &user, id, r, "member_saved").await
}

pub async fn remove_member(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((id, user_id)): WebPath<(i64, i64)>,
    _form: CsrfForm,
) -> WebResult {
    let r =
        members::remove_member(State(state.clone()), user.principal.clone(), Path((id, user_id)), QueryPairs(vec![]))
            .await;
    if r.is_ok() && user_id == user.id() {
        return Ok(redirect("/projects", Some("member_removed")));
    }
    settings_change(&state, &user, id, r, "member_removed").await
}

pub async fn add_label(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let body = labels::CreateLabel { name: form.get("name"), color: form.get("color") };
    let r = labels::create_label(State(state.clone()), user.principal.clone(), Path(id), ApiJson(body)).await;
    settings_change(&state, &user, id, r, "label_added").await
}

pub async fn delete_label(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((id, label_id)): WebPath<(i64, i64)>,
    _form: CsrfForm,
) -> Result<Response, WebError> {
    let r = labels::delete_label(State(state.clone()), user.principal.clone(), Path((id, label_id))).await;
    settings_change(&state, &user, id, r, "label_deleted").await
}
