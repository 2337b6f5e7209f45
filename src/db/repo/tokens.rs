//! Personal API tokens. Only a SHA-256 of the secret is stored.

use super::Connection;
use crate::db::{op, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, name, prefix, scope, created_at, expires_at, last_used_at, revoked_at";

pub struct NewToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub scope: &'a str,
    pub expires_at: Option<i64>,
    pub now: i64,
}

pub async fn insert(db: &Db, c: &mut Connection, t: NewToken<'_>) -> Result<TokenRow, sqlx::Error> {
    let sql = format!(
        "insert into api_token (user_id, name, prefix, secret_hash, scope, created_at, expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7) returning {COLUMNS}"
    );
    db.observe(
        op::TOKEN_INSERT,
        &sql,
        sqlx::query_as(&sql)
            .bind(t.user_id)
            .bind(t.name)
            .bind(t.prefix)
            .bind(t.secret_hash)
            .bind(t.scope)
            .bind(t.now)
            .bind(t.expires_at)
            .fetch_one(c),
    )
    .await
}

pub async fn list_for_user(db: &Db, c: &mut Connection, user_id: i64) -> Result<Vec<TokenRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from api_token where user_id = $1 order by id desc");
    db.observe(op::TOKEN_LIST, &sql, sqlx::query_as(&sql).bind(user_id).fetch_all(c)).await
}

/// Revokes one of the user's tokens; false when it is not theirs or already revoked.
pub async fn revoke(db: &Db, c: &mut Connection, user_id: i64, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let sql = "update api_token set revoked_at = $3 where id = $1 and user_id = $2 and revoked_at is null";
    let r = db.observe(op::TOKEN_UPDATE, sql, sqlx::query(sql).bind(id).bind(user_id).bind(now).execute(c)).await?;
    Ok(r.rows_affected() == 1)
}

/// Records use at most once a minute per token, to keep reads cheap.
pub async fn touch(db: &Db, c: &mut Connection, id: i64, now: i64) -> Result<(), sqlx::Error> {
    let sql =
        "update api_token set last_used_at = $2 where id = $1 and (last_used_at is null or last_used_at < $2 - 60000)";
    db.observe(op::TOKEN_UPDATE, sql, sqlx::query(sql).bind(id).bind(now).execute(c)).await.map(|_| ())
}
