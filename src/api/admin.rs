//! Administration of accounts: list them, disable or enable one, grant admin; and
//! repairing a project that has lost its owners.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    docs::{ReadErrors, WriteErrors},
    views::UserView,
};
use crate::{
    auth::Principal,
    db::repo,
    domain::now_millis,
    error::{AppError, AppResult},
    extract::{ApiJson, Path},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_users)).routes(routes!(update_user)).routes(routes!(set_project_owner))
}

/// Every account (administrators only).
#[utoipa::path(get, path = "/admin/users", tag = "admin", security(("session" = []), ("token" = [])),
    responses((status = 200, body = Vec<UserView>), (status = 403, description = "Not an administrator", body = crate::error::Problem, content_type = "application/problem+json"), ReadErrors))]
pub async fn list_users(State(state): State<AppState>, principal: Principal) -> AppResult<axum::Json<Vec<UserView>>> {
    principal.require_admin()?;
    let mut c = state.db.conn().await?;
    let users = repo::users::list(&state.db, &mut c).await?;
    Ok(axum::Json(users.iter().map(UserView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub disabled: Option<bool>,
    pub is_admin: Option<bool>,
}

/// Disables, enables or changes the admin flag of an account. A disabled account's
/// sessions stop working at once, its API tokens at once on the replica that serves
/// this request and within `token_cache_ttl` (default 5 s) on the others.
#[utoipa::path(patch, path = "/admin/users/{id}", tag = "admin", params(("id" = i64, Path)), request_body = UpdateUser,
    security(("session" = []), ("token" = [])), responses((status = 200, body = UserView), WriteErrors))]
pub async fn update_user(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> AppResult<axum::Json<UserView>> {
    principal.require_admin()?;
    principal.require_write()?;
    if id == principal.id() && (body.disabled == Some(true) || body.is_admin == Some(false)) {
        return Err(AppError::Conflict("self_lockout", "Administrators cannot disable or demote themselves.".into()));
    }
    let db = &state.db;
    let mut tx = db.begin().await?;
    if !repo::users::set_flags(db, &mut tx, id, body.disabled, body.is_admin, now_millis()).await? {
        return Err(AppError::NotFound);
    }
    let user = repo::users::by_id(db, &mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    state.tokens.forget_user(id);
    Ok(axum::Json(UserView::from(&user)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectOwner {
    /// The account that becomes an owner of the project (added as a member if needed).
    pub user_id: i64,
}

/// Makes an account an owner of a project (administrators only): the way to repair a
/// project left without an owner. The change is recorded in the audit log.
#[utoipa::path(post, path = "/admin/projects/{id}/owners", tag = "admin", params(("id" = i64, Path)),
    request_body = ProjectOwner, security(("session" = []), ("token" = [])),
    responses((status = 200, body = Vec<crate::api::views::MemberView>), WriteErrors))]
pub async fn set_project_owner(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ProjectOwner>,
) -> AppResult<axum::Json<Vec<crate::api::views::MemberView>>> {
    principal.require_admin()?;
    principal.require_write()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    if !repo::projects::exists(db, &mut tx, id).await? {
        return Err(AppError::NotFound);
    }
    let user = repo::users::by_id(db, &mut tx, body.user_id)
        .await?
        .ok_or_else(|| AppError::field("user_id", "unknown_account", "No account has this id."))?;
    repo::members::make_owner(db, &mut tx, id, user.id, now_millis()).await?;
    let members = repo::members::list(db, &mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(target: "audit", admin = principal.id(), project = id, owner = user.id, "project owner set by an administrator");
    Ok(axum::Json(members.iter().map(crate::api::views::MemberView::from).collect()))
}
