//! Project memberships and roles.

use super::Connection;
use crate::db::{op, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub created_at: i64,
}

pub async fn role_of(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    user_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let sql = "select role from project_member where project_id = $1 and user_id = $2";
    db.observe(op::MEMBER_GET, sql, sqlx::query_scalar(sql).bind(project_id).bind(user_id).fetch_optional(c)).await
}

pub async fn list(db: &Db, c: &mut Connection, project_id: i64) -> Result<Vec<MemberRow>, sqlx::Error> {
    let sql = "select m.user_id, u.email, u.display_name, m.role, m.created_at from project_member m \
               join app_user u on u.id = m.user_id where m.project_id = $1 order by m.created_at, m.user_id";
    db.observe(op::MEMBER_LIST, sql, sqlx::query_as(sql).bind(project_id).fetch_all(c)).await
}

pub async fn get(db: &Db, c: &mut Connection, project_id: i64, user_id: i64) -> Result<Option<MemberRow>, sqlx::Error> {
    let sql = "select m.user_id, u.email, u.display_name, m.role, m.created_at from project_member m \
               join app_user u on u.id = m.user_id where m.project_id = $1 and m.user_id = $2";
    db.observe(op::MEMBER_GET, sql, sqlx::query_as(sql).bind(project_id).bind(user_id).fetch_optional(c)).await
}

pub async fn insert(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    user_id: i64,
    role: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let sql = "insert into project_member (project_id, user_id, role, created_at) values ($1, $2, $3, $4)";
    db.observe(op::MEMBER_WRITE, sql, sqlx::query(sql).bind(project_id).bind(user_id).bind(role).bind(now).execute(c))
        .await
        .map(|_| ())
}

pub async fn set_role(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    user_id: i64,
    role: &str,
) -> Result<(), sqlx::Error> {
    let sql = "update project_member set role = $3 where project_id = $1 and user_id = $2";
    db.observe(op::MEMBER_WRITE, sql, sqlx::query(sql).bind(project_id).bind(user_id).bind(role).execute(c))
        .await
        .map(|_| ())
}

pub async fn remove(db: &Db, c: &mut Connection, project_id: i64, user_id: i64) -> Result<(), sqlx::Error> {
    let sql = "delete from project_member where project_id = $1 and user_id = $2";
    db.observe(op::MEMBER_WRITE, sql, sqlx::query(sql).bind(project_id).bind(user_id).execute(c)).await.map(|_| ())
}

pub async fn owner_count(db: &Db, c: &mut Connection, project_id: i64) -> Result<i64, sqlx::Error> {
    let sql = "select count(*) from project_member where project_id = $1 and role = 'owner'";
    db.observe(op::MEMBER_GET, sql, sqlx::query_scalar(sql).bind(project_id).fetch_one(c)).await
}
