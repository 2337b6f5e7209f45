//! The notification outbox and the per-user notification settings.
//!
//! A notification row is written in the transaction of the change that caused it;
//! senders claim pending rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single
//! writer on SQLite), so each row is handled by one replica at a time.

use super::Connection;
use crate::db::{op, Backend, Db};

/// Preferences of one account; an account without a row has the defaults.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SettingsRow {
    pub assigned: i64,
    pub due_soon: i64,
    pub digest: i64,
    pub comment: i64,
    pub reminder_lead_minutes: i64,
    pub digest_minute: i64,
}

impl Default for SettingsRow {
    fn default() -> Self {
        SettingsRow {
            assigned: 1,
            due_soon: 1,
            digest: 1,
            comment: 1,
            reminder_lead_minutes: 24 * 60,
            digest_minute: 8 * 60,
        }
    }
}

pub async fn settings(db: &Db, c: &mut Connection, user_id: i64) -> Result<SettingsRow, sqlx::Error> {
    let sql = "select assigned, due_soon, digest, comment, reminder_lead_minutes, digest_minute \
               from notification_setting where user_id = $1";
    let row =
        db.observe(op::NOTIFICATION_SETTING_GET, sql, sqlx::query_as(sql).bind(user_id).fetch_optional(c)).await?;
    Ok(row.unwrap_or_default())
}

pub async fn save_settings(
    db: &Db,
    c: &mut Connection,
    user_id: i64,
    s: &SettingsRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    let sql = "insert into notification_setting \
               (user_id, assigned, due_soon, digest, comment, reminder_lead_minutes, digest_minute, updated_at) \
               values ($1, $2, $3, $4, $5, $6, $7, $8) \
               on conflict (user_id) do update set assigned = excluded.assigned, due_soon = excluded.due_soon, \
               digest = excluded.digest, comment = excluded.comment, \
               reminder_lead_minutes = excluded.reminder_lead_minutes, digest_minute = excluded.digest_minute, \
               updated_at = excluded.updated_at";
    let q = sqlx::query(sql)
        .bind(user_id)
        .bind(s.assigned)
        .bind(s.due_soon)
        .bind(s.digest)
        .bind(s.comment)
        .bind(s.reminder_lead_minutes)
        .bind(s.digest_minute)
        .bind(now);
    db.observe(op::NOTIFICATION_SETTING_WRITE, sql, q.execute(c)).await.map(|_| ())
}

/// Turns one kind off for one account (the unsubscribe link), keeping the rest.
pub async fn disable_kind(db: &Db, c: &mut Connection, user_id: i64, kind: &str, now: i64) -> Result<(), sqlx::Error> {
    let mut s = settings(db, c, user_id).await?;
    match kind {
        "assigned" => s.assigned = 0,
        "due_soon" => s.due_soon = 0,
        "digest" => s.digest = 0,
        "comment" => s.comment = 0,
        _ => return Ok(()),
    }
    save_settings(db, c, user_id, &s, now).await
}

/// A notification to queue.
#[derive(Debug, Clone, Default)]
pub struct NewNotification<'a> {
    /// One of `assigned`, `due_soon`, `digest`, `comment` (also the settings column).
    pub kind: &'a str,
    pub user_id: i64,
    pub task_id: Option<i64>,
    pub comment_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub due_at: Option<i64>,
    /// Makes the notification exactly-once: a second insert with the key does nothing.
    pub dedupe_key: Option<String>,
    /// When it was meant to go out (reminder lag is measured from here).
    pub scheduled_at: i64,
    pub now: i64,
}

