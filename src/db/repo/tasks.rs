//! Tasks: reads scoped by the viewer's membership, keyset-paginated listing, and
//! version-checked writes.

use super::Connection;
use crate::db::{op, Backend, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    pub id: i64,
    pub project_id: i64,
    pub title: String,
    pub description: String,
    pub status: String,
    pub priority: i64,
    pub due_at: Option<i64>,
    pub assignee_id: Option<i64>,
    pub position: String,
    pub completed_at: Option<i64>,
    pub created_by: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
    /// The task this one is a subtask of.
    pub parent_id: Option<i64>,
    /// The RRULE of a recurring task (written by `repo::recurrence`).
    pub recurrence: Option<String>,
    /// The first due date of the task's series.
    pub recurrence_start: Option<i64>,
    /// The occurrence created when this one was completed.
    pub recurrence_next_id: Option<i64>,
}

const COLUMNS: &str = "t.id, t.project_id, t.title, t.description, t.status, t.priority, t.due_at, t.assignee_id, \
                       t.position, t.completed_at, t.created_by, t.created_at, t.updated_at, t.version, \
                       t.parent_id, t.recurrence, t.recurrence_start, t.recurrence_next_id";

/// The writable state of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFields {
    pub title: String,
    pub description: String,
    pub status: String,
    pub priority: i64,
    pub due_at: Option<i64>,
    pub assignee_id: Option<i64>,
    pub position: String,
    pub completed_at: Option<i64>,
}

impl TaskFields {
    /// What `q` searches: title and description, lower-cased here rather than in SQL
    /// (SQLite's `lower` only knows ASCII).
    pub fn search_text(&self) -> String {
        format!("{}\n{}", self.title, self.description).to_lowercase()
    }
}

impl From<&TaskRow> for TaskFields {
    fn from(t: &TaskRow) -> Self {
        TaskFields {
            title: t.title.clone(),
            description: t.description.clone(),
            status: t.status.clone(),
            priority: t.priority,
            due_at: t.due_at,
            assignee_id: t.assignee_id,
            position: t.position.clone(),
            completed_at: t.completed_at,
        }
    }
}

pub async fn insert(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    f: &TaskFields,
    user_id: i64,
    now: i64,
) -> Result<TaskRow, sqlx::Error> {
    let sql = "insert into task (project_id, title, description, status, priority, due_at, assignee_id, position, \
               completed_at, created_by, created_at, updated_at, version, search_text) \
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1, $12) \
               returning id, project_id, title, description, status, priority, due_at, assignee_id, position, \
               completed_at, created_by, created_at, updated_at, version, parent_id, recurrence, recurrence_start, \
               recurrence_next_id";
    db.observe(
        op::TASK_INSERT,
        sql,
        sqlx::query_as(sql)
            .bind(project_id)
            .bind(&f.title)
            .bind(&f.description)
            .bind(&f.status)
            .bind(f.priority)
            .bind(f.due_at)
            .bind(f.assignee_id)
            .bind(&f.position)
            .bind(f.completed_at)
            .bind(user_id)
            .bind(now)
            .bind(f.search_text())
            .fetch_one(c),
    )
    .await
}

/// The task and the viewer's role in its project, if the viewer is a member. With
/// `lock`, PostgreSQL holds the row until the transaction ends (SQLite serialises
/// writers already).
pub async fn get_for_member(
    db: &Db,
    c: &mut Connection,
    id: i64,
    user_id: i64,
    lock: bool,
) -> Result<Option<(TaskRow, String)>, sqlx::Error> {
    let lock = if lock && db.backend == Backend::Postgres { " for update of t" } else { "" };
    let sql = format!(
        "select {COLUMNS}, m.role from task t join project_member m on m.project_id = t.project_id and m.user_id = $2 \
         where t.id = $1{lock}"
    );
    let row: Option<TaskWithRole> =
        db.observe(op::TASK_GET, &sql, sqlx::query_as(&sql).bind(id).bind(user_id).fetch_optional(c)).await?;
    Ok(row.map(|r| (r.task, r.role)))
}

#[derive(sqlx::FromRow)]
struct TaskWithRole {
    #[sqlx(flatten)]
    task: TaskRow,
    role: String,
}

/// A task as the API shows it: the row, the viewer's role and its label ids.
#[derive(Debug, Clone)]
pub struct MemberTask {
    pub task: TaskRow,
    pub role: String,
    /// Ascending.
    pub labels: Vec<i64>,
}

