//! Subtasks: a task's `parent_id` and the tree below a task. Trees are shallow (the
//! API limits the depth), so walking them one level per query stays cheap.

use super::Connection;
use crate::db::{op, Backend, Db};

/// A task as a link: what a parent shows of its subtasks and a relation of its other task.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskLink {
    pub id: i64,
    pub project_id: i64,
    pub parent_id: Option<i64>,
    pub title: String,
    pub status: String,
}

const LINK_COLUMNS: &str = "t.id, t.project_id, t.parent_id, t.title, t.status";

/// One task as a link, whoever can see it (callers check the project).
pub async fn link(db: &Db, c: &mut Connection, id: i64) -> Result<Option<TaskLink>, sqlx::Error> {
    let sql = format!("select {LINK_COLUMNS} from task t where t.id = $1");
    db.observe(op::SUBTASK_LIST, &sql, sqlx::query_as(&sql).bind(id).fetch_optional(c)).await
}

/// The direct subtasks of some tasks, in board order.
pub async fn children(db: &Db, c: &mut Connection, parent_ids: &[i64]) -> Result<Vec<TaskLink>, sqlx::Error> {
    if parent_ids.is_empty() {
        return Ok(vec![]);
    }
    let placeholders: Vec<String> = (1..=parent_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "select {LINK_COLUMNS} from task t where t.parent_id in ({}) order by t.status, t.position, t.id",
        placeholders.join(", ")
    );
    let mut q = sqlx::query_as(&sql);
    for id in parent_ids {
        q = q.bind(*id);
    }
    db.observe(op::SUBTASK_LIST, &sql, q.fetch_all(c)).await
}

/// Every task below `id`, level by level (at most `max_levels` levels).
pub async fn descendants(
    db: &Db,
    c: &mut Connection,
    id: i64,
    max_levels: usize,
) -> Result<Vec<Vec<TaskLink>>, sqlx::Error> {
    let mut levels: Vec<Vec<TaskLink>> = vec![];
    let mut frontier = vec![id];
    while levels.len() < max_levels && !frontier.is_empty() {
        let level = children(db, c, &frontier).await?;
        frontier = level.iter().map(|t| t.id).collect();
        if !level.is_empty() {
            levels.push(level);
        }
    }
    Ok(levels)
}

/// Sets a task's parent without touching its version: the caller's update of the
/// task's fields (or its insert) already counts as the change.
pub async fn set_parent(db: &Db, c: &mut Connection, id: i64, parent_id: Option<i64>) -> Result<(), sqlx::Error> {
    let sql = "update task set parent_id = $2 where id = $1";
    db.observe(op::SUBTASK_WRITE, sql, sqlx::query(sql).bind(id).bind(parent_id).execute(c)).await.map(|_| ())
}

/// (parent id, done, total) of the direct subtasks of the tasks that have some.
pub async fn counts(db: &Db, c: &mut Connection, parent_ids: &[i64]) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    if parent_ids.is_empty() {
        return Ok(vec![]);
    }
    let placeholders: Vec<String> = (1..=parent_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "select parent_id, cast(sum(case when status = 'done' then 1 else 0 end) as bigint), \
         cast(count(*) as bigint) from task where parent_id in ({}) group by parent_id",
        placeholders.join(", ")
    );
    let mut q = sqlx::query_as(&sql);
    for id in parent_ids {
        q = q.bind(*id);
    }
    db.observe(op::SUBTASK_LIST, &sql, q.fetch_all(c)).await
}

/// Serialises changes to a project's task tree and relations on PostgreSQL, so two
/// concurrent requests cannot build a cycle or the same relation between them (SQLite
/// serialises writers already). `no key update` leaves task inserts, which only need
/// a key-share lock on the project, unblocked.
pub async fn lock_project(db: &Db, c: &mut Connection, project_id: i64) -> Result<(), sqlx::Error> {
    if db.backend != Backend::Postgres {
        return Ok(());
    }
    let sql = "select id from project where id = $1 for no key update";
    db.observe(op::SUBTASK_WRITE, sql, sqlx::query_scalar::<_, i64>(sql).bind(project_id).fetch_optional(c))
        .await
        .map(|_| ())
}
