//! A project's outbound webhooks and their delivery log. Owners manage them: a
//! webhook sends the project's data to another system.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    access::{self, Fields},
    docs::{ReadErrors, WriteErrors},
};
use crate::{
    auth::{secret, Principal},
    db::repo::{
        self,
        webhooks::{DeliveryRow, NewWebhook, WebhookRow},
        Connection,
    },
    domain::{now_millis, to_rfc3339},
    error::{AppError, AppResult},
    extract::{ApiJson, Path},
    state::AppState,
    webhooks::{parse_events, target},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(update_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(confirm_webhook))
}

#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub project_id: i64,
    pub url: String,
    /// `task.created`, `task.updated`, `task.completed`, `task.deleted`, `comment.created`.
    pub events: Vec<String>,
    pub active: bool,
    /// The user id of the owner who created the webhook.
    pub created_by: i64,
    /// The owner who confirmed it last, when one did; they answer for it now.
    pub confirmed_by: Option<i64>,
    /// Set when the webhook sends nothing until an owner confirms it
    /// (`owner_lost_rights`: the owner who answered for it was demoted or left).
    pub paused_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&WebhookRow> for WebhookView {
    fn from(w: &WebhookRow) -> Self {
        WebhookView {
            id: w.id,
            project_id: w.project_id,
            url: w.url.clone(),
            events: w.events.split(',').filter(|e| !e.is_empty()).map(str::to_owned).collect(),
            active: w.active == 1,
            created_by: w.created_by,
            confirmed_by: w.confirmed_by,
            paused_reason: w.paused_reason.clone(),
            created_at: to_rfc3339(w.created_at),
            updated_at: to_rfc3339(w.updated_at),
        }
    }
}

/// A new webhook with its signing secret, shown only in this response.
#[derive(Serialize, ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The HMAC-SHA256 key of `X-TaskManager-Signature`.
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    pub event: String,
    /// Repeats on retries of the same delivery (`X-TaskManager-Delivery`).
    pub event_id: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: i64,
    pub response_status: Option<i64>,
    pub last_error: Option<String>,
    pub duration_ms: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<&DeliveryRow> for DeliveryView {
    fn from(d: &DeliveryRow) -> Self {
        DeliveryView {
            id: d.id,
            event: d.event.clone(),
            event_id: d.event_id.clone(),
            status: d.status.clone(),
            attempts: d.attempts,
            response_status: d.response_status,
            last_error: d.last_error.clone(),
            duration_ms: d.duration_ms,
            created_at: to_rfc3339(d.created_at),
            delivered_at: d.delivered_at.map(to_rfc3339),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `http(s)://…`; loopback, private and link-local targets are refused unless the
    /// administrator allows them.
    pub url: String,
    pub events: Vec<String>,
    /// The signing key; generated when absent (at least 16 characters when given).
    pub secret: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub active: Option<bool>,
}

fn checked_url(state: &AppState, f: &mut Fields, raw: &str) -> Option<String> {
    match target::check_url(raw, state.config.webhook_allow_private_targets) {
        Ok(u) if u.as_str().len() <= 2000 => Some(u.to_string()),
        Ok(_) => {
            f.push("url", "too_long", "url must be at most 2000 characters");
            None
        }
        Err(e) => {
            f.push("url", "refused", e);
            None
        }
    }
}

fn checked_events(f: &mut Fields, names: &[String]) -> Option<String> {
    match parse_events(names) {
        Ok(e) if !e.is_empty() => Some(e.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(",")),
        Ok(_) => {
            f.push("events", "empty", "choose at least one event");
            None
        }
        Err(e) => {
            f.push("events", "unknown_event", e);
            None
        }
    }
}

async fn require_owner(db: &crate::db::Db, c: &mut Connection, project_id: i64, user_id: i64) -> AppResult<()> {
    access::require_owner(access::role_in(db, c, project_id, user_id).await?)
}

/// Registers a webhook. The response holds the signing secret, shown only here.
#[utoipa::path(post, path = "/projects/{id}/webhooks", tag = "webhooks", params(("id" = i64, Path),
    ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")), request_body = CreateWebhook,
    security(("session" = []), ("token" = [])), responses((status = 201, body = WebhookCreated), WriteErrors))]
