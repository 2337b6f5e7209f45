//! Sign-up, sign-in and sign-out. Sign-in answers the same way, in about the same
//! time, whether or not the e-mail is registered.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{access::Fields, docs::WriteErrors, views::UserView};
use crate::{
    auth::{client_address, secret, throttle, Credential, Principal, SESSION_COOKIE},
    db::repo,
    domain::{now_millis, DisplayName, Email, Password, TimeZone},
    error::{AppError, AppResult},
    extract::{ApiJson, PeerAddr},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(register)).routes(routes!(login)).routes(routes!(logout))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    /// 10 to 256 characters; not one of the most common passwords, not the e-mail address.
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
    pub display_name: String,
    /// IANA name; defaults to UTC.
    pub time_zone: Option<String>,
}

/// The answer to every accepted sign-up, whether or not the address already had an
/// account, so that sign-up cannot tell who is registered. It repeats the request.
#[derive(Serialize, ToSchema)]
pub struct RegistrationView {
    pub email: String,
    pub display_name: String,
    pub time_zone: String,
    pub detail: String,
}

pub const REGISTRATION_DETAIL: &str =
    "If this address had no account, it has one now: sign in with it. If it had one, sign in with its password.";

const TOO_MANY: &str = "Too many attempts; see Retry-After";
const BUSY: &str = "Too many sign-ins or sign-ups at once (password hashing is bounded); see Retry-After";

/// Creates an account (when registration is enabled). The answer is the same whether or
/// not the address already has an account; in the second case nothing changes.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = RegistrationView, description = "Accepted: the same answer whether or not the address already had an account"),
        (status = 429, description = TOO_MANY, body = crate::error::Problem, content_type = "application/problem+json",
            headers(("retry-after" = u64, description = "Seconds"))),
        (status = 503, description = BUSY, body = crate::error::Problem, content_type = "application/problem+json",
            headers(("retry-after" = u64, description = "Seconds"))),
        WriteErrors))]
pub async fn register(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> AppResult<Response> {
    if !state.config.registration_enabled {
        return Err(AppError::Forbidden("Registration is disabled on this server.".into()));
    }
    let view =
        sign_up(&state, &headers, peer, &body.email, &body.password, &body.display_name, body.time_zone.as_deref())
            .await?;
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// Sign-up from the API or the web form: validates, then takes a slot of the client
/// address's sign-up allowance before any hashing, then creates the account unless the
/// address is taken. A taken address gets the same answer after the same hashing work.
pub async fn sign_up(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
    email: &str,
    password_raw: &str,
    display_name: &str,
    time_zone: Option<&str>,
) -> AppResult<RegistrationView> {
    let new = NewAccount::parse(email, password_raw, display_name, time_zone)?;
    let address = client_address(headers, peer, state.config.proxy_hops());
    throttle::reserve_sign_up(&state.db, &state.config, &address).await?;
    let view = RegistrationView {
        email: new.email.as_str().to_owned(),
        display_name: new.name.as_str().to_owned(),
        time_zone: new.tz.as_str().to_owned(),
        detail: REGISTRATION_DETAIL.into(),
    };
    match insert_account(state, new, false).await {
        Ok(_) => Ok(view),
        Err(AppError::Conflict("email_taken", _)) => Ok(view),
        Err(e) => Err(e),
    }
}

struct NewAccount {
    email: Email,
    pw: Password,
    name: DisplayName,
    tz: TimeZone,
}

impl NewAccount {
    fn parse(email: &str, password_raw: &str, display_name: &str, time_zone: Option<&str>) -> AppResult<Self> {
        let mut f = Fields::default();
        let email_v = f.take(Email::parse(email));
        let pw = f.take(Password::parse(password_raw, "password", email));
        let name = f.take(DisplayName::parse(display_name));
        let tz = f.take(TimeZone::parse(time_zone.unwrap_or("UTC")));
        f.finish()?;
        Ok(NewAccount { email: email_v.unwrap(), pw: pw.unwrap(), name: name.unwrap(), tz: tz.unwrap() })
    }
}

/// Validates and stores a new account (`user create`, and tests); a taken address is
/// a 409 `email_taken` here, since only administrators reach it.
pub async fn create_user(
    state: &AppState,
    email: &str,
    password_raw: &str,
    display_name: &str,
    time_zone: Option<&str>,
    is_admin: bool,
) -> AppResult<repo::users::UserRow> {
    let new = NewAccount::parse(email, password_raw, display_name, time_zone)?;
    insert_account(state, new, is_admin).await
}

/// Checks the address before hashing: a taken one only spends the same hashing work
/// (so the answer takes as long) without writing anything.
async fn insert_account(state: &AppState, new: NewAccount, is_admin: bool) -> AppResult<repo::users::UserRow> {
    let db = &state.db;
    let normalized = new.email.normalized();
    let taken = {
        let mut c = db.conn().await?;
        repo::users::by_email(db, &mut c, &normalized).await?.is_some()
    };
    if taken {
        state.passwords.spend(new.pw.secret().clone()).await?;
        return Err(AppError::Conflict("email_taken", "An account with this e-mail already exists.".into()));
    }
    let hash = state.passwords.hash(new.pw.secret().clone()).await?;
    let mut tx = db.begin().await?;
    if repo::users::by_email(db, &mut tx, &normalized).await?.is_some() {
        return Err(AppError::Conflict("email_taken", "An account with this e-mail already exists.".into()));
    }
    let user = repo::users::insert(
        db,
        &mut tx,
        repo::users::NewUser {
            email: new.email.as_str(),
            email_normalized: &normalized,
            display_name: new.name.as_str(),
            password_hash: &hash,
            time_zone: new.tz.as_str(),
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
        (status = 429, description = "Too many failed attempts for this account from this address or from this address overall, or the account is slowed down after failures from anywhere; see Retry-After",
            body = crate::error::Problem, content_type = "application/problem+json",
            headers(("retry-after" = u64, description = "Seconds"))),
        (status = 503, description = BUSY, body = crate::error::Problem, content_type = "application/problem+json",
            headers(("retry-after" = u64, description = "Seconds"))),
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

/// Checks the credentials under the sign-in throttle: the attempt is recorded before
/// the password is hashed, and counted, so concurrent attempts cannot slip past the
/// limit and throttled ones cost no hashing.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
    email: &str,
    password_raw: &str,
) -> AppResult<repo::users::UserRow> {
    let db = &state.db;
    let normalized = email.trim().to_lowercase();
    let subjects = throttle::Subjects::new(&normalized, &client_address(headers, peer, state.config.proxy_hops()));
    let reservation = match throttle::reserve_sign_in(db, &state.config, &subjects).await {
        Ok(r) => r,
        Err(e) => {
            state.metrics.login_attempts.with_label_values(&["throttled"]).inc();
            return Err(e);
        }
    };
    let user = {
        let mut c = db.conn().await?;
        repo::users::by_email(db, &mut c, &normalized).await?
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let ok = match state.passwords.verify(SecretString::from(password_raw.to_owned()), stored).await {
        Ok(ok) => ok,
        Err(e) => {
            // Not judged (no hashing slot): the attempt does not count against anyone.
            let _ = throttle::withdraw(db, reservation).await;
            return Err(e);
        }
    };
    match user {
        Some(user) if ok && user.disabled == 0 => {
            throttle::succeeded(db, &subjects, reservation).await?;
            state.metrics.login_attempts.with_label_values(&["success"]).inc();
            Ok(user)
        }
        _ => {
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
