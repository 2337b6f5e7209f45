//! Sign-in and sign-up attempts, kept in the database so every replica sees the same
//! count. An attempt is written (and committed) before it is judged, so that of any
//! number of concurrent attempts each sees at least those committed before it: the
//! count cannot be raced past.

use super::Connection;
use crate::db::{op, Db};

/// Writes one attempt of `subject` at `now` and returns its id.
pub async fn reserve(db: &Db, c: &mut Connection, subject: &str, now: i64) -> Result<i64, sqlx::Error> {
    let sql = "insert into login_failure (subject, created_at) values ($1, $2) returning id";
    db.observe(op::LOGIN_FAILURE_WRITE, sql, sqlx::query_scalar(sql).bind(subject).bind(now).fetch_one(c)).await
}

/// Attempts of `subject` since `since` other than `except`: how many, the oldest and
/// the newest time.
pub async fn others_since(
    db: &Db,
    c: &mut Connection,
    subject: &str,
    since: i64,
    except: i64,
) -> Result<(i64, Option<i64>, Option<i64>), sqlx::Error> {
    let sql = "select count(*), min(created_at), max(created_at) from login_failure \
               where subject = $1 and created_at > $2 and id <> $3";
    db.observe(op::LOGIN_FAILURE_COUNT, sql, sqlx::query_as(sql).bind(subject).bind(since).bind(except).fetch_one(c))
        .await
}

/// Takes back attempts that turned out not to be failures.
pub async fn release(db: &Db, c: &mut Connection, ids: &[i64]) -> Result<(), sqlx::Error> {
    let sql = "delete from login_failure where id = $1";
    for id in ids {
        db.observe(op::LOGIN_FAILURE_WRITE, sql, sqlx::query(sql).bind(*id).execute(&mut *c)).await?;
    }
    Ok(())
}

pub async fn clear(db: &Db, c: &mut Connection, subject: &str) -> Result<(), sqlx::Error> {
    let sql = "delete from login_failure where subject = $1";
    db.observe(op::LOGIN_FAILURE_WRITE, sql, sqlx::query(sql).bind(subject).execute(c)).await.map(|_| ())
}
