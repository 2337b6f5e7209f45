//! Idempotency keys: the first response to a create request, replayed for retries.

use super::Connection;
use crate::db::{op, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub request_hash: String,
    pub status_code: Option<i64>,
    pub response_body: Option<String>,
    pub etag: Option<String>,
    pub created_at: i64,
}

pub async fn get(
    db: &Db,
    c: &mut Connection,
    user_id: i64,
    key: &str,
    now: i64,
) -> Result<Option<KeyRow>, sqlx::Error> {
    let sql = "select request_hash, status_code, response_body, etag, created_at from idempotency_key where user_id = $1 and key = $2 and expires_at > $3";
    db.observe(op::IDEMPOTENCY_GET, sql, sqlx::query_as(sql).bind(user_id).bind(key).bind(now).fetch_optional(c)).await
}

/// Claims a key for a request in progress; false when someone holds it already.
/// An expired key is replaced.
pub async fn claim(
    db: &Db,
    c: &mut Connection,
    user_id: i64,
    key: &str,
    hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    let sql = "delete from idempotency_key where user_id = $1 and key = $2 and expires_at <= $3";
    db.observe(op::IDEMPOTENCY_WRITE, sql, sqlx::query(sql).bind(user_id).bind(key).bind(now).execute(&mut *c)).await?;
    let sql =
        "insert into idempotency_key (user_id, key, request_hash, created_at, expires_at) values ($1, $2, $3, $4, $5) \
               on conflict (user_id, key) do nothing";
    let r = db
        .observe(
            op::IDEMPOTENCY_WRITE,
            sql,
            sqlx::query(sql).bind(user_id).bind(key).bind(hash).bind(now).bind(expires_at).execute(c),
        )
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn complete(
    db: &Db,
    c: &mut Connection,
    user_id: i64,
    key: &str,
    status: i64,
    body: &str,
    etag: Option<&str>,
) -> Result<(), sqlx::Error> {
    let sql =
        "update idempotency_key set status_code = $3, response_body = $4, etag = $5 where user_id = $1 and key = $2";
    let q = sqlx::query(sql).bind(user_id).bind(key).bind(status).bind(body).bind(etag);
    db.observe(op::IDEMPOTENCY_WRITE, sql, q.execute(c)).await.map(|_| ())
}

pub async fn release(db: &Db, c: &mut Connection, user_id: i64, key: &str) -> Result<(), sqlx::Error> {
    let sql = "delete from idempotency_key where user_id = $1 and key = $2 and status_code is null";
    db.observe(op::IDEMPOTENCY_WRITE, sql, sqlx::query(sql).bind(user_id).bind(key).execute(c)).await.map(|_| ())
}

/// Deletes expired sessions, idempotency keys, old sign-in failures and tokens
/// expired for more than 30 days. Returns the number of rows removed.
pub async fn cleanup(db: &Db, c: &mut Connection, now: i64) -> Result<u64, sqlx::Error> {
    let mut removed = 0;
    for (sql, cutoff) in [
        ("delete from session where expires_at <= $1", now),
        ("delete from idempotency_key where expires_at <= $1", now),
        ("delete from login_failure where created_at <= $1", now - 24 * 3600 * 1000),
        ("delete from api_token where expires_at is not null and expires_at <= $1", now - 30 * 24 * 3600 * 1000),
    ] {
        removed += db.observe(op::CLEANUP, sql, sqlx::query(sql).bind(cutoff).execute(&mut *c)).await?.rows_affected();
    }
    Ok(removed)
}
