//! Projects, always read through the caller's membership.

use super::Connection;
use crate::db::{op, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// 0 or 1.
    pub archived: i64,
    pub created_by: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// The caller's role in the project.
    pub role: String,
}

const COLUMNS: &str = "p.id, p.name, p.description, p.archived, p.created_by, p.created_at, p.updated_at, m.role";

pub async fn insert(
    db: &Db,
    c: &mut Connection,
    name: &str,
    description: &str,
    user_id: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let sql = "insert into project (name, description, archived, created_by, created_at, updated_at) values ($1, $2, 0, $3, $4, $4) returning id";
    let id: i64 = db
        .observe(
            op::PROJECT_INSERT,
            sql,
            sqlx::query_scalar(sql).bind(name).bind(description).bind(user_id).bind(now).fetch_one(&mut *c),
        )
        .await?;
    let sql = "insert into project_member (project_id, user_id, role, created_at) values ($1, $2, 'owner', $3)";
    db.observe(op::MEMBER_WRITE, sql, sqlx::query(sql).bind(id).bind(user_id).bind(now).execute(c)).await?;
    Ok(id)
}

/// The project if `user_id` is a member of it.
pub async fn get_for_member(
    db: &Db,
    c: &mut Connection,
    id: i64,
    user_id: i64,
) -> Result<Option<ProjectRow>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from project p join project_member m on m.project_id = p.id and m.user_id = $2 where p.id = $1"
    );
    db.observe(op::PROJECT_GET, &sql, sqlx::query_as(&sql).bind(id).bind(user_id).fetch_optional(c)).await
}

/// Whether the project exists, whoever its members are (administrators only).
pub async fn exists(db: &Db, c: &mut Connection, id: i64) -> Result<bool, sqlx::Error> {
    let sql = "select count(*) from project where id = $1";
    let n: i64 = db.observe(op::PROJECT_GET, sql, sqlx::query_scalar(sql).bind(id).fetch_one(c)).await?;
    Ok(n > 0)
}

pub async fn list_for_member(
    db: &Db,
    c: &mut Connection,
    user_id: i64,
    include_archived: bool,
) -> Result<Vec<ProjectRow>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from project p join project_member m on m.project_id = p.id \
         where m.user_id = $1 and (p.archived = 0 or $2 = 1) order by lower(p.name), p.id"
    );
    db.observe(
        op::PROJECT_LIST,
        &sql,
        sqlx::query_as(&sql).bind(user_id).bind(i64::from(include_archived)).fetch_all(c),
    )
    .await
}

pub async fn update(
    db: &Db,
    c: &mut Connection,
    id: i64,
    name: Option<&str>,
    description: Option<&str>,
    archived: Option<bool>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let sql = "update project set name = coalesce($2, name), description = coalesce($3, description), \
               archived = coalesce($4, archived), updated_at = $5 where id = $1";
    db.observe(
        op::PROJECT_UPDATE,
        sql,
        sqlx::query(sql).bind(id).bind(name).bind(description).bind(archived.map(i64::from)).bind(now).execute(c),
    )
    .await
    .map(|_| ())
}

pub async fn delete(db: &Db, c: &mut Connection, id: i64) -> Result<(), sqlx::Error> {
    let sql = "delete from project where id = $1";
    db.observe(op::PROJECT_DELETE, sql, sqlx::query(sql).bind(id).execute(c)).await.map(|_| ())
}
