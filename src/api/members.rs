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
    extract::{ApiJson, Path, QueryPairs},
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

/// Refuses to leave the project without an owner. `owners` are the owner rows locked
/// at the start of the transaction ([`repo::members::lock_owners`]), so the count
/// cannot change between this check and the write.
async fn ensure_owner_remains(
    db: &Db,
    c: &mut Connection,
    owners: &[i64],
    project_id: i64,
    user_id: i64,
) -> AppResult<()> {
    repo::members::role_of(db, c, project_id, user_id).await?.ok_or(AppError::NotFound)?;
    if owners.contains(&user_id) && owners.len() <= 1 {
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
    // Locked first: the caller's own role is then read after any concurrent demotion.
    let owners = repo::members::lock_owners(db, &mut tx, id).await?;
    access::require_owner(access::role_in(db, &mut tx, id, principal.id()).await?)?;
    if body.role != Role::Owner {
        ensure_owner_remains(db, &mut tx, &owners, id, user_id).await?;
        repo::webhooks::pause_for_owner(db, &mut tx, id, user_id, now_millis()).await?;
    }
    repo::members::set_role(db, &mut tx, id, user_id, body.role.as_str()).await?;
    let member = repo::members::get(db, &mut tx, id, user_id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(axum::Json(MemberView::from(&member)))
}

/// Removes a member; owners remove anyone, anyone may leave. Their tasks in the project
/// are unassigned, or given to `reassign_to` (another member), and each task's activity
/// records it: someone who left receives nothing more about the project.
#[utoipa::path(delete, path = "/projects/{id}/members/{user_id}", tag = "members", params(("id" = i64, Path), ("user_id" = i64, Path),
    ("reassign_to" = Option<i64>, Query, description = "A member who takes over the tasks assigned to the one leaving (default: unassigned)")),
    security(("session" = []), ("token" = [])), responses((status = 204, description = "Removed"), WriteErrors))]
pub async fn remove_member(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, user_id)): Path<(i64, i64)>,
    q: QueryPairs,
) -> AppResult<StatusCode> {
    principal.require_write()?;
    q.only(&["reassign_to"])?;
    let reassign_to =
        match q.one("reassign_to") {
            None => None,
            Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
                AppError::field("reassign_to", "invalid", "reassign_to must be the user id of a member")
            })?),
        };
    let db = &state.db;
    let mut tx = db.begin().await?;
    let owners = repo::members::lock_owners(db, &mut tx, id).await?;
    let role = access::role_in(db, &mut tx, id, principal.id()).await?;
    if user_id != principal.id() {
        access::require_owner(role)?;
    }
    ensure_owner_remains(db, &mut tx, &owners, id, user_id).await?;
    if let Some(to) = reassign_to {
        if to == user_id || repo::members::role_of(db, &mut tx, id, to).await?.is_none() {
            return Err(AppError::field(
                "reassign_to",
                "not_a_member",
                "reassign_to must be another member of the project",
            ));
        }
    }
    let now = now_millis();
    let tasks = repo::members::reassign_tasks(db, &mut tx, id, user_id, reassign_to, now).await?;
    let change = repo::activity::Change {
        field: "assignee_id",
        old: Some(user_id.to_string()),
        new: reassign_to.map(|to| to.to_string()),
    };
    for task in &tasks {
        repo::activity::record(db, &mut tx, *task, principal.id(), std::slice::from_ref(&change), now).await?;
        repo::notifications::cancel_for_task(db, &mut tx, *task, "due_soon").await?;
    }
    repo::webhooks::pause_for_owner(db, &mut tx, id, user_id, now).await?;
    repo::members::remove(db, &mut tx, id, user_id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
