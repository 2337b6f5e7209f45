//! Labels, per project.

use super::Connection;
use crate::db::{op, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LabelRow {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub color: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, project_id, name, color, created_at";

pub async fn insert(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    name: &str,
    color: &str,
    now: i64,
) -> Result<LabelRow, sqlx::Error> {
    let sql = format!(
        "insert into label (project_id, name, name_normalized, color, created_at) values ($1, $2, $3, $4, $5) returning {COLUMNS}"
    );
    db.observe(
        op::LABEL_WRITE,
        &sql,
        sqlx::query_as(&sql).bind(project_id).bind(name).bind(name.to_lowercase()).bind(color).bind(now).fetch_one(c),
    )
    .await
}

pub async fn list(db: &Db, c: &mut Connection, project_id: i64) -> Result<Vec<LabelRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from label where project_id = $1 order by name_normalized, id");
    db.observe(op::LABEL_LIST, &sql, sqlx::query_as(&sql).bind(project_id).fetch_all(c)).await
}

pub async fn get(db: &Db, c: &mut Connection, project_id: i64, id: i64) -> Result<Option<LabelRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from label where project_id = $1 and id = $2");
    db.observe(op::LABEL_GET, &sql, sqlx::query_as(&sql).bind(project_id).bind(id).fetch_optional(c)).await
}

pub async fn update(
    db: &Db,
    c: &mut Connection,
    id: i64,
    name: Option<&str>,
    color: Option<&str>,
) -> Result<(), sqlx::Error> {
    let sql = "update label set name = coalesce($2, name), name_normalized = coalesce($3, name_normalized), color = coalesce($4, color) where id = $1";
    db.observe(
        op::LABEL_WRITE,
        sql,
        sqlx::query(sql).bind(id).bind(name).bind(name.map(str::to_lowercase)).bind(color).execute(c),
    )
    .await
    .map(|_| ())
}

pub async fn delete(db: &Db, c: &mut Connection, id: i64) -> Result<(), sqlx::Error> {
    let sql = "delete from label where id = $1";
    db.observe(op::LABEL_WRITE, sql, sqlx::query(sql).bind(id).execute(c)).await.map(|_| ())
}

/// How many of `ids` are labels of the project (to validate a task's label list).
pub async fn count_in_project(db: &Db, c: &mut Connection, project_id: i64, ids: &[i64]) -> Result<i64, sqlx::Error> {
    if ids.is_empty() {
        return Ok(0);
    }
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!("select count(*) from label where project_id = $1 and id in ({})", placeholders.join(", "));
    let mut q = sqlx::query_scalar(&sql).bind(project_id);
    for id in ids {
        q = q.bind(*id);
    }
    db.observe(op::LABEL_GET, &sql, q.fetch_one(c)).await
}
