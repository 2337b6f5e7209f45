//! Project members: add an existing account by e-mail, change a role, remove. A
//! project always keeps at least one owner.

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
    views::MemberView,
};
use crate::{
    auth::Principal,
    db::{repo, repo::Connection, Db},
    domain::{now_millis, Email, Role},
    error::{AppError, AppResult},
    extract::{ApiJson, Path},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(add_member, list_members)).routes(routes!(update_member, remove_member))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    pub email: String,
    pub role: Role,
}

/// Adds an existing account to the project. Owners only.
#[utoipa::path(post, path = "/projects/{id}/members", tag = "members", params(("id" = i64, Path),
    ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")), request_body = AddMember,
    security(("session" = []), ("token" = [])), responses((status = 201, body = MemberView), WriteErrors))]
pub async fn add_member(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<AddMember>,
) -> AppResult<Response> {
    principal.require_write()?;
    let email = Email::parse(&body.email).map_err(|e| AppError::Unprocessable(vec![e]))?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    access::require_owner(access::role_in(db, &mut tx, id, principal.id()).await?)?;
    let user = repo::users::by_email(db, &mut tx, &email.normalized()).await?.ok_or_else(|| {
        AppError::field("email", "unknown_account", "No account has this e-mail; ask them to sign up first.")
    })?;
    if repo::members::role_of(db, &mut tx, id, user.id).await?.is_some() {
        return Err(AppError::Conflict("already_member", "This account is already a member.".into()));
    }
    repo::members::insert(db, &mut tx, id, user.id, body.role.as_str(), now_millis()).await?;
    let member = repo::members::get(db, &mut tx, id, user.id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(MemberView::from(&member))).into_response())
}

/// Members and their roles.
#[utoipa::path(get, path = "/projects/{id}/members", tag = "members", params(("id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 200, body = Vec<MemberView>), ReadErrors))]
pub async fn list_members(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<MemberView>>> {
    let db = &state.db;
    let mut c = db.conn().await?;
    access::role_in(db, &mut c, id, principal.id()).await?;
    let rows = repo::members::list(db, &mut c, id).await?;
    Ok(axum::Json(rows.iter().map(MemberView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    pub role: Role,
}

/// Refuses to leave the project without an owner.
async fn ensure_owner_remains(db: &Db, c: &mut Connection, project_id: i64, user_id: i64) -> AppResult<()> {
    let current = repo::members::role_of(db, c, project_id, user_id).await?.ok_or(AppError::NotFound)?;
    if current == "owner" && repo::members::owner_count(db, c, project_id).await? <= 1 {
        return Err(AppError::Conflict("last_owner", "A project needs at least one owner.".into()));
    }
    Ok(())
}

/// Changes a member's role. Owners only.
#[utoipa::path(patch, path = "/projects/{id}/members/{user_id}", tag = "members", params(("id" = i64, Path), ("user_id" = i64, Path)),
    request_body = UpdateMember, security(("session" = []), ("token" = [])), responses((status = 200, body = MemberView), WriteErrors))]
pub async fn update_member(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, user_id)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<UpdateMember>,
) -> AppResult<axum::Json<MemberView>> {
    principal.require_write()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    access::require_owner(access::role_in(db, &mut tx, id, principal.id()).await?)?;
    if body.role != Role::Owner {
        ensure_owner_remains(db, &mut tx, id, user_id).await?;
    }
    repo::members::set_role(db, &mut tx, id, user_id, body.role.as_str()).await?;
    let member = repo::members::get(db, &mut tx, id, user_id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(axum::Json(MemberView::from(&member)))
}

/// Removes a member; owners remove anyone, anyone may leave.
#[utoipa::path(delete, path = "/projects/{id}/members/{user_id}", tag = "members", params(("id" = i64, Path), ("user_id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 204, description = "Removed"), WriteErrors))]
pub async fn remove_member(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, user_id)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    principal.require_write()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    let role = access::role_in(db, &mut tx, id, principal.id()).await?;
    if user_id != principal.id() {
        access::require_owner(role)?;
    }
    ensure_owner_remains(db, &mut tx, id, user_id).await?;
    repo::members::remove(db, &mut tx, id, user_id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
