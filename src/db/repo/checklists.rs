//! Checklist items of tasks.

use super::Connection;
use crate::db::{op, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    pub id: i64,
    pub task_id: i64,
    pub text: String,
    /// 0 or 1.
    pub done: i64,
    pub position: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, task_id, text, done, position, created_at, updated_at";

pub async fn list(db: &Db, c: &mut Connection, task_id: i64) -> Result<Vec<ItemRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from checklist_item where task_id = $1 order by position, id");
    db.observe(op::CHECKLIST_LIST, &sql, sqlx::query_as(&sql).bind(task_id).fetch_all(c)).await
}

pub async fn get(db: &Db, c: &mut Connection, task_id: i64, id: i64) -> Result<Option<ItemRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from checklist_item where task_id = $1 and id = $2");
    db.observe(op::CHECKLIST_LIST, &sql, sqlx::query_as(&sql).bind(task_id).bind(id).fetch_optional(c)).await
}

/// The last position of the task's list, to append after it.
pub async fn last_position(db: &Db, c: &mut Connection, task_id: i64) -> Result<Option<String>, sqlx::Error> {
    let sql = "select max(position) from checklist_item where task_id = $1";
    db.observe(op::CHECKLIST_LIST, sql, sqlx::query_scalar(sql).bind(task_id).fetch_one(c)).await
}

pub async fn insert(
    db: &Db,
    c: &mut Connection,
    task_id: i64,
    text: &str,
    position: &str,
    now: i64,
) -> Result<ItemRow, sqlx::Error> {
    let sql = format!(
        "insert into checklist_item (task_id, text, done, position, created_at, updated_at) \
         values ($1, $2, 0, $3, $4, $4) returning {COLUMNS}"
    );
    let q = sqlx::query_as(&sql).bind(task_id).bind(text).bind(position).bind(now);
    db.observe(op::CHECKLIST_WRITE, &sql, q.fetch_one(c)).await
}

pub async fn update(
    db: &Db,
    c: &mut Connection,
    id: i64,
    text: &str,
    done: bool,
    now: i64,
) -> Result<ItemRow, sqlx::Error> {
    let sql =
        format!("update checklist_item set text = $2, done = $3, updated_at = $4 where id = $1 returning {COLUMNS}");
    let q = sqlx::query_as(&sql).bind(id).bind(text).bind(i64::from(done)).bind(now);
    db.observe(op::CHECKLIST_WRITE, &sql, q.fetch_one(c)).await
}

pub async fn delete(db: &Db, c: &mut Connection, id: i64) -> Result<(), sqlx::Error> {
    let sql = "delete from checklist_item where id = $1";
    db.observe(op::CHECKLIST_WRITE, sql, sqlx::query(sql).bind(id).execute(c)).await.map(|_| ())
}

/// (task id, done, total) for the tasks that have a checklist.
pub async fn progress(db: &Db, c: &mut Connection, task_ids: &[i64]) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    if task_ids.is_empty() {
        return Ok(vec![]);
    }
    let placeholders: Vec<String> = (1..=task_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "select task_id, cast(sum(done) as bigint), cast(count(*) as bigint) from checklist_item \
         where task_id in ({}) group by task_id",
        placeholders.join(", ")
    );
    let mut q = sqlx::query_as(&sql);
    for id in task_ids {
        q = q.bind(*id);
    }
    db.observe(op::CHECKLIST_LIST, &sql, q.fetch_all(c)).await
}
