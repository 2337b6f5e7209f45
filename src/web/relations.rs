//! Subtasks and relations on the task page: the parent, the subtasks with an
//! "add subtask" form, relations grouped by kind with forms to add and remove them,
//! and the page that asks before completing a task whose subtasks are still open.
//! Every form goes through the same API handlers as the JSON API.

use axum::{
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode},
};
use serde_json::{json, Value};

use super::{
    extract::{safe_next, CsrfForm, WebError, WebPath, WebResult, WebUser},
    format::status_label,
    render::{error_response, page, redirect, Nav},
};
use crate::{
    api::{
        relations::{self, AddRelation, RelationKind, RelationView},
        subtasks,
        task_input::{CreateTask, UpdateTask},
        tasks,
    },
    db::repo::{self, tasks::TaskRow},
    domain::TaskStatus,
    error::AppError,
    extract::{ApiJson, Path},
    state::AppState,
};

fn back(id: i64) -> String {
    format!("/tasks/{id}#links")
}

/// At most this many tasks are offered as parents or related tasks in the pickers.
const PICKER_LIMIT: usize = 500;

/// What the task page shows about the task's parent, subtasks and relations.
pub async fn task_links(state: &AppState, row: &TaskRow) -> Result<Value, WebError> {
    let db = &state.db;
    let mut c = db.conn().await?;
    let parent = match row.parent_id {
        Some(p) => repo::subtasks::link(db, &mut c, p).await?,
        None => None,
    };
    let children = repo::subtasks::children(db, &mut c, &[row.id]).await?;
    let seen = repo::relations::for_task(db, &mut c, row.id).await?;
    let others = repo::tasks::all_in_project(db, &mut c, row.project_id).await?;
    drop(c);
    let link = |id: i64, title: &str, status: &str| {
        let s = TaskStatus::parse(status).unwrap_or(TaskStatus::Todo);
        json!({"id": id, "title": title, "status_label": status_label(s), "done": s == TaskStatus::Done})
    };
    let groups: Vec<Value> = RelationKind::ALL
        .iter()
        .filter_map(|k| {
            let items: Vec<Value> = seen
                .iter()
                .map(RelationView::from)
                .filter(|r| r.kind == *k)
                .map(|r| {
                    let mut v = link(r.task.id, &r.task.title, r.task.status.as_str());
                    v["relation_id"] = json!(r.id);
                    v
                })
                .collect();
            (!items.is_empty()).then(|| json!({"label": capitalised(k.label()), "items": items}))
        })
        .collect();
    Ok(json!({
        "parent": parent.map(|p| link(p.id, &p.title, &p.status)),
        "subtasks": children.iter().map(|t| link(t.id, &t.title, &t.status)).collect::<Vec<_>>(),
        "subtasks_done": children.iter().filter(|t| t.status == TaskStatus::Done.as_str()).count(),
        "subtasks_total": children.len(),
        "relations": groups,
        "kinds": RelationKind::ALL.iter().map(|k| json!({"value": k.as_str(), "label": k.label()})).collect::<Vec<_>>(),
        "candidates": others
            .iter()
            .filter(|t| t.id != row.id)
            .take(PICKER_LIMIT)
            .map(|t| json!({"id": t.id, "title": t.title}))
            .collect::<Vec<_>>(),
    }))
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|f| f.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// How the task page's activity shows a subtask or relation change.
pub fn activity_text(field: &str, value: Option<&str>) -> Option<String> {
    let value = value?;
    match field {
        "parent_id" | "subtasks" => Some(format!("#{value}")),
        _ => {
            let (kind, rest) = value.split_once(' ')?;
            RelationKind::parse(kind).map(|k| format!("{} {rest}", k.label()))
        }
    }
}

/// The task id typed or picked in a form: a number, with or without `#`.
fn task_id(raw: &str) -> Option<i64> {
    raw.trim().trim_start_matches('#').parse().ok()
}

/// `POST /tasks/{id}/subtasks`: a new subtask with a title, in the parent's project.
pub async fn add_subtask(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let project_id = super::tasks::project_of(&state, &user, id).await?;
    let body = CreateTask {
        title: form.get("title"),
        description: None,
        status: None,
        priority: None,
        due_at: None,
        assignee_id: None,
        labels: None,
        parent_id: Some(id),
        recurrence: None,
    };
    match tasks::create_task(State(state), user.principal, Path(project_id), ApiJson(body)).await {
        Ok(_) => Ok(redirect(&back(id), Some("task_added"))),
        Err(e @ AppError::Unprocessable(_)) => Ok(error_response(e)),
        Err(e) => Err(e.into()),
    }
}

/// `POST /tasks/{id}/parent`: sets the parent (a task id) or, empty, clears it.
pub async fn set_parent(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let raw = form.get("parent_id");
    let parent = match raw.as_str() {
        "" => None,
        other => Some(task_id(other).ok_or_else(|| AppError::field("parent_id", "invalid", "Enter a task number."))?),
    };
    let body = UpdateTask { parent_id: Some(parent), ..UpdateTask::default() };
    match tasks::update_task(State(state), user.principal, Path(id), HeaderMap::new(), ApiJson(body)).await {
        Ok(_) => Ok(redirect(&back(id), Some("task_saved"))),
        Err(e @ AppError::Unprocessable(_)) => Ok(error_response(e)),
        Err(e) => Err(e.into()),
    }
}

/// `POST /tasks/{id}/relations`: relates the task to another one.
pub async fn add_relation(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let kind = RelationKind::parse(&form.get("kind"))
        .ok_or_else(|| AppError::field("kind", "invalid", "Choose a kind of relation."))?;
    let other =
        task_id(&form.get("task_id")).ok_or_else(|| AppError::field("task_id", "invalid", "Enter a task number."))?;
    let body = AddRelation { kind, task_id: other };
    match relations::add_relation(State(state), user.principal, Path(id), ApiJson(body)).await {
        Ok(_) => Ok(redirect(&back(id), Some("relation_saved"))),
        Err(e @ (AppError::Unprocessable(_) | AppError::Conflict(..))) => Ok(error_response(e)),
        Err(e) => Err(e.into()),
    }
}

/// `POST /tasks/{id}/relations/{relation_id}/delete`.
pub async fn delete_relation(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((id, relation)): WebPath<(i64, i64)>,
    _form: CsrfForm,
) -> WebResult {
    relations::delete_relation(State(state), user.principal, Path((id, relation))).await?;
    Ok(redirect(&back(id), Some("relation_saved")))
}

/// The answer of the confirmation page: `Some(true)` completes the open subtasks too,
/// `Some(false)` completes the task only, `None` when the form has not asked yet.
pub fn completion_choice(form: &CsrfForm) -> Option<bool> {
    match form.get("subtasks").as_str() {
        "complete" => Some(true),
        "leave" => Some(false),
        _ => None,
    }
}

/// Before a form completes a task: when the task still has open subtasks and the
/// form has not answered yet, the page that asks (it posts `fields` back to `action`
/// with the answer); otherwise `None` and the form goes ahead.
pub async fn confirm_completion(
    state: &AppState,
    user: &WebUser,
    id: i64,
    status: Option<TaskStatus>,
    form: &CsrfForm,
    action: &str,
    fields: Vec<(String, String)>,
) -> Result<Option<axum::response::Response>, WebError> {
    if status != Some(TaskStatus::Done) || completion_choice(form).is_some() {
        return Ok(None);
    }
    let cancel = form.return_to(&format!("/tasks/{id}"));
    completion_page(state, user, id, action, fields, &cancel).await
}

async fn completion_page(
    state: &AppState,
    user: &WebUser,
    id: i64,
    action: &str,
    fields: Vec<(String, String)>,
    cancel: &str,
) -> Result<Option<axum::response::Response>, WebError> {
    let db = &state.db;
    let mut c = db.conn().await?;
    let (task, _) = repo::tasks::get_for_member(db, &mut c, id, user.id(), false).await?.ok_or(AppError::NotFound)?;
    if task.status == TaskStatus::Done.as_str() {
        return Ok(None);
    }
    let open = subtasks::open_below(db, &mut c, id).await?;
    if open.is_empty() {
        return Ok(None);
    }
    let fields: Vec<Value> = fields
        .into_iter()
        .filter(|(k, _)| k != "_csrf" && k != "subtasks")
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    let data = json!({
        "task": {"id": task.id, "title": task.title},
        "open": open.iter().map(|t| json!({"id": t.id, "title": t.title, "status_label": status_label(TaskStatus::parse(&t.status).unwrap_or(TaskStatus::Todo))})).collect::<Vec<_>>(),
        "count": open.len(),
        "one": open.len() == 1,
        "action": action,
        "fields": fields,
        "cancel": cancel,
    });
    let title = format!("Complete · {}", task.title);
    Ok(Some(page(&user.ctx, StatusCode::OK, Nav::Projects, "complete", &title, data)))
}

/// `GET /tasks/{id}/complete?return=…`: the confirmation page on its own (the board
/// sends a card dropped on "Done" here when its task has subtasks); without open
/// subtasks there is nothing to ask and it goes back.
pub async fn complete_page(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    RawQuery(raw): RawQuery,
) -> WebResult {
    let back_to = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "return")
        .and_then(|(_, v)| safe_next(&state.config.public_url, &v))
        .unwrap_or_else(|| format!("/tasks/{id}"));
    let fields = vec![("status".to_owned(), "done".to_owned()), ("return".to_owned(), back_to.clone())];
    match completion_page(&state, &user, id, &format!("/tasks/{id}/status"), fields, &back_to).await? {
        Some(page) => Ok(page),
        None => Ok(redirect(&back_to, None)),
    }
}
