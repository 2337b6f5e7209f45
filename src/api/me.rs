//! The caller's own account: profile, password and personal API tokens.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    access::Fields,
    docs::{ReadErrors, WriteErrors},
    views::{TokenCreated, TokenScope, TokenView, UserView},
};
use crate::{
    auth::{secret, Credential, Principal},
    db::repo,
    domain::{now_millis, DisplayName, Password, TimeZone},
    error::{AppError, AppResult},
    extract::{ApiJson, Path},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(revoke_token))
}

/// The signed-in account.
#[utoipa::path(get, path = "/me", tag = "me", security(("session" = []), ("token" = [])),
    responses((status = 200, body = UserView), ReadErrors))]
pub async fn get_me(principal: Principal) -> axum::Json<UserView> {
    axum::Json(UserView::from(&principal.user))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    pub display_name: Option<String>,
    pub time_zone: Option<String>,
}

/// Changes profile fields.
#[utoipa::path(patch, path = "/me", tag = "me", request_body = UpdateMe, security(("session" = []), ("token" = [])),
    responses((status = 200, body = UserView), WriteErrors))]
pub async fn update_me(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<UpdateMe>,
) -> AppResult<axum::Json<UserView>> {
    principal.require_write()?;
    let mut f = Fields::default();
    let name = body.display_name.as_deref().and_then(|n| f.take(DisplayName::parse(n)));
    let tz = body.time_zone.as_deref().and_then(|t| f.take(TimeZone::parse(t)));
    f.finish()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    repo::users::update_profile(
        db,
        &mut tx,
        principal.id(),
        name.as_ref().map(|n| n.as_str()),
        tz.as_ref().map(|t| t.as_str()),
        now_millis(),
    )
    .await?;
    let user = repo::users::by_id(db, &mut tx, principal.id()).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    state.tokens.forget_user(principal.id());
    Ok(axum::Json(UserView::from(&user)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the password and signs out every other session.
#[utoipa::path(post, path = "/me/password", tag = "me", request_body = ChangePassword, security(("session" = []), ("token" = [])),
    responses((status = 204, description = "Changed"), WriteErrors))]
pub async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<ChangePassword>,
) -> AppResult<StatusCode> {
    principal.require_write()?;
    let new = Password::parse(&body.new_password, "new_password", &principal.user.email)
        .map_err(|e| AppError::Unprocessable(vec![e]))?;
    let current = SecretString::from(body.current_password);
    if !state.passwords.verify(current, Some(principal.user.password_hash.clone())).await? {
        return Err(AppError::field("current_password", "incorrect", "The current password is not correct."));
    }
    let hash = state.passwords.hash(new.secret().clone()).await?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    repo::users::set_password(db, &mut tx, principal.id(), &hash, now_millis()).await?;
    let keep = match &principal.credential {
        Credential::Session { token_hash, .. } => Some(token_hash.as_str()),
        Credential::Token { .. } => None,
    };
    repo::sessions::delete_for_user(db, &mut tx, principal.id(), keep).await?;
    tx.commit().await?;
    state.tokens.forget_user(principal.id());
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for, 1..=100 characters.
    pub name: String,
    pub scope: TokenScope,
    /// Optional expiry (RFC 3339, in the future).
    pub expires_at: Option<DateTime<chrono::FixedOffset>>,
}

/// Creates a personal API token; the secret is in this response only.
#[utoipa::path(post, path = "/me/tokens", tag = "me", request_body = CreateToken, security(("session" = []), ("token" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = TokenCreated), WriteErrors))]
pub async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateToken>,
) -> AppResult<Response> {
    principal.require_write()?;
    let now = now_millis();
    let mut f = Fields::default();
    let name = f.take(crate::domain::bounded_text("name", &body.name, 1, 100));
    let expires_at = body.expires_at.map(|e| e.with_timezone(&Utc).timestamp_millis());
    if expires_at.is_some_and(|e| e <= now) {
        f.push("expires_at", "in_past", "expires_at must be in the future");
    }
    f.finish()?;
    let raw = secret::random_token();
    let token = format!("tm_{raw}");
    let prefix: String = token.chars().take(10).collect();
    let db = &state.db;
    let mut tx = db.begin().await?;
    let row = repo::tokens::insert(
        db,
        &mut tx,
        repo::tokens::NewToken {
            user_id: principal.id(),
            name: &name.unwrap(),
            prefix: &prefix,
            secret_hash: &secret::sha256_hex(token.as_bytes()),
            scope: if body.scope == TokenScope::Read { "read" } else { "read_write" },
            expires_at,
            now,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(TokenCreated { token: TokenView::from(&row), secret: token })).into_response())
}

/// The caller's tokens (never their secrets).
#[utoipa::path(get, path = "/me/tokens", tag = "me", security(("session" = []), ("token" = [])),
    responses((status = 200, body = Vec<TokenView>), ReadErrors))]
pub async fn list_tokens(State(state): State<AppState>, principal: Principal) -> AppResult<axum::Json<Vec<TokenView>>> {
    let mut c = state.db.conn().await?;
    let rows = repo::tokens::list_for_user(&state.db, &mut c, principal.id()).await?;
    Ok(axum::Json(rows.iter().map(TokenView::from).collect()))
}

/// Revokes a token: at once on the replica that serves this request, within the
/// token cache's lifetime (`token_cache_ttl`, default 5 s) on the others.
#[utoipa::path(delete, path = "/me/tokens/{id}", tag = "me", params(("id" = i64, Path)), security(("session" = []), ("token" = [])),
    responses((status = 204, description = "Revoked"), WriteErrors))]
pub async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    principal.require_write()?;
    let mut tx = state.db.begin().await?;
    let done = repo::tokens::revoke(&state.db, &mut tx, principal.id(), id, now_millis()).await?;
    tx.commit().await?;
    state.tokens.forget_user(principal.id());
    if done {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound)
    }
}