/// `get_for_member` with the task's labels folded into the same query (one round trip
/// for the most frequent read). The label ids come back as one comma-separated text
/// column, the only aggregate both dialects (and the `Any` driver) share a type for.
pub async fn get_with_labels(
    db: &Db,
    c: &mut Connection,
    id: i64,
    user_id: i64,
    lock: bool,
) -> Result<Option<MemberTask>, sqlx::Error> {
    let lock = if lock && db.backend == Backend::Postgres { " for update of t" } else { "" };
    let labels = match db.backend {
        Backend::Sqlite => "(select group_concat(tl.label_id, ',') from task_label tl where tl.task_id = t.id)",
        Backend::Postgres => "(select string_agg(tl.label_id::text, ',') from task_label tl where tl.task_id = t.id)",
    };
    let sql = format!(
        "select {COLUMNS}, m.role, {labels} as label_ids from task t \
         join project_member m on m.project_id = t.project_id and m.user_id = $2 where t.id = $1{lock}"
    );
    let row: Option<TaskWithRoleAndLabels> =
        db.observe(op::TASK_GET, &sql, sqlx::query_as(&sql).bind(id).bind(user_id).fetch_optional(c)).await?;
    Ok(row.map(|r| MemberTask { task: r.task, role: r.role, labels: parse_id_list(r.label_ids.as_deref()) }))
}

#[derive(sqlx::FromRow)]
struct TaskWithRoleAndLabels {
    #[sqlx(flatten)]
    task: TaskRow,
    role: String,
    label_ids: Option<String>,
}

/// `"3,1,2"` to `[1, 2, 3]`; no labels aggregate to NULL.
fn parse_id_list(list: Option<&str>) -> Vec<i64> {
    let mut ids: Vec<i64> = list.unwrap_or("").split(',').filter_map(|i| i.trim().parse().ok()).collect();
    ids.sort_unstable();
    ids
}

/// Writes `f` if the task is still at `expected_version`; false when it is not.
pub async fn update(
    db: &Db,
    c: &mut Connection,
    id: i64,
    expected_version: i64,
    f: &TaskFields,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let sql =
        "update task set title = $3, description = $4, status = $5, priority = $6, due_at = $7, assignee_id = $8, \
               position = $9, completed_at = $10, updated_at = $11, search_text = $12, version = version + 1 \
               where id = $1 and version = $2";
    let r = db
        .observe(
            op::TASK_UPDATE,
            sql,
            sqlx::query(sql)
                .bind(id)
                .bind(expected_version)
                .bind(&f.title)
                .bind(&f.description)
                .bind(&f.status)
                .bind(f.priority)
                .bind(f.due_at)
                .bind(f.assignee_id)
                .bind(&f.position)
                .bind(f.completed_at)
                .bind(now)
                .bind(f.search_text())
                .execute(c),
        )
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn delete(db: &Db, c: &mut Connection, id: i64, expected_version: i64) -> Result<bool, sqlx::Error> {
    let sql = "delete from task where id = $1 and version = $2";
    let r = db.observe(op::TASK_DELETE, sql, sqlx::query(sql).bind(id).bind(expected_version).execute(c)).await?;
    Ok(r.rows_affected() == 1)
}

/// Every task of a project, in board order (export).
pub async fn all_in_project(db: &Db, c: &mut Connection, project_id: i64) -> Result<Vec<TaskRow>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from task t where t.project_id = $1 order by t.status, t.position, t.id");
    db.observe(op::TASK_LIST, &sql, sqlx::query_as(&sql).bind(project_id).fetch_all(c)).await
}

/// The last position in a column, to append after it (ignoring the task being
/// moved, `0` for none).
pub async fn last_position(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    status: &str,
    moving: i64,
) -> Result<Option<String>, sqlx::Error> {
    let sql = "select max(position) from task where project_id = $1 and status = $2 and id <> $3";
    db.observe(op::TASK_GET, sql, sqlx::query_scalar(sql).bind(project_id).bind(status).bind(moving).fetch_one(c)).await
}

/// The position of a neighbour task in the same project and column.
pub async fn position_in_column(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    status: &str,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let sql = "select position from task where project_id = $1 and status = $2 and id = $3";
    db.observe(op::TASK_GET, sql, sqlx::query_scalar(sql).bind(project_id).bind(status).bind(id).fetch_optional(c))
        .await
}

