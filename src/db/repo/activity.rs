//! The activity record: one row per changed field of a task.

use super::Connection;
use crate::db::{op, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityRow {
    pub id: i64,
    pub task_id: i64,
    pub actor_id: i64,
    pub actor_name: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub created_at: i64,
}

pub struct Change {
    pub field: &'static str,
    pub old: Option<String>,
    pub new: Option<String>,
}

pub async fn record(
    db: &Db,
    c: &mut Connection,
    task_id: i64,
    actor_id: i64,
    changes: &[Change],
    now: i64,
) -> Result<(), sqlx::Error> {
    let sql = "insert into activity (task_id, actor_id, field, old_value, new_value, created_at) values ($1, $2, $3, $4, $5, $6)";
    for ch in changes {
        db.observe(
            op::ACTIVITY_INSERT,
            sql,
            sqlx::query(sql)
                .bind(task_id)
                .bind(actor_id)
                .bind(ch.field)
                .bind(ch.old.as_deref())
                .bind(ch.new.as_deref())
                .bind(now)
                .execute(&mut *c),
        )
        .await?;
    }
    Ok(())
}

pub async fn list(db: &Db, c: &mut Connection, task_id: i64) -> Result<Vec<ActivityRow>, sqlx::Error> {
    let sql = "select a.id, a.task_id, a.actor_id, u.display_name as actor_name, a.field, a.old_value, a.new_value, a.created_at \
               from activity a join app_user u on u.id = a.actor_id where a.task_id = $1 order by a.id";
    db.observe(op::ACTIVITY_LIST, sql, sqlx::query_as(sql).bind(task_id).fetch_all(c)).await
}