/// Queues a notification unless the recipient turned its kind off, is disabled, or is
/// no longer a member of the task's project.
/// Returns whether a row was written.
pub async fn enqueue(db: &Db, c: &mut Connection, n: &NewNotification<'_>) -> Result<bool, sqlx::Error> {
    let column = settings_column(n.kind);
    let sql = format!(
        "insert into notification (kind, user_id, task_id, comment_id, actor_id, due_at, dedupe_key, \
         next_attempt_at, scheduled_at, created_at) \
         select $1, u.id, cast($3 as bigint), cast($4 as bigint), cast($5 as bigint), cast($6 as bigint), \
         cast($7 as text), $8, $9, $8 \
         from app_user u left join notification_setting s on s.user_id = u.id \
         where u.id = $2 and u.disabled = 0 and coalesce(s.{column}, 1) = 1 \
         and (cast($3 as bigint) is null or exists (select 1 from task t join project_member m \
              on m.project_id = t.project_id and m.user_id = u.id where t.id = cast($3 as bigint))) \
         on conflict (dedupe_key) do nothing"
    );
    let q = sqlx::query(&sql)
        .bind(n.kind)
        .bind(n.user_id)
        .bind(n.task_id)
        .bind(n.comment_id)
        .bind(n.actor_id)
        .bind(n.due_at)
        .bind(n.dedupe_key.as_deref())
        .bind(n.now)
        .bind(n.scheduled_at);
    Ok(db.observe(op::NOTIFICATION_INSERT, &sql, q.execute(c)).await?.rows_affected() == 1)
}

/// The settings column of a kind; a fixed set, so it can be spliced into SQL.
fn settings_column(kind: &str) -> &'static str {
    match kind {
        "assigned" => "assigned",
        "due_soon" => "due_soon",
        "digest" => "digest",
        _ => "comment",
    }
}

/// Queues the due-soon reminders whose time has come, in one statement: tasks assigned
/// to someone, open, due within the assignee's lead time and not yet past. The key
/// `due_soon:<task>:<due_at>` sends one reminder per task and due date (a new due date
/// re-arms it) however many replicas scan at once. Returns how many were queued.
pub async fn queue_due_soon(db: &Db, c: &mut Connection, now: i64, max_lead_ms: i64) -> Result<u64, sqlx::Error> {
    let sql = "insert into notification (kind, user_id, task_id, due_at, dedupe_key, next_attempt_at, scheduled_at, created_at) \
               select 'due_soon', t.assignee_id, t.id, t.due_at, 'due_soon:' || t.id || ':' || t.due_at, $1, \
               case when t.due_at - coalesce(s.reminder_lead_minutes, 1440) * 60000 > t.updated_at \
                    then t.due_at - coalesce(s.reminder_lead_minutes, 1440) * 60000 else t.updated_at end, $1 \
               from task t \
               join app_user u on u.id = t.assignee_id \
               join project p on p.id = t.project_id \
               join project_member m on m.project_id = t.project_id and m.user_id = t.assignee_id \
               left join notification_setting s on s.user_id = u.id \
               where t.status in ('todo', 'in_progress', 'blocked') and t.due_at > $1 and t.due_at <= $1 + $2 \
               and t.due_at <= $1 + coalesce(s.reminder_lead_minutes, 1440) * 60000 \
               and u.disabled = 0 and p.archived = 0 and coalesce(s.due_soon, 1) = 1 \
               on conflict (dedupe_key) do nothing";
    let q = sqlx::query(sql).bind(now).bind(max_lead_ms);
    Ok(db.observe(op::NOTIFICATION_INSERT, sql, q.execute(c)).await?.rows_affected())
}

/// Cancels pending notifications of one kind about a task (its due date changed, it
/// was completed, or it was reassigned).
pub async fn cancel_for_task(db: &Db, c: &mut Connection, task_id: i64, kind: &str) -> Result<u64, sqlx::Error> {
    let sql = "update notification set status = 'cancelled', claimed_until = null \
               where task_id = $1 and kind = $2 and status = 'pending'";
    Ok(db
        .observe(op::NOTIFICATION_UPDATE, sql, sqlx::query(sql).bind(task_id).bind(kind).execute(c))
        .await?
        .rows_affected())
}

