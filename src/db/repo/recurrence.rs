//! Recurring tasks: a task's rule and series start, the link from a completed
//! occurrence to its successor, and what a successor copies.

use super::Connection;
use crate::db::{op, Db};

/// Sets (or with `None`, clears) a task's rule and the first due date of its series.
/// The caller's task update bumps the version.
pub async fn set_rule(
    db: &Db,
    c: &mut Connection,
    task_id: i64,
    rule: Option<&str>,
    start: Option<i64>,
) -> Result<(), sqlx::Error> {
    let sql = "update task set recurrence = $2, recurrence_start = $3 where id = $1";
    db.observe(op::TASK_UPDATE, sql, sqlx::query(sql).bind(task_id).bind(rule).bind(start).execute(c)).await.map(|_| ())
}

/// Links a completed occurrence to its successor, once: false when it already has
/// one (the guard against completing the same occurrence twice).
pub async fn link_successor(db: &Db, c: &mut Connection, task_id: i64, next_id: i64) -> Result<bool, sqlx::Error> {
    let sql = "update task set recurrence_next_id = $2 where id = $1 and recurrence_next_id is null";
    let r = db.observe(op::TASK_UPDATE, sql, sqlx::query(sql).bind(task_id).bind(next_id).execute(c)).await?;
    Ok(r.rows_affected() == 1)
}

/// Copies a task's checklist to its successor, every item open again.
pub async fn copy_checklist(db: &Db, c: &mut Connection, from: i64, to: i64, now: i64) -> Result<(), sqlx::Error> {
    let sql = "insert into checklist_item (task_id, text, done, position, created_at, updated_at) \
               select $2, text, 0, position, $3, $3 from checklist_item where task_id = $1 order by position, id";
    db.observe(op::CHECKLIST_WRITE, sql, sqlx::query(sql).bind(from).bind(to).bind(now).execute(c)).await.map(|_| ())
}

/// The IANA time zone name of an account.
pub async fn time_zone(db: &Db, c: &mut Connection, user_id: i64) -> Result<Option<String>, sqlx::Error> {
    let sql = "select time_zone from app_user where id = $1";
    db.observe(op::USER_GET, sql, sqlx::query_scalar(sql).bind(user_id).fetch_optional(c)).await
}
