//! Project memberships and roles.

use super::Connection;
use crate::db::{op, Backend, Db};

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

/// The project's owners, locked until the transaction ends on PostgreSQL, so two
/// owners demoting each other at once cannot both see the other one still there.
/// SQLite has one writer: its write transactions already run one at a time.
pub async fn lock_owners(db: &Db, c: &mut Connection, project_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    let lock = if db.backend == Backend::Postgres { " for update" } else { "" };
    let sql =
        format!("select user_id from project_member where project_id = $1 and role = 'owner' order by user_id{lock}");
    db.observe(op::MEMBER_GET, &sql, sqlx::query_scalar(&sql).bind(project_id).fetch_all(c)).await
}

/// Adds `user_id` as an owner, or makes the member an owner (administrators repairing a
/// project that has none).
pub async fn make_owner(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    user_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let sql = "insert into project_member (project_id, user_id, role, created_at) values ($1, $2, 'owner', $3) \
               on conflict (project_id, user_id) do update set role = 'owner'";
    db.observe(op::MEMBER_WRITE, sql, sqlx::query(sql).bind(project_id).bind(user_id).bind(now).execute(c))
        .await
        .map(|_| ())
}

/// Moves every task of the project assigned to `from` to `to` (`None`: unassigned),
/// when `from` leaves the project. Returns the ids of the tasks it changed.
pub async fn reassign_tasks(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    from: i64,
    to: Option<i64>,
    now: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let select = "select id from task where project_id = $1 and assignee_id = $2 order by id";
    let ids: Vec<i64> = db
        .observe(op::TASK_LIST, select, sqlx::query_scalar(select).bind(project_id).bind(from).fetch_all(&mut *c))
        .await?;
    if !ids.is_empty() {
        let sql = "update task set assignee_id = $3, updated_at = $4, version = version + 1 \
                   where project_id = $1 and assignee_id = $2";
        let q = sqlx::query(sql).bind(project_id).bind(from).bind(to).bind(now);
        db.observe(op::TASK_UPDATE, sql, q.execute(c)).await?;
    }
    Ok(ids)
}
