//! Account settings: profile and time zone, e-mail notifications, password, personal
//! API tokens.

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
};
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use super::{
    extract::{json_of, CsrfForm, WebPath, WebResult, WebUser},
    format,
    render::{page, redirect, Nav},
};
use crate::{
    api::{
        me::{self, ChangePassword, CreateToken, UpdateMe},
        notifications::{self as api_notifications, NotificationSettings, UpdateNotificationSettings},
        views::TokenScope,
    },
    db::repo,
    domain::now_millis,
    error::AppError,
    extract::{ApiJson, Path},
    notify::Kind,
    state::AppState,
};

/// The sections of the page that can show errors or the new token's secret.
#[derive(Default)]
struct Notes {
    profile: Vec<String>,
    notifications: Vec<String>,
    password: Vec<String>,
    token: Vec<String>,
    secret: Option<String>,
}

async fn account_page(state: &AppState, user: &WebUser, status: StatusCode, notes: Notes) -> WebResult {
    let mut c = state.db.conn().await?;
    // The profile as stored now (a save redirects here, the principal is from before).
    let me = repo::users::by_id(&state.db, &mut c, user.id()).await?.ok_or(AppError::Unauthorized)?;
    let tokens = repo::tokens::list_for_user(&state.db, &mut c, user.id()).await?;
    let settings = NotificationSettings::from(&repo::notifications::settings(&state.db, &mut c, user.id()).await?);
    drop(c);
    let tz = format::tz(&me.time_zone);
    let now = now_millis();
    let tokens: Vec<Value> = tokens
        .iter()
        .map(|t| {
            let expired = t.expires_at.is_some_and(|e| e <= now);
            json!({
                "id": t.id, "name": t.name, "prefix": t.prefix,
                "scope": if t.scope == "read" { "Read only" } else { "Read and write" },
                "created": format::time(t.created_at, tz),
                "expires": t.expires_at.map(|e| format::time(e, tz)),
                "last_used": t.last_used_at.map(|e| format::time(e, tz)),
                "revoked": t.revoked_at.map(|e| format::time(e, tz)),
                "expired": expired,
                "active": t.revoked_at.is_none() && !expired,
            })
        })
        .collect();
    let zones: Vec<Value> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| json!({"value": z.name(), "selected": z.name() == me.time_zone}))
        .collect();
    let data = json!({
        "profile": {"display_name": me.display_name, "email": me.email, "time_zone": me.time_zone},
        "zones": zones,
        "tokens": tokens,
        "notifications": {"digest_time": settings.digest_time},
        "notification_kinds": Kind::ALL.iter().map(|k| json!({
            "name": k.as_str(),
            "label": super::projects::capitalise(k.describe()),
            "enabled": match k {
                Kind::Assigned => settings.assigned,
                Kind::DueSoon => settings.due_soon,
                Kind::Digest => settings.digest,
                Kind::Comment => settings.comment,
            },
        })).collect::<Vec<_>>(),
        "lead_options": LEAD_OPTIONS.iter().map(|(m, label)| json!({
            "value": m, "label": label, "selected": *m == settings.reminder_lead_minutes,
        })).chain((!LEAD_OPTIONS.iter().any(|(m, _)| *m == settings.reminder_lead_minutes)).then(|| json!({
            "value": settings.reminder_lead_minutes,
            "label": format!("{} minutes", settings.reminder_lead_minutes),
            "selected": true,
        }))).collect::<Vec<_>>(),
        "notification_errors": notes.notifications,
        "profile_errors": notes.profile,
        "password_errors": notes.password,
        "token_errors": notes.token,
        "secret": notes.secret,
    });
    let mut res = page(&user.ctx, status, Nav::Account, "account", "Account settings", data);
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

fn messages(e: AppError) -> Result<Vec<String>, AppError> {
    match e {
        AppError::Unprocessable(errs) => Ok(errs.into_iter().map(|e| e.message).collect()),
        other => Err(other),
    }
}