/// Accounts that may be due a digest: digests on, not disabled, with an open task
/// assigned to them that is due before `due_before`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DigestCandidate {
    pub user_id: i64,
    pub time_zone: String,
    pub digest_minute: i64,
}

pub async fn digest_candidates(
    db: &Db,
    c: &mut Connection,
    due_before: i64,
) -> Result<Vec<DigestCandidate>, sqlx::Error> {
    let sql = "select u.id as user_id, u.time_zone, coalesce(s.digest_minute, 480) as digest_minute \
               from app_user u left join notification_setting s on s.user_id = u.id \
               where u.disabled = 0 and coalesce(s.digest, 1) = 1 and exists (\
                 select 1 from task t join project p on p.id = t.project_id \
                 join project_member m on m.project_id = t.project_id and m.user_id = u.id \
                 where t.assignee_id = u.id and t.status in ('todo', 'in_progress', 'blocked') \
                 and t.due_at < $1 and p.archived = 0) \
               order by u.id";
    db.observe(op::DIGEST_SCAN, sql, sqlx::query_as(sql).bind(due_before).fetch_all(c)).await
}

/// A task listed in a digest.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DigestTask {
    pub id: i64,
    pub title: String,
    pub due_at: i64,
    pub priority: i64,
    pub project_name: String,
}

/// Open tasks assigned to the account, in unarchived projects it is still a member of,
/// due before `due_before` (overdue and due today), soonest first.
pub async fn digest_tasks(
    db: &Db,
    c: &mut Connection,
    user_id: i64,
    due_before: i64,
) -> Result<Vec<DigestTask>, sqlx::Error> {
    let sql = "select t.id, t.title, t.due_at, t.priority, p.name as project_name \
               from task t join project p on p.id = t.project_id \
               join project_member m on m.project_id = t.project_id and m.user_id = t.assignee_id \
               where t.assignee_id = $1 and t.status in ('todo', 'in_progress', 'blocked') \
               and t.due_at < $2 and p.archived = 0 \
               order by t.due_at, t.id limit 200";
    db.observe(op::DIGEST_SCAN, sql, sqlx::query_as(sql).bind(user_id).bind(due_before).fetch_all(c)).await
}

/// A notification claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub user_id: i64,
    pub task_id: Option<i64>,
    pub comment_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub due_at: Option<i64>,
    pub dedupe_key: Option<String>,
    pub attempts: i64,
    pub scheduled_at: i64,
    pub created_at: i64,
}

/// Claims up to `limit` pending notifications that are due, for `lease_ms`: until the
/// lease ends no other sender takes them. A sender that dies mid-send leaves its claim
/// to expire, and the notification is tried again.
pub async fn claim(
    db: &Db,
    c: &mut Connection,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let sql = claim_sql(
        db,
        "notification",
        "id, kind, user_id, task_id, comment_id, actor_id, due_at, dedupe_key, attempts, scheduled_at, created_at",
    );
    let q = sqlx::query_as(&sql).bind(now).bind(now + lease_ms).bind(limit);
    let mut rows: Vec<Claimed> = db.observe(op::NOTIFICATION_CLAIM, &sql, q.fetch_all(c)).await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// The claiming statement of an outbox table (`status`, `next_attempt_at`,
/// `claimed_until`, `attempts` columns): binds `$1` now, `$2` the end of the lease,
/// `$3` the batch size. On PostgreSQL `SKIP LOCKED` lets replicas claim side by side
/// without waiting for or taking each other's rows; SQLite has one writer.
pub fn claim_sql(db: &Db, table: &str, returning: &str) -> String {
    let lock = if db.backend == Backend::Postgres { " for update skip locked" } else { "" };
    format!(
        "update {table} set claimed_until = $2, attempts = attempts + 1 where id in (\
           select id from {table} where status = 'pending' and next_attempt_at <= $1 \
           and (claimed_until is null or claimed_until <= $1) order by next_attempt_at, id limit $3{lock}) \
         returning {returning}"
    )
}

/// Final states a notification can reach, and `pending` for a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Retry { at: i64 },
    Dead,
    Cancelled,
    Undeliverable,
}

