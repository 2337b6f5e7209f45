//! Projects: create, list the caller's, get, update, archive, delete.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    access::{self, Fields},
    docs::{ReadErrors, WriteErrors},
    views::ProjectView,
};
use crate::{
    auth::Principal,
    db::repo,
    domain::{now_millis, ProjectDescription, ProjectName},
    error::{AppError, AppResult},
    extract::{ApiJson, Path, QueryPairs},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_project, list_projects)).routes(routes!(
        get_project,
        update_project,
        delete_project
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    pub name: String,
    pub description: Option<String>,
}

/// Creates a project; the caller becomes its owner.
#[utoipa::path(post, path = "/projects", tag = "projects", request_body = CreateProject, security(("session" = []), ("token" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = ProjectView), WriteErrors))]
pub async fn create_project(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateProject>,
) -> AppResult<Response> {
    principal.require_write()?;
    let mut f = Fields::default();
    let name = f.take(ProjectName::parse(&body.name));
    let description = f.take(ProjectDescription::parse(body.description.as_deref().unwrap_or("")));
    f.finish()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    let id = repo::projects::insert(
        db,
        &mut tx,
        name.unwrap().as_str(),
        description.unwrap().as_str(),
        principal.id(),
        now_millis(),
    )
    .await?;
    let row = repo::projects::get_for_member(db, &mut tx, id, principal.id()).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(ProjectView::from(&row))).into_response())
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListProjectsParams {
    /// Include archived projects.
    pub archived: Option<bool>,
}

/// Projects the caller is a member of, by name.
#[utoipa::path(get, path = "/projects", tag = "projects", params(ListProjectsParams), security(("session" = []), ("token" = [])),
    responses((status = 200, body = Vec<ProjectView>), ReadErrors))]
pub async fn list_projects(
    State(state): State<AppState>,
    principal: Principal,
    q: QueryPairs,
) -> AppResult<axum::Json<Vec<ProjectView>>> {
    q.only(&["archived"])?;
    let archived = match q.one("archived").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(AppError::field("archived", "invalid", "archived must be true or false")),
    };
    let mut c = state.db.conn().await?;
    let rows = repo::projects::list_for_member(&state.db, &mut c, principal.id(), archived).await?;
    Ok(axum::Json(rows.iter().map(ProjectView::from).collect()))
}

/// One project.
#[utoipa::path(get, path = "/projects/{id}", tag = "projects", params(("id" = i64, Path)), security(("session" = []), ("token" = [])),
    responses((status = 200, body = ProjectView), ReadErrors))]
pub async fn get_project(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<ProjectView>> {
    let mut c = state.db.conn().await?;
    let row = repo::projects::get_for_member(&state.db, &mut c, id, principal.id()).await?.ok_or(AppError::NotFound)?;
    Ok(axum::Json(ProjectView::from(&row)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Archive (true) or restore (false). Owners only.
    pub archived: Option<bool>,
}

/// Renames, describes, archives or restores a project.
#[utoipa::path(patch, path = "/projects/{id}", tag = "projects", params(("id" = i64, Path)), request_body = UpdateProject,
    security(("session" = []), ("token" = [])), responses((status = 200, body = ProjectView), WriteErrors))]
pub async fn update_project(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<UpdateProject>,
) -> AppResult<axum::Json<ProjectView>> {
    principal.require_write()?;
    let mut f = Fields::default();
    let name = body.name.as_deref().and_then(|n| f.take(ProjectName::parse(n)));
    let description = body.description.as_deref().and_then(|d| f.take(ProjectDescription::parse(d)));
    f.finish()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    let role = access::role_in(db, &mut tx, id, principal.id()).await?;
    if body.archived.is_some() {
        access::require_owner(role)?;
    } else {
        access::require_editor(role)?;
    }
    repo::projects::update(
        db,
        &mut tx,
        id,
        name.as_ref().map(|n| n.as_str()),
        description.as_ref().map(|d| d.as_str()),
        body.archived,
        now_millis(),
    )
    .await?;
    let row = repo::projects::get_for_member(db, &mut tx, id, principal.id()).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(axum::Json(ProjectView::from(&row)))
}

/// Deletes a project with its tasks, labels and comments. Owners only.
#[utoipa::path(delete, path = "/projects/{id}", tag = "projects", params(("id" = i64, Path)), security(("session" = []), ("token" = [])),
    responses((status = 204, description = "Deleted"), WriteErrors))]
pub async fn delete_project(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    principal.require_write()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    access::require_owner(access::role_in(db, &mut tx, id, principal.id()).await?)?;
    let files = repo::attachments::keys_of_project(db, &mut tx, id).await?;
    repo::projects::delete(db, &mut tx, id).await?;
    tx.commit().await?;
    state.attachments.delete_all(&files).await;
    Ok(StatusCode::NO_CONTENT)
}
