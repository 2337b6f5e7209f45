//! Failed sign-ins, kept in the database so every replica sees the same count.

use super::Connection;
use crate::db::{op, Db};

/// Failures of `subject` since `since`, and the time of the oldest of them.
pub async fn failures_since(
    db: &Db,
    c: &mut Connection,
    subject: &str,
    since: i64,
) -> Result<(i64, Option<i64>), sqlx::Error> {
    let sql = "select count(*), min(created_at) from login_failure where subject = $1 and created_at > $2";
    db.observe(op::LOGIN_FAILURE_COUNT, sql, sqlx::query_as(sql).bind(subject).bind(since).fetch_one(c)).await
}

pub async fn record(db: &Db, c: &mut Connection, subjects: &[&str], now: i64) -> Result<(), sqlx::Error> {
    let sql = "insert into login_failure (subject, created_at) values ($1, $2)";
    for s in subjects {
        db.observe(op::LOGIN_FAILURE_WRITE, sql, sqlx::query(sql).bind(*s).bind(now).execute(&mut *c)).await?;
    }
    Ok(())
}

pub async fn clear(db: &Db, c: &mut Connection, subject: &str) -> Result<(), sqlx::Error> {
    let sql = "delete from login_failure where subject = $1";
    db.observe(op::LOGIN_FAILURE_WRITE, sql, sqlx::query(sql).bind(subject).execute(c)).await.map(|_| ())
}