/// Records what happened to a claimed notification.
pub async fn finish(
    db: &Db,
    c: &mut Connection,
    id: i64,
    outcome: Outcome,
    error: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let (status, next, sent_at) = match outcome {
        Outcome::Sent => ("sent", None, Some(now)),
        Outcome::Retry { at } => ("pending", Some(at), None),
        Outcome::Dead => ("dead", None, None),
        Outcome::Cancelled => ("cancelled", None, None),
        Outcome::Undeliverable => ("undeliverable", None, None),
    };
    let sql = "update notification set status = $2, next_attempt_at = coalesce(cast($3 as bigint), next_attempt_at), \
               sent_at = cast($4 as bigint), last_error = cast($5 as text), claimed_until = null where id = $1";
    let q = sqlx::query(sql).bind(id).bind(status).bind(next).bind(sent_at).bind(error);
    db.observe(op::NOTIFICATION_UPDATE, sql, q.execute(c)).await.map(|_| ())
}

/// Counts the due-soon reminders still unsent past their deadline (scheduled before
/// `deadline_passed_before`): marks them counted for the timeliness SLI and returns how
/// many. One statement, so replicas scanning at once never count a reminder twice.
pub async fn count_missed_reminders(
    db: &Db,
    c: &mut Connection,
    now: i64,
    deadline_passed_before: i64,
) -> Result<u64, sqlx::Error> {
    let sql = "update notification set timeliness_counted_at = $1 \
               where kind = 'due_soon' and status = 'pending' and timeliness_counted_at is null \
               and scheduled_at < $2";
    let q = sqlx::query(sql).bind(now).bind(deadline_passed_before);
    Ok(db.observe(op::NOTIFICATION_UPDATE, sql, q.execute(c)).await?.rows_affected())
}

/// Marks one reminder counted for the timeliness SLI; false when it already was (the
/// deadline scan got there first), so the caller does not count it again.
pub async fn count_reminder(db: &Db, c: &mut Connection, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let sql = "update notification set timeliness_counted_at = $2 where id = $1 and timeliness_counted_at is null";
    let q = sqlx::query(sql).bind(id).bind(now);
    Ok(db.observe(op::NOTIFICATION_UPDATE, sql, q.execute(c)).await?.rows_affected() == 1)
}

/// Outbox depth, age of the oldest pending notification (ms, 0 when none) and dead
/// notifications: the outbox gauges.
pub async fn outbox_stats(db: &Db, c: &mut Connection, now: i64) -> Result<(i64, i64, i64), sqlx::Error> {
    let sql = "select count(*), coalesce(min(created_at), 0) from notification where status = 'pending'";
    let (pending, oldest): (i64, i64) =
        db.observe(op::NOTIFICATION_COUNT, sql, sqlx::query_as(sql).fetch_one(&mut *c)).await?;
    let sql = "select count(*) from notification where status = 'dead'";
    let dead: i64 = db.observe(op::NOTIFICATION_COUNT, sql, sqlx::query_scalar(sql).fetch_one(c)).await?;
    Ok((pending, if pending > 0 { (now - oldest).max(0) } else { 0 }, dead))
}

/// A named server-wide secret, created at random by whichever replica asks first.
pub async fn server_secret(
    db: &Db,
    c: &mut Connection,
    name: &str,
    fresh: &str,
    now: i64,
) -> Result<String, sqlx::Error> {
    let sql = "insert into server_secret (name, value, created_at) values ($1, $2, $3) on conflict (name) do nothing";
    db.observe(op::SERVER_SECRET_GET, sql, sqlx::query(sql).bind(name).bind(fresh).bind(now).execute(&mut *c)).await?;
    let sql = "select value from server_secret where name = $1";
    db.observe(op::SERVER_SECRET_GET, sql, sqlx::query_scalar(sql).bind(name).fetch_one(c)).await
}
