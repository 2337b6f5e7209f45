//! Sign in, sign up and sign out, on the API's account and session code.

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde_json::json;

use super::{
    extract::{anonymous_ctx, safe_next, CsrfForm, WebResult, WebUser},
    render::{page, redirect, Ctx, Nav},
};
use crate::{
    api::auth::{authenticate, sign_up, start_session},
    auth::{Credential, Principal},
    db::repo,
    error::AppError,
    extract::PeerAddr,
    state::AppState,
};

#[derive(serde::Deserialize)]
pub struct Next {
    next: Option<String>,
}

fn signin_form(
    ctx: &Ctx,
    state: &AppState,
    status: StatusCode,
    email: &str,
    next: &str,
    error: Option<&str>,
) -> Response {
    let data = json!({
        "email": email,
        "next": next,
        "error": error,
        "registration": state.config.registration_enabled,
    });
    page(ctx, status, Nav::None, "signin", "Sign in", data)
}

pub async fn signin_page(
    State(state): State<AppState>,
    principal: Option<Principal>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    let next = q.next.as_deref().and_then(|n| safe_next(&state.config.public_url, n)).unwrap_or_default();
    if matches!(principal, Some(Principal { credential: Credential::Session { .. }, .. })) {
        return Redirect::to(if next.is_empty() { "/projects" } else { &next }).into_response();
    }
    let ctx = anonymous_ctx(&headers, state.config.cookie_secure);
    signin_form(&ctx, &state, StatusCode::OK, "", &next, None)
}

pub async fn signin(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    form: CsrfForm,
) -> WebResult {
    let email = form.get("email");
    let next = safe_next(&state.config.public_url, &form.get("next")).unwrap_or_else(|| "/projects".into());
    match authenticate(&state, &headers, peer, &email, &form.raw("password")).await {
        Ok(user) => {
            let cookie = start_session(&state, user.id).await?;
            let mut res = redirect(&next, None);
            res.headers_mut().append(header::SET_COOKIE, cookie);
            Ok(res)
        }
        Err(e @ (AppError::Unauthorized | AppError::TooManyRequests { .. })) => {
            let (status, msg) = match e {
                AppError::TooManyRequests { .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, "Too many failed attempts. Wait a few minutes and try again.")
                }
                _ => (StatusCode::UNAUTHORIZED, "The e-mail or the password is not correct."),
            };
            let ctx = anonymous_ctx(&headers, state.config.cookie_secure);
            Ok(signin_form(&ctx, &state, status, &email, &form.get("next"), Some(msg)))
        }
        Err(e) => Err(e.into()),
    }
}

fn signup_form(ctx: &Ctx, status: StatusCode, values: serde_json::Value, errors: Vec<String>) -> Response {
    page(ctx, status, Nav::None, "signup", "Create an account", json!({"values": values, "errors": errors}))
}

pub async fn signup_page(State(state): State<AppState>, headers: HeaderMap) -> WebResult {
    if !state.config.registration_enabled {
        return Err(AppError::Forbidden(
            "Sign-up is disabled on this server; ask an administrator for an account.".into(),
        )
        .into());
    }
    let ctx = anonymous_ctx(&headers, state.config.cookie_secure);
    Ok(signup_form(&ctx, StatusCode::OK, json!({"email": "", "display_name": "", "time_zone": ""}), vec![]))
}

/// Signs up and sends the browser to the sign-in page, with the same message whether
/// or not the address already had an account (see `api::auth::sign_up`).
pub async fn signup(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    form: CsrfForm,
) -> WebResult {
    if !state.config.registration_enabled {
        return Err(AppError::Forbidden("Sign-up is disabled on this server.".into()).into());
    }
    let (email, name, zone) = (form.get("email"), form.get("display_name"), form.get("time_zone"));
    let zone_opt = (!zone.is_empty()).then_some(zone.as_str());
    match sign_up(&state, &headers, peer, &email, &form.raw("password"), &name, zone_opt).await {
        Ok(_) => Ok(redirect("/signin", Some("registered"))),
        Err(e @ (AppError::Unprocessable(_) | AppError::TooManyRequests { .. })) => {
            let (status, errors) = match e {
                AppError::Unprocessable(errs) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, errs.into_iter().map(|e| e.message).collect())
                }
                _ => (
                    StatusCode::TOO_MANY_REQUESTS,
                    vec!["Too many sign-ups from your network. Wait a while and try again.".to_owned()],
                ),
            };
            let ctx = anonymous_ctx(&headers, state.config.cookie_secure);
            let values = json!({"email": email, "display_name": name, "time_zone": zone});
            Ok(signup_form(&ctx, status, values, errors))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn signout(State(state): State<AppState>, user: WebUser, _form: CsrfForm) -> WebResult {
    if let Credential::Session { token_hash, .. } = &user.principal.credential {
        let mut tx = state.db.begin().await?;
        repo::sessions::delete(&state.db, &mut tx, token_hash).await?;
        tx.commit().await?;
    }
    let mut res = redirect("/signin", Some("signed_out"));
    res.headers_mut()
        .append(header::SET_COOKIE, HeaderValue::from_static("tm_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    Ok(res)
}
