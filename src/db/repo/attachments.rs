//! Attachment rows: what a stored file is and which task it belongs to.

use super::Connection;
use crate::db::{op, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentRow {
    pub id: i64,
    pub task_id: i64,
    pub uploader_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, task_id, uploader_id, filename, content_type, size_bytes, sha256, storage_key, created_at";

pub struct NewAttachment<'a> {
    pub task_id: i64,
    pub uploader_id: i64,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub storage_key: &'a str,
}

pub async fn insert(
    db: &Db,
    c: &mut Connection,
    a: &NewAttachment<'_>,
    now: i64,
) -> Result<AttachmentRow, sqlx::Error> {
    let sql = format!(
        "insert into attachment (task_id, uploader_id, filename, content_type, size_bytes, sha256, storage_key, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning {COLUMNS}"
    );
    let q = sqlx::query_as(&sql)
        .bind(a.task_id)
        .bind(a.uploader_id)
        .bind(a.filename)
        .bind(a.content_type)
        .bind(a.size_bytes)
        .bind(a.sha256)
        .bind(a.storage_key)
        .bind(now);
    db.observe(op::ATTACHMENT_WRITE, &sql, q.fetch_one(c)).await
}

/// Bytes stored by one uploader, and in the project of one task: what the upload
/// quotas count.
pub async fn usage(db: &Db, c: &mut Connection, uploader_id: i64, task_id: i64) -> Result<(i64, i64), sqlx::Error> {
    let sql = "select cast(coalesce((select sum(size_bytes) from attachment where uploader_id = $1), 0) as bigint), \
               cast(coalesce((select sum(a.size_bytes) from attachment a join task t on t.id = a.task_id \
               where t.project_id = (select project_id from task where id = $2)), 0) as bigint)";
    db.observe(op::ATTACHMENT_LIST, sql, sqlx::query_as(sql).bind(uploader_id).bind(task_id).fetch_one(c)).await
}

pub async fn list(db: &Db, c: &mut Connection, task_id: i64) -> Result<Vec<AttachmentRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from attachment where task_id = $1 order by id");
    db.observe(op::ATTACHMENT_LIST, &sql, sqlx::query_as(&sql).bind(task_id).fetch_all(c)).await
}

pub async fn get(db: &Db, c: &mut Connection, task_id: i64, id: i64) -> Result<Option<AttachmentRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from attachment where task_id = $1 and id = $2");
    db.observe(op::ATTACHMENT_LIST, &sql, sqlx::query_as(&sql).bind(task_id).bind(id).fetch_optional(c)).await
}

pub async fn delete(db: &Db, c: &mut Connection, id: i64) -> Result<(), sqlx::Error> {
    let sql = "delete from attachment where id = $1";
    db.observe(op::ATTACHMENT_WRITE, sql, sqlx::query(sql).bind(id).execute(c)).await.map(|_| ())
}

/// Storage keys of a task's files, read before the task is deleted (the rows go with
/// it by cascade; the files are deleted after the commit).
pub async fn keys_of_task(db: &Db, c: &mut Connection, task_id: i64) -> Result<Vec<String>, sqlx::Error> {
    let sql = "select storage_key from attachment where task_id = $1";
    db.observe(op::ATTACHMENT_LIST, sql, sqlx::query_scalar(sql).bind(task_id).fetch_all(c)).await
}

/// Storage keys of every file of a project's tasks.
pub async fn keys_of_project(db: &Db, c: &mut Connection, project_id: i64) -> Result<Vec<String>, sqlx::Error> {
    let sql = "select a.storage_key from attachment a join task t on t.id = a.task_id where t.project_id = $1";
    db.observe(op::ATTACHMENT_LIST, sql, sqlx::query_scalar(sql).bind(project_id).fetch_all(c)).await
}

/// Of the given keys, those that have a row.
pub async fn known_keys(db: &Db, c: &mut Connection, keys: &[String]) -> Result<Vec<String>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(vec![]);
    }
    let placeholders: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
    let sql = format!("select storage_key from attachment where storage_key in ({})", placeholders.join(", "));
    let mut q = sqlx::query_scalar(&sql);
    for k in keys {
        q = q.bind(k.as_str());
    }
    db.observe(op::ATTACHMENT_SWEEP, &sql, q.fetch_all(c)).await
}

/// Deletes rows whose task no longer exists (the foreign key makes this a safety net)
/// and returns their storage keys.
pub async fn delete_dangling(db: &Db, c: &mut Connection) -> Result<Vec<String>, sqlx::Error> {
    let sql = "delete from attachment where not exists (select 1 from task t where t.id = attachment.task_id) \
               returning storage_key";
    db.observe(op::ATTACHMENT_SWEEP, sql, sqlx::query_scalar(sql).fetch_all(c)).await
}