pub async fn show(State(state): State<AppState>, user: WebUser) -> WebResult {
    account_page(&state, &user, StatusCode::OK, Notes::default()).await
}

pub async fn profile(State(state): State<AppState>, user: WebUser, form: CsrfForm) -> WebResult {
    let body = UpdateMe { display_name: Some(form.get("display_name")), time_zone: Some(form.get("time_zone")) };
    match me::update_me(State(state.clone()), user.principal.clone(), ApiJson(body)).await {
        Ok(_) => Ok(redirect("/account", Some("profile_saved"))),
        Err(e) => {
            let notes = Notes { profile: messages(e)?, ..Notes::default() };
            account_page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, notes).await
        }
    }
}

/// Reminder lead times offered in the form (minutes, words).
const LEAD_OPTIONS: &[(i64, &str)] = &[
    (15, "15 minutes"),
    (60, "1 hour"),
    (180, "3 hours"),
    (720, "12 hours"),
    (1440, "1 day"),
    (2880, "2 days"),
    (10080, "1 week"),
];

pub async fn notifications(State(state): State<AppState>, user: WebUser, form: CsrfForm) -> WebResult {
    let on = |k: Kind| Some(form.get(k.as_str()) == "on");
    let body = UpdateNotificationSettings {
        assigned: on(Kind::Assigned),
        due_soon: on(Kind::DueSoon),
        digest: on(Kind::Digest),
        comment: on(Kind::Comment),
        reminder_lead_minutes: Some(form.get("reminder_lead_minutes").parse().unwrap_or(-1)),
        digest_time: Some(form.get("digest_time").chars().take(5).collect()),
    };
    match api_notifications::update_settings(State(state.clone()), user.principal.clone(), ApiJson(body)).await {
        Ok(_) => Ok(redirect("/account#notifications", Some("notifications_saved"))),
        Err(e) => {
            let notes = Notes { notifications: messages(e)?, ..Notes::default() };
            account_page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, notes).await
        }
    }
}

pub async fn password(State(state): State<AppState>, user: WebUser, form: CsrfForm) -> WebResult {
    if form.raw("new_password") != form.raw("confirm_password") {
        let notes = Notes { password: vec!["The two new passwords are not the same.".into()], ..Notes::default() };
        return account_page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, notes).await;
    }
    let body =
        ChangePassword { current_password: form.raw("current_password"), new_password: form.raw("new_password") };
    match me::change_password(State(state.clone()), user.principal.clone(), ApiJson(body)).await {
        Ok(_) => Ok(redirect("/account", Some("password_changed"))),
        Err(e) => {
            let notes = Notes { password: messages(e)?, ..Notes::default() };
            account_page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, notes).await
        }
    }
}

/// Creates a token and shows its secret in this response only (never stored, never
/// shown again; the page is not cached).
pub async fn create_token(State(state): State<AppState>, user: WebUser, form: CsrfForm) -> WebResult {
    let scope = if form.get("scope") == "read" { TokenScope::Read } else { TokenScope::ReadWrite };
    let expires_at = match form.get("expires_in_days").parse::<i64>() {
        Ok(days) if days > 0 => Some((Utc::now() + Duration::days(days.min(3650))).fixed_offset()),
        _ => None,
    };
    let body = CreateToken { name: form.get("name"), scope, expires_at };
    match me::create_token(State(state.clone()), user.principal.clone(), ApiJson(body)).await {
        Ok(res) => {
            let secret = json_of(res).await?["secret"].as_str().map(str::to_owned);
            let notes = Notes { secret, ..Notes::default() };
            account_page(&state, &user, StatusCode::OK, notes).await
        }
        Err(e) => {
            let notes = Notes { token: messages(e)?, ..Notes::default() };
            account_page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, notes).await
        }
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    _form: CsrfForm,
) -> WebResult {
    me::revoke_token(State(state), user.principal, Path(id)).await?;
    Ok(redirect("/account", Some("token_revoked")))
}
