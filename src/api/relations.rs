//! Typed relations between two tasks of the same project: `blocks` / `blocked_by`,
//! `relates_to`, `duplicates` / `duplicated_by`. One row per relation, shown from both
//! sides with the inverse kind (A blocks B: B is blocked by A). Two tasks have at most
//! one relation of each kind; a second one is a conflict (409). Members read, editors
//! change; every change is in the activity of both tasks.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    access,
    docs::{ReadErrors, WriteErrors},
    subtasks::TaskRef,
};
use crate::{
    auth::Principal,
    db::repo::{self, activity::Change, relations::SeenRelation, subtasks::TaskLink, tasks::TaskRow, Connection},
    domain::{now_millis, to_rfc3339, Role, TaskStatus},
    error::{AppError, AppResult},
    extract::{ApiJson, Path},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(add_relation, list_relations)).routes(routes!(delete_relation))
}

/// A relation as one of its two tasks sees it.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    Blocks,
    BlockedBy,
    RelatesTo,
    Duplicates,
    DuplicatedBy,
}

impl RelationKind {
    pub const ALL: [RelationKind; 5] = [
        RelationKind::Blocks,
        RelationKind::BlockedBy,
        RelationKind::RelatesTo,
        RelationKind::Duplicates,
        RelationKind::DuplicatedBy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::Blocks => "blocks",
            RelationKind::BlockedBy => "blocked_by",
            RelationKind::RelatesTo => "relates_to",
            RelationKind::Duplicates => "duplicates",
            RelationKind::DuplicatedBy => "duplicated_by",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// How people read it: "blocks", "is blocked by".
    pub fn label(self) -> &'static str {
        match self {
            RelationKind::Blocks => "blocks",
            RelationKind::BlockedBy => "is blocked by",
            RelationKind::RelatesTo => "relates to",
            RelationKind::Duplicates => "duplicates",
            RelationKind::DuplicatedBy => "is duplicated by",
        }
    }

    /// The stored kind, and whether the task seeing it is the stored subject.
    pub fn stored(self) -> (&'static str, bool) {
        match self {
            RelationKind::Blocks => ("blocks", true),
            RelationKind::BlockedBy => ("blocks", false),
            RelationKind::RelatesTo => ("relates_to", true),
            RelationKind::Duplicates => ("duplicates", true),
            RelationKind::DuplicatedBy => ("duplicates", false),
        }
    }

    /// The kind seen by the subject (`outgoing`) or the object of a stored relation.
    pub fn seen(stored: &str, outgoing: bool) -> Self {
        match (stored, outgoing) {
            ("blocks", true) => RelationKind::Blocks,
            ("blocks", false) => RelationKind::BlockedBy,
            ("duplicates", true) => RelationKind::Duplicates,
            ("duplicates", false) => RelationKind::DuplicatedBy,
            _ => RelationKind::RelatesTo,
        }
    }

