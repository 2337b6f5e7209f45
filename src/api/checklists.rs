//! A task's checklist: items with text, done and an order. Members read it, editors
//! change it; every change is in the task's activity.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    access,
    docs::{ReadErrors, WriteErrors},
};
use crate::{
    auth::Principal,
    db::repo::{self, activity::Change, checklists::ItemRow, tasks::TaskRow, Connection},
    domain::{bounded_text, now_millis, to_rfc3339, Position, Role},
    error::{AppError, AppResult},
    extract::{ApiJson, Path},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(add_item, list_items)).routes(routes!(update_item, delete_item))
}

#[derive(Serialize, ToSchema)]
pub struct ChecklistItemView {
    pub id: i64,
    pub task_id: i64,
    pub text: String,
    pub done: bool,
    /// Order in the list (compare as strings).
    pub position: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&ItemRow> for ChecklistItemView {
    fn from(i: &ItemRow) -> Self {
        ChecklistItemView {
            id: i.id,
            task_id: i.task_id,
            text: i.text.clone(),
            done: i.done == 1,
            position: i.position.clone(),
            created_at: to_rfc3339(i.created_at),
            updated_at: to_rfc3339(i.updated_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItem {
    /// 1..=500 characters.
    pub text: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateItem {
    pub text: Option<String>,
    pub done: Option<bool>,
}

/// The task for a change to its checklist or attachments: the caller must be an
/// editor of its project.
pub(crate) async fn task_for_edit(
    state: &AppState,
    c: &mut Connection,
    task_id: i64,
    principal: &Principal,
) -> AppResult<TaskRow> {
    let (task, role) =
        repo::tasks::get_for_member(&state.db, c, task_id, principal.id(), true).await?.ok_or(AppError::NotFound)?;
    access::require_editor(Role::parse(&role).unwrap_or(Role::Viewer))?;
    Ok(task)
}

async fn record(
    state: &AppState,
    c: &mut Connection,
    task_id: i64,
    actor: i64,
    old: Option<String>,
    new: Option<String>,
) -> AppResult<()> {
    let change = Change { field: "checklist", old, new };
    repo::activity::record(&state.db, c, task_id, actor, &[change], now_millis()).await?;
    Ok(())
}

fn item_text(raw: &str) -> AppResult<String> {
    bounded_text("text", raw, 1, 500).map_err(|e| AppError::Unprocessable(vec![e]))
}

/// Adds an item at the end of the checklist.
#[utoipa::path(post, path = "/tasks/{id}/checklist", tag = "tasks", request_body = AddItem,
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    security(("session" = []), ("token" = [])), responses((status = 201, body = ChecklistItemView), WriteErrors))]
pub async fn add_item(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<AddItem>,
) -> AppResult<Response> {
    principal.require_write()?;
    let text = item_text(&body.text)?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    task_for_edit(&state, &mut tx, id, &principal).await?;
    let last = repo::checklists::last_position(db, &mut tx, id).await?;
    let position = Position::between(last.as_deref().and_then(Position::parse).as_ref(), None);
    let row = repo::checklists::insert(db, &mut tx, id, &text, position.as_str(), now_millis()).await?;
    record(&state, &mut tx, id, principal.id(), None, Some(text)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(ChecklistItemView::from(&row))).into_response())
}

/// The checklist, in order.
#[utoipa::path(get, path = "/tasks/{id}/checklist", tag = "tasks", params(("id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 200, body = Vec<ChecklistItemView>), ReadErrors))]
pub async fn list_items(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<ChecklistItemView>>> {
    let db = &state.db;
    let mut c = db.conn().await?;
    repo::tasks::get_for_member(db, &mut c, id, principal.id(), false).await?.ok_or(AppError::NotFound)?;
    let rows = repo::checklists::list(db, &mut c, id).await?;
    Ok(axum::Json(rows.iter().map(ChecklistItemView::from).collect()))
}

/// Changes an item's text, or ticks it (`done`).
#[utoipa::path(patch, path = "/tasks/{id}/checklist/{item_id}", tag = "tasks", request_body = UpdateItem,
    params(("id" = i64, Path), ("item_id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 200, body = ChecklistItemView), WriteErrors))]
pub async fn update_item(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, item_id)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<UpdateItem>,
) -> AppResult<axum::Json<ChecklistItemView>> {
    principal.require_write()?;
    let text = body.text.as_deref().map(item_text).transpose()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    task_for_edit(&state, &mut tx, id, &principal).await?;
    let item = repo::checklists::get(db, &mut tx, id, item_id).await?.ok_or(AppError::NotFound)?;
    let done = body.done.unwrap_or(item.done == 1);
    let new_text = text.unwrap_or_else(|| item.text.clone());
    let row = repo::checklists::update(db, &mut tx, item.id, &new_text, done, now_millis()).await?;
    let mark = |d: bool, t: &str| format!("[{}] {t}", if d { "x" } else { " " });
    if row.done != item.done || row.text != item.text {
        record(
            &state,
            &mut tx,
            id,
            principal.id(),
            Some(mark(item.done == 1, &item.text)),
            Some(mark(done, &new_text)),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(axum::Json(ChecklistItemView::from(&row)))
}

/// Removes an item.
#[utoipa::path(delete, path = "/tasks/{id}/checklist/{item_id}", tag = "tasks",
    params(("id" = i64, Path), ("item_id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 204, description = "Deleted"), WriteErrors))]
pub async fn delete_item(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, item_id)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    principal.require_write()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    task_for_edit(&state, &mut tx, id, &principal).await?;
    let item = repo::checklists::get(db, &mut tx, id, item_id).await?.ok_or(AppError::NotFound)?;
    repo::checklists::delete(db, &mut tx, item.id).await?;
    record(&state, &mut tx, id, principal.id(), Some(item.text), None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
