//! Outbound webhooks of a project and their deliveries (an outbox, claimed like the
//! notification outbox).

use super::{notifications::claim_sql, Connection};
use crate::db::{op, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: i64,
    pub project_id: i64,
    pub url: String,
    pub secret: String,
    /// Comma-separated event names.
    pub events: String,
    /// 0 or 1.
    pub active: i64,
    pub created_by: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Why it sends nothing until an owner confirms it (its owner lost owner rights).
    pub paused_reason: Option<String>,
    /// The owner who confirmed it last; it answers for the webhook instead of the creator.
    pub confirmed_by: Option<i64>,
}

const COLUMNS: &str =
    "id, project_id, url, secret, events, active, created_by, created_at, updated_at, paused_reason, confirmed_by";

/// The reason recorded when the webhook's owner is demoted or leaves the project.
pub const OWNER_LOST_RIGHTS: &str = "owner_lost_rights";

/// Pauses the project's webhooks that `user_id` answers for (created, or confirmed
/// last), because they are no longer an owner. Returns how many.
pub async fn pause_for_owner(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    user_id: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let sql = "update webhook set paused_reason = $3, updated_at = $4 \
               where project_id = $1 and coalesce(confirmed_by, created_by) = $2 and paused_reason is null";
    let q = sqlx::query(sql).bind(project_id).bind(user_id).bind(OWNER_LOST_RIGHTS).bind(now);
    Ok(db.observe(op::WEBHOOK_WRITE, sql, q.execute(c)).await?.rows_affected())
}

/// An owner confirms a paused webhook: it sends again, and they now answer for it.
pub async fn confirm(db: &Db, c: &mut Connection, id: i64, owner_id: i64, now: i64) -> Result<WebhookRow, sqlx::Error> {
    let sql = format!(
        "update webhook set paused_reason = null, confirmed_by = $2, updated_at = $3 where id = $1 returning {COLUMNS}"
    );
    db.observe(op::WEBHOOK_WRITE, &sql, sqlx::query_as(&sql).bind(id).bind(owner_id).bind(now).fetch_one(c)).await
}

pub struct NewWebhook<'a> {
    pub project_id: i64,
    pub url: &'a str,
    pub secret: &'a str,
    pub events: &'a str,
    pub created_by: i64,
    pub now: i64,
}

pub async fn insert(db: &Db, c: &mut Connection, w: NewWebhook<'_>) -> Result<WebhookRow, sqlx::Error> {
    let sql = format!(
        "insert into webhook (project_id, url, secret, events, active, created_by, created_at, updated_at) \
         values ($1, $2, $3, $4, 1, $5, $6, $6) returning {COLUMNS}"
    );
    let q = sqlx::query_as(&sql)
        .bind(w.project_id)
        .bind(w.url)
        .bind(w.secret)
        .bind(w.events)
        .bind(w.created_by)
        .bind(w.now);
    db.observe(op::WEBHOOK_WRITE, &sql, q.fetch_one(c)).await
}

pub async fn list(db: &Db, c: &mut Connection, project_id: i64) -> Result<Vec<WebhookRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from webhook where project_id = $1 order by id");
    db.observe(op::WEBHOOK_GET, &sql, sqlx::query_as(&sql).bind(project_id).fetch_all(c)).await
}

pub async fn get(db: &Db, c: &mut Connection, project_id: i64, id: i64) -> Result<Option<WebhookRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from webhook where project_id = $1 and id = $2");
    db.observe(op::WEBHOOK_GET, &sql, sqlx::query_as(&sql).bind(project_id).bind(id).fetch_optional(c)).await
}

pub async fn update(
    db: &Db,
    c: &mut Connection,
    id: i64,
    url: &str,
    events: &str,
    active: bool,
    now: i64,
) -> Result<WebhookRow, sqlx::Error> {
    let sql = format!(
        "update webhook set url = $2, events = $3, active = $4, updated_at = $5 where id = $1 returning {COLUMNS}"
    );
    let q = sqlx::query_as(&sql).bind(id).bind(url).bind(events).bind(i64::from(active)).bind(now);
    db.observe(op::WEBHOOK_WRITE, &sql, q.fetch_one(c)).await
}