    /// What the other task sees.
    pub fn inverse(self) -> Self {
        let (stored, outgoing) = self.stored();
        if stored == "relates_to" {
            self
        } else {
            Self::seen(stored, !outgoing)
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RelationView {
    /// The same on both tasks' lists.
    pub id: i64,
    /// From this task's side: `blocked_by` means the other task blocks this one.
    pub kind: RelationKind,
    pub task: TaskRef,
    pub created_at: DateTime<Utc>,
}

impl From<&SeenRelation> for RelationView {
    fn from(r: &SeenRelation) -> Self {
        RelationView {
            id: r.id,
            kind: RelationKind::seen(&r.kind, r.outgoing == 1),
            task: TaskRef {
                id: r.other_id,
                title: r.other_title.clone(),
                status: TaskStatus::parse(&r.other_status).unwrap_or(TaskStatus::Todo),
            },
            created_at: to_rfc3339(r.created_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRelation {
    /// From this task's side: `{"kind": "blocked_by", "task_id": 7}` means task 7 blocks this one.
    pub kind: RelationKind,
    /// Another task of the same project.
    pub task_id: i64,
}

/// The task of the path for a change: the caller must be an editor of its project.
async fn task_for_edit(state: &AppState, c: &mut Connection, id: i64, principal: &Principal) -> AppResult<TaskRow> {
    let (task, role) =
        repo::tasks::get_for_member(&state.db, c, id, principal.id(), true).await?.ok_or(AppError::NotFound)?;
    access::require_editor(Role::parse(&role).unwrap_or(Role::Viewer))?;
    Ok(task)
}

/// The other task, which must be another task of the same project. Tasks of other
/// projects get the same answer as tasks that do not exist.
async fn other_task(state: &AppState, c: &mut Connection, task: &TaskRow, other: i64) -> AppResult<TaskLink> {
    if other == task.id {
        return Err(AppError::field("task_id", "self", "a task cannot be related to itself"));
    }
    repo::subtasks::lock_project(&state.db, c, task.project_id).await?;
    repo::subtasks::link(&state.db, c, other).await?.filter(|t| t.project_id == task.project_id).ok_or_else(|| {
        AppError::field("task_id", "not_in_project", "the related task must be a task of the same project")
    })
}

/// One activity entry on each task: `blocks #7` on one side, `blocked_by #3` on the other.
async fn record(
    state: &AppState,
    c: &mut Connection,
    task: i64,
    other: i64,
    kind: RelationKind,
    added: bool,
    actor: i64,
) -> AppResult<()> {
    let now = now_millis();
    for (on, about, k) in [(task, other, kind), (other, task, kind.inverse())] {
        let text = Some(format!("{} #{about}", k.as_str()));
        let (old, new) = if added { (None, text) } else { (text, None) };
        repo::activity::record(&state.db, c, on, actor, &[Change { field: "relations", old, new }], now).await?;
    }
    Ok(())
}

/// Relates the task to another task of the same project. 409 when the two tasks
/// already have a relation of this kind (in either direction).
#[utoipa::path(post, path = "/tasks/{id}/relations", tag = "tasks", request_body = AddRelation,
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    security(("session" = []), ("token" = [])), responses((status = 201, body = RelationView), WriteErrors))]
pub async fn add_relation(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<AddRelation>,
) -> AppResult<Response> {
    principal.require_write()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    let task = task_for_edit(&state, &mut tx, id, &principal).await?;
    let other = other_task(&state, &mut tx, &task, body.task_id).await?;
    let (stored, outgoing) = body.kind.stored();
    let (subject, object) = if outgoing { (task.id, other.id) } else { (other.id, task.id) };
    if repo::relations::between(db, &mut tx, subject, object, stored).await?.is_some() {
        return Err(AppError::Conflict(
            "relation_exists",
            format!("tasks {} and {} already have a relation of this kind", task.id, other.id),
        ));
    }
    let row = repo::relations::insert(db, &mut tx, subject, object, stored, principal.id(), now_millis()).await?;
    record(&state, &mut tx, task.id, other.id, body.kind, true, principal.id()).await?;
    tx.commit().await?;
    let view = RelationView {
        id: row.id,
        kind: body.kind,
        task: TaskRef::from(&other),
        created_at: to_rfc3339(row.created_at),
    };
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// The task's relations from its side, by kind.
#[utoipa::path(get, path = "/tasks/{id}/relations", tag = "tasks", params(("id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 200, body = Vec<RelationView>), ReadErrors))]
pub async fn list_relations(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<RelationView>>> {
    let db = &state.db;
    let mut c = db.conn().await?;
    repo::tasks::get_for_member(db, &mut c, id, principal.id(), false).await?.ok_or(AppError::NotFound)?;
    let rows = repo::relations::for_task(db, &mut c, id).await?;
    Ok(axum::Json(rows.iter().map(RelationView::from).collect()))
}

/// Removes a relation, from either of its tasks (its `id` is the same on both).
#[utoipa::path(delete, path = "/tasks/{id}/relations/{relation_id}", tag = "tasks",
    params(("id" = i64, Path), ("relation_id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 204, description = "Deleted"), WriteErrors))]
pub async fn delete_relation(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, relation_id)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    principal.require_write()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    let task = task_for_edit(&state, &mut tx, id, &principal).await?;
    let row = repo::relations::get(db, &mut tx, relation_id)
        .await?
        .filter(|r| r.task_id == task.id || r.other_task_id == task.id)
        .ok_or(AppError::NotFound)?;
    repo::relations::delete(db, &mut tx, row.id).await?;
    let outgoing = row.task_id == task.id;
    let other = if outgoing { row.other_task_id } else { row.task_id };
    record(&state, &mut tx, task.id, other, RelationKind::seen(&row.kind, outgoing), false, principal.id()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::RelationKind;

    #[test]
    fn each_kind_reads_back_as_its_inverse_from_the_other_side() {
        for k in RelationKind::ALL {
            assert_eq!(k.inverse().inverse(), k);
            let (stored, outgoing) = k.stored();
            assert_eq!(RelationKind::seen(stored, outgoing), k);
            assert_eq!(RelationKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(RelationKind::Blocks.inverse(), RelationKind::BlockedBy);
        assert_eq!(RelationKind::RelatesTo.inverse(), RelationKind::RelatesTo);
    }
}
