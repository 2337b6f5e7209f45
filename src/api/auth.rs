//! Sign-up, sign-in and sign-out. Sign-in answers the same way, in about the same
//! time, whether or not the e-mail is registered.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{access::Fields, docs::WriteErrors, views::UserView};
use crate::{
    auth::{password, secret, throttle, Credential, Principal, SESSION_COOKIE},
    db::repo,
    domain::{now_millis, DisplayName, Email, Password, TimeZone},
    error::{AppError, AppResult},
    extract::{ApiJson, PeerAddr},
    state::AppState,
    telemetry::http::client_address,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(register)).routes(routes!(login)).routes(routes!(logout))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    pub display_name: String,
    /// IANA name; defaults to UTC.
    pub time_zone: Option<String>,
}

/// Creates an account (when registration is enabled).
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = UserView), WriteErrors))]
pub async fn register(State(state): State<AppState>, ApiJson(body): ApiJson<RegisterRequest>) -> AppResult<Response> {
    if !state.config.registration_enabled {
        return Err(AppError::Forbidden("Registration is disabled on this server.".into()));
    }
    let user =
        create_user(&state, &body.email, &body.password, &body.display_name, body.time_zone.as_deref(), false).await?;
    Ok((StatusCode::CREATED, axum::Json(UserView::from(&user))).into_response())
}

/// Validates and stores a new account; shared by sign-up and `user create`.
pub async fn create_user(
    state: &AppState,
    email: &str,
    password_raw: &str,
    display_name: &str,
    time_zone: Option<&str>,
    is_admin: bool,
) -> AppResult<repo::users::UserRow> {
    let mut f = Fields::default();
    let email = f.take(Email::parse(email));
    let pw = f.take(Password::parse(password_raw, "password"));
    let name = f.take(DisplayName::parse(display_name));
    let tz = f.take(TimeZone::parse(time_zone.unwrap_or("UTC")));
    f.finish()?;
    let (email, pw, name, tz) = (email.unwrap(), pw.unwrap(), name.unwrap(), tz.unwrap());
    let hash = password::hash(pw.secret().clone()).await?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    if repo::users::by_email(db, &mut tx, &email.normalized()).await?.is_some() {
        return Err(AppError::Conflict("email_taken", "An account with this e-mail already exists.".into()));
    }
    let user = repo::users::insert(
        db,
        &mut tx,
        repo::users::NewUser {
            email: email.as_str(),
            email_normalized: &email.normalized(),
            display_name: name.as_str(),
            password_hash: &hash,
            time_zone: tz.as_str(),
            is_admin,
            now: now_millis(),
        },
    )
    .await?;
    tx.commit().await?;
    state.metrics.users_registered.inc();
    Ok(user)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Signs in and sets the session cookie (HttpOnly, SameSite=Lax).
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = UserView, headers(("set-cookie" = String, description = "The session cookie"))),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = crate::error::Problem, content_type = "application/problem+json"),
        WriteErrors))]
pub async fn login(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> AppResult<Response> {
    let user = authenticate(&state, &headers, peer, &body.email, &body.password).await?;
    let cookie = start_session(&state, user.id).await?;
    let mut res = axum::Json(UserView::from(&user)).into_response();
    res.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(res)
}

/// Checks the credentials under the sign-in throttle.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
    email: &str,
    password_raw: &str,
) -> AppResult<repo::users::UserRow> {
    let db = &state.db;
    let normalized = email.trim().to_lowercase();
    let subjects =
        throttle::Subjects::new(&normalized, &client_address(headers, peer, state.config.trust_forwarded_for));
    let window_ms = state.config.login_window.as_millis() as i64;
    let mut c = db.conn().await?;
    if let Err(e) = throttle::check(db, &mut c, &subjects, state.config.login_max_failures, window_ms).await {
        state.metrics.login_attempts.with_label_values(&["throttled"]).inc();
        return Err(e);
    }
    let user = repo::users::by_email(db, &mut c, &normalized).await?;
    drop(c);
    let ok =
        password::verify(SecretString::from(password_raw.to_owned()), user.as_ref().map(|u| u.password_hash.clone()))
            .await;
    let mut c = db.begin().await?;
    match user {
        Some(user) if ok && user.disabled == 0 => {
            repo::throttle::clear(db, &mut c, &subjects.account).await?;
            c.commit().await?;
            state.metrics.login_attempts.with_label_values(&["success"]).inc();
            Ok(user)
        }
        _ => {
            repo::throttle::record(db, &mut c, &[&subjects.account, &subjects.address], now_millis()).await?;
            c.commit().await?;
            state.metrics.login_attempts.with_label_values(&["failure"]).inc();
            Err(AppError::Unauthorized)
        }
    }
}

/// Creates a session and returns its `Set-Cookie` header.
pub async fn start_session(state: &AppState, user_id: i64) -> AppResult<HeaderValue> {
    let token = secret::random_token();
    let csrf = secret::random_token();
    let now = now_millis();
    let ttl = state.config.session_ttl;
    let mut tx = state.db.begin().await?;
    repo::sessions::insert(
        &state.db,
        &mut tx,
        &secret::sha256_hex(token.as_bytes()),
        user_id,
        &csrf,
        now,
        now + ttl.as_millis() as i64,
    )
    .await?;
    tx.commit().await?;
    let secure = if state.config.cookie_secure { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", ttl.as_secs());
    HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.into()))
}

/// Ends the current session and clears the cookie.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("session" = [])),
    responses((status = 204, description = "Signed out"), WriteErrors))]
pub async fn logout(State(state): State<AppState>, principal: Principal) -> AppResult<Response> {
    if let Credential::Session { token_hash, .. } = &principal.credential {
        let mut tx = state.db.begin().await?;
        repo::sessions::delete(&state.db, &mut tx, token_hash).await?;
        tx.commit().await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, HeaderValue::from_static("tm_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    Ok(res)
}
