//! Browser sessions, stored in the database so any replica serves any request.

use super::Connection;
use crate::db::{op, Db};

pub async fn insert(
    db: &Db,
    c: &mut Connection,
    token_hash: &str,
    user_id: i64,
    csrf: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    let sql =
        "insert into session (token_hash, user_id, csrf_token, created_at, expires_at) values ($1, $2, $3, $4, $5)";
    db.observe(
        op::SESSION_INSERT,
        sql,
        sqlx::query(sql).bind(token_hash).bind(user_id).bind(csrf).bind(now).bind(expires_at).execute(c),
    )
    .await
    .map(|_| ())
}

pub async fn delete(db: &Db, c: &mut Connection, token_hash: &str) -> Result<(), sqlx::Error> {
    let sql = "delete from session where token_hash = $1";
    db.observe(op::SESSION_DELETE, sql, sqlx::query(sql).bind(token_hash).execute(c)).await.map(|_| ())
}

/// Signs a user out everywhere except, optionally, one session (password change).
pub async fn delete_for_user(db: &Db, c: &mut Connection, user_id: i64, keep: Option<&str>) -> Result<(), sqlx::Error> {
    let sql = "delete from session where user_id = $1 and token_hash <> coalesce($2, '')";
    db.observe(op::SESSION_DELETE, sql, sqlx::query(sql).bind(user_id).bind(keep).execute(c)).await.map(|_| ())
}