pub async fn delete(db: &Db, c: &mut Connection, id: i64) -> Result<(), sqlx::Error> {
    let sql = "delete from webhook where id = $1";
    db.observe(op::WEBHOOK_WRITE, sql, sqlx::query(sql).bind(id).execute(c)).await.map(|_| ())
}

/// Queues one delivery of `event` to every active, unpaused webhook of the project that
/// asked for it, in one statement. Returns how many.
pub async fn enqueue(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    event: &str,
    event_id: &str,
    payload: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    // `event_id` is unique per delivery: the event's id plus the webhook's.
    let sql = "insert into webhook_delivery (webhook_id, event, event_id, payload, next_attempt_at, created_at) \
               select w.id, $2, $3 || '-' || w.id, $4, $5, $5 from webhook w \
               where w.project_id = $1 and w.active = 1 and w.paused_reason is null \
               and (',' || w.events || ',') like $6";
    let pattern = format!("%,{event},%");
    let q = sqlx::query(sql).bind(project_id).bind(event).bind(event_id).bind(payload).bind(now).bind(pattern);
    Ok(db.observe(op::WEBHOOK_DELIVERY_WRITE, sql, q.execute(c)).await?.rows_affected())
}

/// A delivery claimed for sending, with what is needed to send it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub event_id: String,
    pub payload: String,
    pub attempts: i64,
}

pub async fn claim(
    db: &Db,
    c: &mut Connection,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<ClaimedDelivery>, sqlx::Error> {
    let sql = claim_sql(db, "webhook_delivery", "id, webhook_id, event, event_id, payload, attempts");
    let q = sqlx::query_as(&sql).bind(now).bind(now + lease_ms).bind(limit);
    let mut rows: Vec<ClaimedDelivery> = db.observe(op::WEBHOOK_DELIVERY_CLAIM, &sql, q.fetch_all(c)).await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// The webhook a delivery goes to (any project: the sender is not a request).
pub async fn by_id(db: &Db, c: &mut Connection, id: i64) -> Result<Option<WebhookRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from webhook where id = $1");
    db.observe(op::WEBHOOK_GET, &sql, sqlx::query_as(&sql).bind(id).fetch_optional(c)).await
}

/// What one attempt did: `pending` with a retry time, `delivered` or `failed` (final).
pub struct Attempt<'a> {
    pub status: &'a str,
    pub next_attempt_at: Option<i64>,
    pub response_status: Option<i64>,
    pub error: Option<&'a str>,
    pub duration_ms: Option<i64>,
    pub now: i64,
}

pub async fn finish(db: &Db, c: &mut Connection, id: i64, a: Attempt<'_>) -> Result<(), sqlx::Error> {
    let sql =
        "update webhook_delivery set status = $2, next_attempt_at = coalesce(cast($3 as bigint), next_attempt_at), \
               response_status = cast($4 as bigint), last_error = cast($5 as text), duration_ms = cast($6 as bigint), \
               delivered_at = case when $2 = 'delivered' then $7 else delivered_at end, claimed_until = null \
               where id = $1";
    let q = sqlx::query(sql)
        .bind(id)
        .bind(a.status)
        .bind(a.next_attempt_at)
        .bind(a.response_status)
        .bind(a.error)
        .bind(a.duration_ms)
        .bind(a.now);
    db.observe(op::WEBHOOK_DELIVERY_WRITE, sql, q.execute(c)).await.map(|_| ())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub event: String,
    pub event_id: String,
    pub status: String,
    pub attempts: i64,
    pub response_status: Option<i64>,
    pub last_error: Option<String>,
    pub duration_ms: Option<i64>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// The newest deliveries of a webhook.
pub async fn deliveries(
    db: &Db,
    c: &mut Connection,
    webhook_id: i64,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    let sql = "select id, event, event_id, status, attempts, response_status, last_error, duration_ms, created_at, \
               delivered_at from webhook_delivery where webhook_id = $1 order by id desc limit $2";
    db.observe(op::WEBHOOK_DELIVERY_GET, sql, sqlx::query_as(sql).bind(webhook_id).bind(limit).fetch_all(c)).await
}
