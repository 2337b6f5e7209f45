//! Bulk edit: one call changes or deletes up to 500 tasks of a project in one
//! transaction, all or nothing, with the same checks, activity, notifications and
//! webhooks as one-task edits.

use axum::extract::State;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    access::{self, Fields},
    docs::WriteErrors,
    task_input::{nullable, UpdateTask},
    tasks::{apply_update, load_for_write, remove},
    views::TaskView,
};
use crate::{
    auth::Principal,
    db::repo,
    domain::{now_millis, Priority, TaskStatus},
    error::{AppError, AppResult},
    extract::{ApiJson, Path},
    state::AppState,
};

/// The most tasks one bulk call may touch.
pub const MAX_BULK: usize = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(bulk_edit))
}

/// What to set on every selected task; absent fields stay as they are.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct BulkChanges {
    pub status: Option<TaskStatus>,
    pub priority: Option<Priority>,
    /// RFC 3339 with an offset; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<chrono::Utc>>)]
    pub due_at: Option<Option<DateTime<FixedOffset>>>,
    /// A project member; `null` unassigns.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<i64>>,
    /// Replaces every task's labels.
    pub labels: Option<Vec<i64>>,
    /// Adds these labels to every task.
    pub add_labels: Option<Vec<i64>>,
    /// Removes these labels from every task.
    pub remove_labels: Option<Vec<i64>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkEdit {
    /// 1 to 500 ids of tasks of this project.
    pub task_ids: Vec<i64>,
    /// The change to make (or `delete`).
    pub set: Option<BulkChanges>,
    /// Delete the tasks instead of changing them.
    #[serde(default)]
    pub delete: bool,
}

#[derive(Serialize, ToSchema)]
pub struct BulkResult {
    /// The changed tasks as saved.
    pub updated: Vec<TaskView>,
    /// Ids of the deleted tasks.
    pub deleted: Vec<i64>,
}

fn validate(body: &BulkEdit) -> AppResult<()> {
    let mut f = Fields::default();
    if body.task_ids.is_empty() || body.task_ids.len() > MAX_BULK {
        f.push("task_ids", "count", format!("task_ids must hold 1 to {MAX_BULK} ids"));
    }
    match (&body.set, body.delete) {
        (Some(_), true) | (None, false) => f.push("set", "one_action", "give either set or delete: true"),
        (Some(s), false) => {
            let nothing = s.status.is_none()
                && s.priority.is_none()
                && s.due_at.is_none()
                && s.assignee_id.is_none()
                && s.labels.is_none()
                && s.add_labels.is_none()
                && s.remove_labels.is_none();
            if nothing {
                f.push("set", "empty", "set must change at least one field");
            }
            if s.labels.is_some() && (s.add_labels.is_some() || s.remove_labels.is_some()) {
                f.push("labels", "conflict", "give labels, or add_labels and remove_labels, not both");
            }
        }
        (None, true) => {}
    }
    f.finish()
}

/// Changes or deletes many tasks at once: all of them, or none when any is refused
/// (an id that is not a task of this project, an invalid value, a label of another
/// project). `If-Match` is not used: the call applies to the tasks as they are.
#[utoipa::path(post, path = "/projects/{id}/tasks/bulk", tag = "tasks", params(("id" = i64, Path)),
    request_body = BulkEdit, security(("session" = []), ("token" = [])),
    responses((status = 200, body = BulkResult), WriteErrors))]
pub async fn bulk_edit(
    State(state): State<AppState>,
    principal: Principal,
    Path(project_id): Path<i64>,
    ApiJson(body): ApiJson<BulkEdit>,
) -> AppResult<axum::Json<BulkResult>> {
    principal.require_write()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    access::require_editor(access::role_in(db, &mut tx, project_id, principal.id()).await?)?;
    validate(&body)?;
    let mut ids = body.task_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    let mut rows = Vec::with_capacity(ids.len());
    let mut unknown = Vec::new();
    for id in &ids {
        match load_for_write(db, &mut tx, *id, &principal, None).await {
            Ok(t) if t.task.project_id == project_id => rows.push(t),
            Ok(_) | Err(AppError::NotFound) => unknown.push(id.to_string()),
            Err(e) => return Err(e),
        }
    }
    if !unknown.is_empty() {
        return Err(AppError::field(
            "task_ids",
            "unknown_task",
            format!("not tasks of this project: {}", unknown.join(", ")),
        ));
    }
    let now = now_millis();
    let mut result = BulkResult { updated: Vec::new(), deleted: Vec::new() };
    let mut files = Vec::new();
    for current in &rows {
        let row = &current.task;
        match &body.set {
            None => {
                files.extend(repo::attachments::keys_of_task(db, &mut tx, row.id).await?);
                remove(db, &mut tx, row).await?;
                result.deleted.push(row.id);
            }
            Some(set) => {
                let labels = match (&set.labels, &set.add_labels, &set.remove_labels) {
                    (Some(l), _, _) => Some(l.clone()),
                    (None, None, None) => None,
                    (None, add, rm) => {
                        let mut labels = current.labels.clone();
                        labels.extend(add.iter().flatten().copied());
                        labels.retain(|l| !rm.iter().flatten().any(|r| r == l));
                        labels.sort_unstable();
                        labels.dedup();
                        Some(labels)
                    }
                };
                let update = UpdateTask {
                    status: set.status,
                    priority: set.priority,
                    due_at: set.due_at,
                    assignee_id: set.assignee_id,
                    labels,
                    ..UpdateTask::default()
                };
                result.updated.push(apply_update(&state, &mut tx, &principal, current, &update, now).await?);
            }
        }
    }
    tx.commit().await?;
    state.attachments.delete_all(&files).await;
    Ok(axum::Json(result))
}
