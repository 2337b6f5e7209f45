//! Webhooks in the project settings: add (the signing secret is shown once, on the
//! page that answers the form), delete, and each webhook's delivery log.

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
};
use serde_json::{json, Value};

use super::{
    extract::{json_of, CsrfForm, WebPath, WebResult, WebUser},
    format,
    projects::{header as project_header, load, settings_change},
    render::{page, Nav},
};
use crate::{
    api::webhooks::{self, CreateWebhook},
    db::repo,
    error::AppError,
    extract::{ApiJson, Path},
    state::AppState,
};

pub async fn create(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let body = CreateWebhook { url: form.get("url"), events: form.all("events"), secret: None };
    match webhooks::create_webhook(State(state.clone()), user.principal.clone(), Path(id), ApiJson(body)).await {
        Ok(res) => {
            let created = json_of(res).await?;
            let (wid, secret) =
                (created["id"].as_i64().unwrap_or_default(), created["secret"].as_str().map(str::to_owned));
            webhook_page(&state, &user, id, wid, secret).await
        }
        Err(e) => settings_change::<()>(&state, &user, id, Err(e), "webhook_added").await,
    }
}

pub async fn delete(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((id, wid)): WebPath<(i64, i64)>,
    _form: CsrfForm,
) -> WebResult {
    let r = webhooks::delete_webhook(State(state.clone()), user.principal.clone(), Path((id, wid))).await;
    settings_change(&state, &user, id, r, "webhook_deleted").await
}

pub async fn confirm(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((id, wid)): WebPath<(i64, i64)>,
    _form: CsrfForm,
) -> WebResult {
    let r = webhooks::confirm_webhook(State(state.clone()), user.principal.clone(), Path((id, wid))).await.map(drop);
    settings_change(&state, &user, id, r, "webhook_confirmed").await
}

pub async fn show(State(state): State<AppState>, user: WebUser, WebPath((id, wid)): WebPath<(i64, i64)>) -> WebResult {
    webhook_page(&state, &user, id, wid, None).await
}

async fn webhook_page(state: &AppState, user: &WebUser, id: i64, wid: i64, secret: Option<String>) -> WebResult {
    let (p, role) = load(state, user, id).await?;
    if !role.can_manage() {
        return Err(AppError::NotFound.into());
    }
    let mut c = state.db.conn().await?;
    let w = repo::webhooks::get(&state.db, &mut c, id, wid).await?.ok_or(AppError::NotFound)?;
    let deliveries = repo::webhooks::deliveries(&state.db, &mut c, wid, 50).await?;
    let me = repo::users::by_id(&state.db, &mut c, user.id()).await?.ok_or(AppError::Unauthorized)?;
    drop(c);
    let tz = format::tz(&me.time_zone);
    let deliveries: Vec<Value> = deliveries
        .iter()
        .map(|d| {
            json!({
                "event": d.event, "status": d.status, "attempts": d.attempts,
                "response_status": d.response_status, "duration_ms": d.duration_ms,
                "last_error": d.last_error, "created": format::time(d.created_at, tz),
            })
        })
        .collect();
    let data = json!({
        "project": project_header(&p, role, "settings"),
        "webhook": {"url": w.url, "events": w.events.replace(',', ", "), "active": w.active == 1},
        "deliveries": deliveries,
        "secret": secret,
    });
    let mut res = page(&user.ctx, StatusCode::OK, Nav::Projects, "webhook", &format!("Webhook · {}", p.name), data);
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
