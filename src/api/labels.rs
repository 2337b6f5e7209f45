//! Labels of a project: create, list, update, delete. Editors manage them.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    access::{self, Fields},
    docs::{ReadErrors, WriteErrors},
    views::LabelView,
};
use crate::{
    auth::Principal,
    db::repo,
    domain::{now_millis, LabelColor, LabelName},
    error::{AppError, AppResult},
    extract::{ApiJson, Path},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_label, list_labels)).routes(routes!(update_label, delete_label))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLabel {
    pub name: String,
    /// `#rrggbb`
    pub color: String,
}

/// Creates a label; names are unique per project, ignoring case.
#[utoipa::path(post, path = "/projects/{id}/labels", tag = "labels", params(("id" = i64, Path),
    ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")), request_body = CreateLabel,
    security(("session" = []), ("token" = [])), responses((status = 201, body = LabelView), WriteErrors))]
pub async fn create_label(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CreateLabel>,
) -> AppResult<Response> {
    principal.require_write()?;
    let mut f = Fields::default();
    let name = f.take(LabelName::parse(&body.name));
    let color = f.take(LabelColor::parse(&body.color));
    f.finish()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    access::require_editor(access::role_in(db, &mut tx, id, principal.id()).await?)?;
    let row =
        repo::labels::insert(db, &mut tx, id, name.unwrap().as_str(), color.unwrap().as_str(), now_millis()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(LabelView::from(&row))).into_response())
}

/// The project's labels, by name.
#[utoipa::path(get, path = "/projects/{id}/labels", tag = "labels", params(("id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 200, body = Vec<LabelView>), ReadErrors))]
pub async fn list_labels(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<LabelView>>> {
    let db = &state.db;
    let mut c = db.conn().await?;
    access::role_in(db, &mut c, id, principal.id()).await?;
    let rows = repo::labels::list(db, &mut c, id).await?;
    Ok(axum::Json(rows.iter().map(LabelView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLabel {
    pub name: Option<String>,
    pub color: Option<String>,
}

/// Renames or recolours a label.
#[utoipa::path(patch, path = "/projects/{id}/labels/{label_id}", tag = "labels", params(("id" = i64, Path), ("label_id" = i64, Path)),
    request_body = UpdateLabel, security(("session" = []), ("token" = [])), responses((status = 200, body = LabelView), WriteErrors))]
pub async fn update_label(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, label_id)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<UpdateLabel>,
) -> AppResult<axum::Json<LabelView>> {
    principal.require_write()?;
    let mut f = Fields::default();
    let name = body.name.as_deref().and_then(|n| f.take(LabelName::parse(n)));
    let color = body.color.as_deref().and_then(|c| f.take(LabelColor::parse(c)));
    f.finish()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    access::require_editor(access::role_in(db, &mut tx, id, principal.id()).await?)?;
    repo::labels::get(db, &mut tx, id, label_id).await?.ok_or(AppError::NotFound)?;
    repo::labels::update(db, &mut tx, label_id, name.as_ref().map(|n| n.as_str()), color.as_ref().map(|c| c.as_str()))
        .await?;
    let row = repo::labels::get(db, &mut tx, id, label_id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(axum::Json(LabelView::from(&row)))
}

/// Deletes a label and removes it from every task.
#[utoipa::path(delete, path = "/projects/{id}/labels/{label_id}", tag = "labels", params(("id" = i64, Path), ("label_id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 204, description = "Deleted"), WriteErrors))]
pub async fn delete_label(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, label_id)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    principal.require_write()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    access::require_editor(access::role_in(db, &mut tx, id, principal.id()).await?)?;
    repo::labels::get(db, &mut tx, id, label_id).await?.ok_or(AppError::NotFound)?;
    repo::labels::delete(db, &mut tx, label_id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
