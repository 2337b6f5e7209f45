//! Comments on a task and its activity record.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    access,
    docs::{ReadErrors, WriteErrors},
    views::{ActivityView, CommentView},
};
use crate::{
    auth::Principal,
    db::repo,
    domain::{bounded_text, now_millis, Role},
    error::{AppError, AppResult},
    extract::{ApiJson, Path},
    notify,
    state::AppState,
    webhooks::{self, Event},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_comment, list_comments))
        .routes(routes!(delete_comment))
        .routes(routes!(list_activity))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddComment {
    /// Markdown, 1..=10 000 characters.
    pub body: String,
}

/// Adds a comment. Editors and owners may comment.
#[utoipa::path(post, path = "/tasks/{id}/comments", tag = "comments", request_body = AddComment,
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    security(("session" = []), ("token" = [])), responses((status = 201, body = CommentView), WriteErrors))]
pub async fn add_comment(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<AddComment>,
) -> AppResult<Response> {
    principal.require_write()?;
    let text = bounded_text("body", &body.body, 1, 10_000).map_err(|e| AppError::Unprocessable(vec![e]))?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    let (task, role) =
        repo::tasks::get_for_member(db, &mut tx, id, principal.id(), false).await?.ok_or(AppError::NotFound)?;
    access::require_editor(Role::parse(&role).unwrap_or(Role::Viewer))?;
    let now = now_millis();
    let cid = repo::comments::insert(db, &mut tx, id, principal.id(), &text, now).await?;
    notify::events::comment_added(db, &mut tx, &task, cid, principal.id(), now).await?;
    let row = repo::comments::get(db, &mut tx, id, cid).await?.ok_or(AppError::NotFound)?;
    let view = CommentView::from(&row);
    let data = serde_json::json!({"task": {"id": task.id, "title": task.title}, "comment": view});
    webhooks::emit(db, &mut tx, task.project_id, Event::CommentCreated, data).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// Comments, oldest first.
#[utoipa::path(get, path = "/tasks/{id}/comments", tag = "comments", params(("id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 200, body = Vec<CommentView>), ReadErrors))]
pub async fn list_comments(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<CommentView>>> {
    let db = &state.db;
    let mut c = db.conn().await?;
    repo::tasks::get_for_member(db, &mut c, id, principal.id(), false).await?.ok_or(AppError::NotFound)?;
    let rows = repo::comments::list(db, &mut c, id).await?;
    Ok(axum::Json(rows.iter().map(CommentView::from).collect()))
}

/// Deletes one of your own comments.
#[utoipa::path(delete, path = "/tasks/{id}/comments/{comment_id}", tag = "comments", params(("id" = i64, Path), ("comment_id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 204, description = "Deleted"), WriteErrors))]
pub async fn delete_comment(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, comment_id)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    principal.require_write()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    repo::tasks::get_for_member(db, &mut tx, id, principal.id(), false).await?.ok_or(AppError::NotFound)?;
    let comment = repo::comments::get(db, &mut tx, id, comment_id).await?.ok_or(AppError::NotFound)?;
    if comment.author_id != principal.id() {
        return Err(AppError::Forbidden("You can only delete your own comments.".into()));
    }
    repo::comments::delete(db, &mut tx, comment_id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every change to the task: who, when, which field, old and new value.
#[utoipa::path(get, path = "/tasks/{id}/activity", tag = "tasks", params(("id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 200, body = Vec<ActivityView>), ReadErrors))]
pub async fn list_activity(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<ActivityView>>> {
    let db = &state.db;
    let mut c = db.conn().await?;
    repo::tasks::get_for_member(db, &mut c, id, principal.id(), false).await?.ok_or(AppError::NotFound)?;
    let rows = repo::activity::list(db, &mut c, id).await?;
    Ok(axum::Json(rows.iter().map(ActivityView::from).collect()))
}
