//! Accounts.

use super::Connection;
use crate::db::{op, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub time_zone: String,
    /// 0 or 1.
    pub is_admin: i64,
    /// 0 or 1.
    pub disabled: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, email, display_name, password_hash, time_zone, is_admin, disabled, created_at, updated_at";

pub struct NewUser<'a> {
    pub email: &'a str,
    pub email_normalized: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub time_zone: &'a str,
    pub is_admin: bool,
    pub now: i64,
}

pub async fn insert(db: &Db, c: &mut Connection, u: NewUser<'_>) -> Result<UserRow, sqlx::Error> {
    let sql = format!(
        "insert into app_user (email, email_normalized, display_name, password_hash, time_zone, is_admin, disabled, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, 0, $7, $7) returning {COLUMNS}"
    );
    db.observe(
        op::USER_INSERT,
        &sql,
        sqlx::query_as(&sql)
            .bind(u.email)
            .bind(u.email_normalized)
            .bind(u.display_name)
            .bind(u.password_hash)
            .bind(u.time_zone)
            .bind(i64::from(u.is_admin))
            .bind(u.now)
            .fetch_one(c),
    )
    .await
}

pub async fn by_id(db: &Db, c: &mut Connection, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from app_user where id = $1");
    db.observe(op::USER_GET, &sql, sqlx::query_as(&sql).bind(id).fetch_optional(c)).await
}

pub async fn by_email(db: &Db, c: &mut Connection, email_normalized: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from app_user where email_normalized = $1");
    db.observe(op::USER_GET, &sql, sqlx::query_as(&sql).bind(email_normalized).fetch_optional(c)).await
}

pub async fn list(db: &Db, c: &mut Connection) -> Result<Vec<UserRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from app_user order by id");
    db.observe(op::USER_LIST, &sql, sqlx::query_as(&sql).fetch_all(c)).await
}

/// Profile fields; `None` leaves a field as it is.
pub async fn update_profile(
    db: &Db,
    c: &mut Connection,
    id: i64,
    display_name: Option<&str>,
    time_zone: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let sql = "update app_user set display_name = coalesce($2, display_name), time_zone = coalesce($3, time_zone), updated_at = $4 where id = $1";
    db.observe(op::USER_UPDATE, sql, sqlx::query(sql).bind(id).bind(display_name).bind(time_zone).bind(now).execute(c))
        .await
        .map(|_| ())
}

pub async fn set_password(db: &Db, c: &mut Connection, id: i64, hash: &str, now: i64) -> Result<(), sqlx::Error> {
    let sql = "update app_user set password_hash = $2, updated_at = $3 where id = $1";
    db.observe(op::USER_UPDATE, sql, sqlx::query(sql).bind(id).bind(hash).bind(now).execute(c)).await.map(|_| ())
}

pub async fn set_flags(
    db: &Db,
    c: &mut Connection,
    id: i64,
    disabled: Option<bool>,
    is_admin: Option<bool>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let sql = "update app_user set disabled = coalesce($2, disabled), is_admin = coalesce($3, is_admin), updated_at = $4 where id = $1";
    let done = db
        .observe(
            op::USER_UPDATE,
            sql,
            sqlx::query(sql).bind(id).bind(disabled.map(i64::from)).bind(is_admin.map(i64::from)).bind(now).execute(c),
        )
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The account behind a live session, with the session's CSRF token: one query per
/// authenticated request.
pub async fn by_session(
    db: &Db,
    c: &mut Connection,
    token_hash: &str,
    now: i64,
) -> Result<Option<(UserRow, String)>, sqlx::Error> {
    let sql =
        "select u.id, u.email, u.display_name, u.password_hash, u.time_zone, u.is_admin, u.disabled, u.created_at, \
               u.updated_at, s.csrf_token from session s join app_user u on u.id = s.user_id \
               where s.token_hash = $1 and s.expires_at > $2";
    let row: Option<WithExtra> =
        db.observe(op::SESSION_GET, sql, sqlx::query_as(sql).bind(token_hash).bind(now).fetch_optional(c)).await?;
    Ok(row.map(|r| (r.user, r.csrf_token)))
}

#[derive(sqlx::FromRow)]
struct WithExtra {
    #[sqlx(flatten)]
    user: UserRow,
    csrf_token: String,
}

/// The account behind an API token (by the hash of its secret), with the token: one
/// query per authenticated request.
pub async fn by_token(
    db: &Db,
    c: &mut Connection,
    secret_hash: &str,
) -> Result<Option<(UserRow, super::tokens::TokenRow)>, sqlx::Error> {
    let sql = "select u.id, u.email, u.display_name, u.password_hash, u.time_zone, u.is_admin, u.disabled, u.created_at, \
               u.updated_at, t.id as token_id, t.name as token_name, t.prefix as token_prefix, t.scope as token_scope, \
               t.created_at as token_created_at, t.expires_at as token_expires_at, t.last_used_at as token_last_used_at, \
               t.revoked_at as token_revoked_at from api_token t join app_user u on u.id = t.user_id where t.secret_hash = $1";
    let row: Option<WithToken> =
        db.observe(op::TOKEN_GET, sql, sqlx::query_as(sql).bind(secret_hash).fetch_optional(c)).await?;
    Ok(row.map(|r| {
        let token = super::tokens::TokenRow {
            id: r.token_id,
            user_id: r.user.id,
            name: r.token_name,
            prefix: r.token_prefix,
            scope: r.token_scope,
            created_at: r.token_created_at,
            expires_at: r.token_expires_at,
            last_used_at: r.token_last_used_at,
            revoked_at: r.token_revoked_at,
        };
        (r.user, token)
    }))
}

#[derive(sqlx::FromRow)]
struct WithToken {
    #[sqlx(flatten)]
    user: UserRow,
    token_id: i64,
    token_name: String,
    token_prefix: String,
    token_scope: String,
    token_created_at: i64,
    token_expires_at: Option<i64>,
    token_last_used_at: Option<i64>,
    token_revoked_at: Option<i64>,
}
