//! Typed relations between tasks: one row per relation, read from either side.

use super::Connection;
use crate::db::{op, Db};

/// A stored relation: `task_id` `kind` `other_task_id` (task 1 blocks task 2).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RelationRow {
    pub id: i64,
    pub task_id: i64,
    pub other_task_id: i64,
    /// `blocks`, `relates_to` or `duplicates`.
    pub kind: String,
    pub created_at: i64,
}

const COLUMNS: &str = "r.id, r.task_id, r.other_task_id, r.kind, r.created_at";

/// A relation as one task sees it, with the other task's title and status.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SeenRelation {
    pub id: i64,
    /// The stored kind.
    pub kind: String,
    /// 1 when the task is the relation's subject (it `blocks`), 0 when it is the object.
    pub outgoing: i64,
    pub other_id: i64,
    pub other_title: String,
    pub other_status: String,
    pub created_at: i64,
}

/// Every relation of a task, from both sides.
pub async fn for_task(db: &Db, c: &mut Connection, task_id: i64) -> Result<Vec<SeenRelation>, sqlx::Error> {
    let sql = "select r.id, r.kind, cast(1 as bigint) as outgoing, t.id as other_id, t.title as other_title, \
               t.status as other_status, r.created_at from task_relation r join task t on t.id = r.other_task_id \
               where r.task_id = $1 \
               union all \
               select r.id, r.kind, cast(0 as bigint) as outgoing, t.id as other_id, t.title as other_title, \
               t.status as other_status, r.created_at from task_relation r join task t on t.id = r.task_id \
               where r.other_task_id = $1 \
               order by kind, outgoing, other_id";
    db.observe(op::RELATION_LIST, sql, sqlx::query_as(sql).bind(task_id).fetch_all(c)).await
}

pub async fn get(db: &Db, c: &mut Connection, id: i64) -> Result<Option<RelationRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from task_relation r where r.id = $1");
    db.observe(op::RELATION_LIST, &sql, sqlx::query_as(&sql).bind(id).fetch_optional(c)).await
}

/// The relation of `kind` between two tasks, in either direction.
pub async fn between(
    db: &Db,
    c: &mut Connection,
    a: i64,
    b: i64,
    kind: &str,
) -> Result<Option<RelationRow>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from task_relation r where r.kind = $3 and \
         ((r.task_id = $1 and r.other_task_id = $2) or (r.task_id = $2 and r.other_task_id = $1))"
    );
    db.observe(op::RELATION_LIST, &sql, sqlx::query_as(&sql).bind(a).bind(b).bind(kind).fetch_optional(c)).await
}

/// Every relation whose subject is a task of the project (export).
pub async fn in_project(db: &Db, c: &mut Connection, project_id: i64) -> Result<Vec<RelationRow>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from task_relation r join task t on t.id = r.task_id where t.project_id = $1 order by r.id"
    );
    db.observe(op::RELATION_LIST, &sql, sqlx::query_as(&sql).bind(project_id).fetch_all(c)).await
}

pub async fn insert(
    db: &Db,
    c: &mut Connection,
    task_id: i64,
    other_task_id: i64,
    kind: &str,
    user_id: i64,
    now: i64,
) -> Result<RelationRow, sqlx::Error> {
    let sql = "insert into task_relation (task_id, other_task_id, kind, created_by, created_at) \
               values ($1, $2, $3, $4, $5) returning id, task_id, other_task_id, kind, created_at";
    let q = sqlx::query_as(sql).bind(task_id).bind(other_task_id).bind(kind).bind(user_id).bind(now);
    db.observe(op::RELATION_WRITE, sql, q.fetch_one(c)).await
}

pub async fn delete(db: &Db, c: &mut Connection, id: i64) -> Result<(), sqlx::Error> {
    let sql = "delete from task_relation where id = $1";
    db.observe(op::RELATION_WRITE, sql, sqlx::query(sql).bind(id).execute(c)).await.map(|_| ())
}
