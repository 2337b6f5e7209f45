//! Comments on tasks.

use super::Connection;
use crate::db::{op, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommentRow {
    pub id: i64,
    pub task_id: i64,
    pub author_id: i64,
    pub author_name: String,
    pub body: String,
    pub created_at: i64,
}

pub async fn insert(
    db: &Db,
    c: &mut Connection,
    task_id: i64,
    author_id: i64,
    body: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let sql = "insert into comment (task_id, author_id, body, created_at) values ($1, $2, $3, $4) returning id";
    db.observe(
        op::COMMENT_INSERT,
        sql,
        sqlx::query_scalar(sql).bind(task_id).bind(author_id).bind(body).bind(now).fetch_one(c),
    )
    .await
}

const SELECT: &str = "select c.id, c.task_id, c.author_id, u.display_name as author_name, c.body, c.created_at \
                      from comment c join app_user u on u.id = c.author_id";

pub async fn get(db: &Db, c: &mut Connection, task_id: i64, id: i64) -> Result<Option<CommentRow>, sqlx::Error> {
    let sql = format!("{SELECT} where c.task_id = $1 and c.id = $2");
    db.observe(op::COMMENT_LIST, &sql, sqlx::query_as(&sql).bind(task_id).bind(id).fetch_optional(c)).await
}

pub async fn list(db: &Db, c: &mut Connection, task_id: i64) -> Result<Vec<CommentRow>, sqlx::Error> {
    let sql = format!("{SELECT} where c.task_id = $1 order by c.id");
    db.observe(op::COMMENT_LIST, &sql, sqlx::query_as(&sql).bind(task_id).fetch_all(c)).await
}

pub async fn delete(db: &Db, c: &mut Connection, id: i64) -> Result<(), sqlx::Error> {
    let sql = "delete from comment where id = $1";
    db.observe(op::COMMENT_DELETE, sql, sqlx::query(sql).bind(id).execute(c)).await.map(|_| ())
}