/// The nearest position after (or before, with `after = false`) `pos` in a column,
/// ignoring the task being moved.
pub async fn neighbour_position(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    status: &str,
    pos: &str,
    after: bool,
    moving: i64,
) -> Result<Option<String>, sqlx::Error> {
    let sql = if after {
        "select min(position) from task where project_id = $1 and status = $2 and position > $3 and id <> $4"
    } else {
        "select max(position) from task where project_id = $1 and status = $2 and position < $3 and id <> $4"
    };
    db.observe(
        op::TASK_GET,
        sql,
        sqlx::query_scalar(sql).bind(project_id).bind(status).bind(pos).bind(moving).fetch_one(c),
    )
    .await
}

pub async fn label_ids(db: &Db, c: &mut Connection, task_ids: &[i64]) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    if task_ids.is_empty() {
        return Ok(vec![]);
    }
    let placeholders: Vec<String> = (1..=task_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "select task_id, label_id from task_label where task_id in ({}) order by task_id, label_id",
        placeholders.join(", ")
    );
    let mut q = sqlx::query_as(&sql);
    for id in task_ids {
        q = q.bind(*id);
    }
    db.observe(op::TASK_LABEL_LIST, &sql, q.fetch_all(c)).await
}

pub async fn set_labels(db: &Db, c: &mut Connection, task_id: i64, label_ids: &[i64]) -> Result<(), sqlx::Error> {
    let sql = "delete from task_label where task_id = $1";
    db.observe(op::TASK_LABEL_WRITE, sql, sqlx::query(sql).bind(task_id).execute(&mut *c)).await?;
    let sql = "insert into task_label (task_id, label_id) values ($1, $2)";
    for l in label_ids {
        db.observe(op::TASK_LABEL_WRITE, sql, sqlx::query(sql).bind(task_id).bind(*l).execute(&mut *c)).await?;
    }
    Ok(())
}

/// A value bound into a dynamically built query.
#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Text(String),
}

/// A listing query: `where` clauses over `t` with their arguments, ordering and limit.
pub struct ListQuery {
    pub viewer: i64,
    /// The listing is of one project (its `t.project_id` clause is among `clauses`).
    pub one_project: bool,
    pub clauses: Vec<String>,
    pub args: Vec<Arg>,
    pub order_by: String,
    pub limit: i64,
}

impl ListQuery {
    pub fn new(viewer: i64) -> Self {
        // $1 is the viewer.
        ListQuery { viewer, one_project: false, clauses: vec![], args: vec![], order_by: "t.id".into(), limit: 50 }
    }

    /// The placeholder for a new argument.
    pub fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len() + 1)
    }
}

/// Membership is a join across projects (the viewer's projects drive the query) and an
/// `exists` within one project: with the join, SQLite's planner starts from the member
/// row and sorts every matching task instead of walking a status-first index in sort
/// order and stopping after one page. The results are the same (one member row per
/// project and user).
pub async fn list(db: &Db, c: &mut Connection, q: &ListQuery) -> Result<Vec<TaskRow>, sqlx::Error> {
    let mut sql = if q.one_project {
        format!(
            "select {COLUMNS} from task t where exists \
             (select 1 from project_member m where m.project_id = t.project_id and m.user_id = $1)"
        )
    } else {
        format!("select {COLUMNS} from task t join project_member m on m.project_id = t.project_id and m.user_id = $1")
    };
    if !q.clauses.is_empty() {
        sql.push_str(if q.one_project { " and " } else { " where " });
        sql.push_str(&q.clauses.join(" and "));
    }
    sql.push_str(&format!(" order by {} limit {}", q.order_by, q.limit));
    let mut query = sqlx::query_as(&sql).bind(q.viewer);
    for a in &q.args {
        query = match a {
            Arg::Int(i) => query.bind(*i),
            Arg::Text(s) => query.bind(s.clone()),
        };
    }
    db.observe(op::TASK_LIST, &sql, query.fetch_all(c)).await
}

/// Open and overdue task counts across the whole database (for gauges).
pub async fn open_and_overdue(db: &Db, c: &mut Connection, now: i64) -> Result<(i64, i64), sqlx::Error> {
    let sql =
        "select count(*), coalesce(sum(case when due_at < $1 then 1 else 0 end), 0) from task where status <> 'done'";
    db.observe(op::TASK_COUNT, sql, sqlx::query_as(sql).bind(now).fetch_one(c)).await
}

#[cfg(test)]
mod tests {
    use super::parse_id_list;

    #[test]
    fn label_lists_parse_sorted() {
        assert_eq!(parse_id_list(None), Vec::<i64>::new());
        assert_eq!(parse_id_list(Some("")), Vec::<i64>::new());
        assert_eq!(parse_id_list(Some("12,3,7")), vec![3, 7, 12]);
    }
}