pub async fn create_webhook(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> AppResult<Response> {
    principal.require_write()?;
    let mut f = Fields::default();
    let url = checked_url(&state, &mut f, &body.url);
    let events = checked_events(&mut f, &body.events);
    let secret = body.secret.clone().unwrap_or_else(|| format!("whsec_{}", secret::random_token()));
    if !(16..=200).contains(&secret.chars().count()) {
        f.push("secret", "length", "secret must be 16 to 200 characters");
    }
    let db = &state.db;
    let mut tx = db.begin().await?;
    require_owner(db, &mut tx, id, principal.id()).await?;
    f.finish()?;
    let (url, events) = (url.unwrap_or_default(), events.unwrap_or_default());
    let w = NewWebhook {
        project_id: id,
        url: &url,
        secret: &secret,
        events: &events,
        created_by: principal.id(),
        now: now_millis(),
    };
    let row = repo::webhooks::insert(db, &mut tx, w).await?;
    tx.commit().await?;
    let view = WebhookCreated { webhook: WebhookView::from(&row), secret };
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// The project's webhooks (without their secrets).
#[utoipa::path(get, path = "/projects/{id}/webhooks", tag = "webhooks", params(("id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 200, body = Vec<WebhookView>), ReadErrors))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<WebhookView>>> {
    let db = &state.db;
    let mut c = db.conn().await?;
    require_owner(db, &mut c, id, principal.id()).await?;
    let rows = repo::webhooks::list(db, &mut c, id).await?;
    Ok(axum::Json(rows.iter().map(WebhookView::from).collect()))
}

/// Changes a webhook's URL or events, or pauses it (`active: false`).
#[utoipa::path(patch, path = "/projects/{id}/webhooks/{webhook_id}", tag = "webhooks",
    params(("id" = i64, Path), ("webhook_id" = i64, Path)), request_body = UpdateWebhook,
    security(("session" = []), ("token" = [])), responses((status = 200, body = WebhookView), WriteErrors))]
pub async fn update_webhook(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, webhook_id)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<UpdateWebhook>,
) -> AppResult<axum::Json<WebhookView>> {
    principal.require_write()?;
    let mut f = Fields::default();
    let url = body.url.as_deref().and_then(|u| checked_url(&state, &mut f, u));
    let events = body.events.as_deref().and_then(|e| checked_events(&mut f, e));
    let db = &state.db;
    let mut tx = db.begin().await?;
    require_owner(db, &mut tx, id, principal.id()).await?;
    let row = repo::webhooks::get(db, &mut tx, id, webhook_id).await?.ok_or(AppError::NotFound)?;
    f.finish()?;
    let active = body.active.unwrap_or(row.active == 1);
    let row = repo::webhooks::update(
        db,
        &mut tx,
        row.id,
        url.as_deref().unwrap_or(&row.url),
        events.as_deref().unwrap_or(&row.events),
        active,
        now_millis(),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(WebhookView::from(&row)))
}

/// Deletes a webhook and its delivery log; pending deliveries are dropped.
#[utoipa::path(delete, path = "/projects/{id}/webhooks/{webhook_id}", tag = "webhooks",
    params(("id" = i64, Path), ("webhook_id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 204, description = "Deleted"), WriteErrors))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, webhook_id)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    principal.require_write()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    require_owner(db, &mut tx, id, principal.id()).await?;
    let row = repo::webhooks::get(db, &mut tx, id, webhook_id).await?.ok_or(AppError::NotFound)?;
    repo::webhooks::delete(db, &mut tx, row.id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The newest 50 deliveries of a webhook: what was sent, the answer, the attempts.
#[utoipa::path(get, path = "/projects/{id}/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path), ("webhook_id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 200, body = Vec<DeliveryView>), ReadErrors))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, webhook_id)): Path<(i64, i64)>,
) -> AppResult<axum::Json<Vec<DeliveryView>>> {
    let db = &state.db;
    let mut c = db.conn().await?;
    require_owner(db, &mut c, id, principal.id()).await?;
    let row = repo::webhooks::get(db, &mut c, id, webhook_id).await?.ok_or(AppError::NotFound)?;
    let rows = repo::webhooks::deliveries(db, &mut c, row.id, 50).await?;
    Ok(axum::Json(rows.iter().map(DeliveryView::from).collect()))
}

/// Confirms a webhook paused because the owner who answered for it lost owner rights:
/// it sends again, and the confirming owner answers for it from now on. Owners only.
#[utoipa::path(post, path = "/projects/{id}/webhooks/{webhook_id}/confirm", tag = "webhooks",
    params(("id" = i64, Path), ("webhook_id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 200, body = WebhookView), WriteErrors))]
pub async fn confirm_webhook(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, webhook_id)): Path<(i64, i64)>,
) -> AppResult<axum::Json<WebhookView>> {
    principal.require_write()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    require_owner(db, &mut tx, id, principal.id()).await?;
    let row = repo::webhooks::get(db, &mut tx, id, webhook_id).await?.ok_or(AppError::NotFound)?;
    let row = repo::webhooks::confirm(db, &mut tx, row.id, principal.id(), now_millis()).await?;
    tx.commit().await?;
    Ok(axum::Json(WebhookView::from(&row)))
}
