//! Tasks: create, get, update (partial, version-checked), delete, move.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    access::{self, Fields},
    docs::{ReadErrors, WriteErrors},
    recurrence, subtasks,
    task_input::{changes, label_change, set_status, CreateTask, UpdateTask},
    views::{NextOccurrence, TaskView},
};
use crate::{
    auth::Principal,
    db::{
        repo,
        repo::{tasks::TaskFields, Connection},
        Db,
    },
    domain::{now_millis, Position, Role, TaskStatus},
    error::{AppError, AppResult},
    extract::{ApiJson, Path},
    notify,
    state::AppState,
    webhooks::{self, Event},
};
use serde_json::json;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_task))
        .routes(routes!(get_task, update_task, delete_task))
        .routes(routes!(move_task))
}

/// The task as JSON with its `ETag`.
pub fn task_response(status: StatusCode, view: TaskView) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", view.version)).expect("digits are a valid header");
    let mut res = (status, axum::Json(view)).into_response();
    res.headers_mut().insert(header::ETAG, etag);
    res
}

/// The version named by `If-Match` (`"3"`, `W/"3"`), or `None` without the header.
/// `*` matches any version.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, AppError> {
    let Some(raw) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let raw =
        raw.to_str().map_err(|_| AppError::BadRequest("invalid_if_match", "If-Match is not readable.".into()))?.trim();
    if raw == "*" {
        return Ok(None);
    }
    // An entity tag is quoted (RFC 9110 section 8.8.3): `"3"` or `W/"3"`, nothing else.
    let tag = raw.strip_prefix("W/").unwrap_or(raw);
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            AppError::BadRequest("invalid_if_match", "If-Match must be an ETag from this API, e.g. \"3\".".into())
        })
}

/// Checks that the assignee is a member and the labels belong to the project.
async fn check_references(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    assignee: Option<i64>,
    labels: Option<&[i64]>,
) -> AppResult<()> {
    let mut f = Fields::default();
    if let Some(a) = assignee {
        if repo::members::role_of(db, c, project_id, a).await?.is_none() {
            f.push("assignee_id", "not_a_member", "the assignee must be a member of the project");
        }
    }
    if let Some(labels) = labels {
        if repo::labels::count_in_project(db, c, project_id, labels).await? != labels.len() as i64 {
            f.push("labels", "unknown_label", "every label must belong to the project");
        }
    }
    f.finish()
}

/// Creates a task at the end of its status column.
#[utoipa::path(post, path = "/projects/{id}/tasks", tag = "tasks", request_body = CreateTask,
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    security(("session" = []), ("token" = [])),
    responses((status = 201, body = TaskView, headers(("etag" = String))), WriteErrors))]
pub async fn create_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(project_id): Path<i64>,
    ApiJson(body): ApiJson<CreateTask>,
) -> AppResult<Response> {
    principal.require_write()?;
    let now = now_millis();
    let mut fields = body.fields(now)?;
    let labels = body.labels.clone().unwrap_or_default();
    let db = &state.db;
    let mut tx = db.begin().await?;
    access::require_editor(access::role_in(db, &mut tx, project_id, principal.id()).await?)?;
    check_references(db, &mut tx, project_id, fields.assignee_id, Some(&labels)).await?;
    let rule = recurrence::for_new_task(db, &mut tx, body.recurrence.as_deref(), &fields, principal.id()).await?;
    if let Some(parent) = body.parent_id {
        subtasks::check_parent(db, &mut tx, project_id, None, parent).await?;
    }
    let last = repo::tasks::last_position(db, &mut tx, project_id, &fields.status, 0).await?;
    fields.position = Position::between(last.as_deref().and_then(Position::parse).as_ref(), None).as_str().to_owned();
    let mut row = repo::tasks::insert(db, &mut tx, project_id, &fields, principal.id(), now).await?;
    subtasks::write_parent(db, &mut tx, &row, body.parent_id, principal.id(), now).await?;
    row.parent_id = body.parent_id;
    repo::tasks::set_labels(db, &mut tx, row.id, &labels).await?;
    if let Some(rule) = &rule {
        recurrence::store(db, &mut tx, &mut row, rule).await?;
    }
    notify::events::task_saved(db, &mut tx, row.id, None, &fields, principal.id(), now).await?;
    let mut labels = labels;
    labels.sort_unstable();
    let view = TaskView::new(&row, labels);
    webhooks::emit(db, &mut tx, project_id, Event::TaskCreated, json!({"task": view})).await?;
    if row.status == TaskStatus::Done.as_str() {
        webhooks::emit(db, &mut tx, project_id, Event::TaskCompleted, json!({"task": view})).await?;
    }
    repo::activity::record(
        db,
        &mut tx,
        row.id,
        principal.id(),
        &[repo::activity::Change { field: "created", old: None, new: Some(row.title.clone()) }],
        now,
    )
    .await?;
    tx.commit().await?;
    state.metrics.tasks_created.inc();
    if row.status == TaskStatus::Done.as_str() {
        state.metrics.tasks_completed.inc();
    }
    // A new task has no subtasks yet.
    Ok(task_response(StatusCode::CREATED, TaskView { subtasks: Some(vec![]), ..view }))
}

/// One task.
#[utoipa::path(get, path = "/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), security(("session" = []), ("token" = [])),
    responses((status = 200, body = TaskView, headers(("etag" = String))), ReadErrors))]
pub async fn get_task(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> AppResult<Response> {
    let db = &state.db;
    let mut c = db.conn().await?;
    let t = repo::tasks::get_with_labels(db, &mut c, id, principal.id(), false).await?.ok_or(AppError::NotFound)?;
    let mut view = TaskView::new(&t.task, t.labels);
    subtasks::describe(db, &mut c, &mut view).await?;
    Ok(task_response(StatusCode::OK, view))
}

/// Loads a task for writing: the caller must be an editor, and `If-Match` (when
/// sent) must name the current version.
pub(super) async fn load_for_write(
    db: &Db,
    c: &mut Connection,
    id: i64,
    principal: &Principal,
    expected: Option<i64>,
) -> AppResult<repo::tasks::MemberTask> {
    let t = repo::tasks::get_with_labels(db, c, id, principal.id(), true).await?.ok_or(AppError::NotFound)?;
    access::require_editor(Role::parse(&t.role).unwrap_or(Role::Viewer))?;
    if expected.is_some_and(|v| v != t.task.version) {
        return Err(AppError::PreconditionFailed);
    }
    Ok(t)
}

/// Writes the new fields and their activity; 412 if the version moved meanwhile.
/// This is where a task becomes done, so where a recurring task's next occurrence is
/// created.
async fn save(
    state: &AppState,
    c: &mut Connection,
    principal: &Principal,
    row: &repo::tasks::TaskRow,
    next: &TaskFields,
    labels: Option<(&[i64], &[i64])>,
    now: i64,
) -> AppResult<Option<NextOccurrence>> {
    let db = &state.db;
    let current = TaskFields::from(row);
    if !repo::tasks::update(db, c, row.id, row.version, next, now).await? {
        return Err(AppError::PreconditionFailed);
    }
    let mut log = changes(&current, next);
    if let Some((old, new)) = labels {
        repo::tasks::set_labels(db, c, row.id, new).await?;
        log.extend(label_change(old, new));
    }
    repo::activity::record(db, c, row.id, principal.id(), &log, now).await?;
    notify::events::task_saved(db, c, row.id, Some(&current), next, principal.id(), now).await?;
    if current.status != TaskStatus::Done.as_str() && next.status == TaskStatus::Done.as_str() {
        state.metrics.tasks_completed.inc();
        return recurrence::complete(state, c, principal, row.id, now).await;
    }
    Ok(None)
}

/// The task as saved, with `task.updated` (and `task.completed` when it just moved to
/// done) queued for the project's webhooks in the same transaction.
async fn reload_and_emit(
    db: &Db,
    c: &mut Connection,
    principal: &Principal,
    before: &repo::tasks::TaskRow,
) -> AppResult<TaskView> {
    let t = repo::tasks::get_with_labels(db, c, before.id, principal.id(), false).await?.ok_or(AppError::NotFound)?;
    let row = t.task;
    let view = TaskView::new(&row, t.labels);
    webhooks::emit(db, c, row.project_id, Event::TaskUpdated, json!({"task": view})).await?;
    if before.status != TaskStatus::Done.as_str() && row.status == TaskStatus::Done.as_str() {
        webhooks::emit(db, c, row.project_id, Event::TaskCompleted, json!({"task": view})).await?;
    }
    Ok(view)
}

/// Changes some fields. Send `If-Match` with the `ETag` you read to avoid
/// overwriting someone else's change (412 when stale). Completing an occurrence of a
/// recurring task (status → `done`) creates the next one in the same transaction;
/// the response's `next_occurrence` names it. Completing a task whose subtasks are
/// still open completes the task only and lists them in `open_subtasks`, unless
/// `complete_subtasks` is true.
#[utoipa::path(patch, path = "/tasks/{id}", tag = "tasks", request_body = UpdateTask,
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being changed")),
    security(("session" = []), ("token" = [])), responses((status = 200, body = TaskView, headers(("etag" = String))), WriteErrors))]
pub async fn update_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<UpdateTask>,
) -> AppResult<Response> {
    principal.require_write()?;
    let saved = update_view(&state, &principal, id, if_match(&headers)?, &body).await?;
    Ok(task_response(StatusCode::OK, saved))
}

/// `update_task` for callers that want the saved task (the web forms).
pub async fn update_view(
    state: &AppState,
    principal: &Principal,
    id: i64,
    expected: Option<i64>,
    body: &UpdateTask,
) -> AppResult<TaskView> {
    principal.require_write()?;
    let now = now_millis();
    let db = &state.db;
    let mut tx = db.begin().await?;
    let current = load_for_write(db, &mut tx, id, principal, expected).await?;
    let mut saved = apply_update(state, &mut tx, principal, &current, body, now).await?;
    subtasks::describe(db, &mut tx, &mut saved).await?;
    tx.commit().await?;
    Ok(saved)
}

/// One task's update inside the caller's transaction (also used by bulk edits): its
/// fields, its parent, and what completing it does to its subtasks.
pub(super) async fn apply_update(
    state: &AppState,
    c: &mut Connection,
    principal: &Principal,
    current: &repo::tasks::MemberTask,
    body: &UpdateTask,
    now: i64,
) -> AppResult<TaskView> {
    let row = &current.task;
    if let Some(parent) = body.parent_id {
        if let Some(p) = parent {
            subtasks::check_parent(&state.db, c, row.project_id, Some(row.id), p).await?;
        }
        subtasks::write_parent(&state.db, c, row, parent, principal.id(), now).await?;
    }
    let mut view = apply_fields(state, c, principal, current, body, now).await?;
    let complete = body.complete_subtasks.unwrap_or(false);
    subtasks::after_update(state, c, principal, row, &mut view, complete, now).await?;
    Ok(view)
}

/// The fields of one task's update: checked references, a place at the end of a new
/// column, activity, notifications and webhooks.
pub(super) async fn apply_fields(
    state: &AppState,
    c: &mut Connection,
    principal: &Principal,
    current: &repo::tasks::MemberTask,
    body: &UpdateTask,
    now: i64,
) -> AppResult<TaskView> {
    let db = &state.db;
    let row = &current.task;
    let mut next = body.apply(&TaskFields::from(row), now)?;
    check_references(db, c, row.project_id, body.assignee_id.flatten(), body.labels.as_deref()).await?;
    if next.status != row.status {
        let last = repo::tasks::last_position(db, c, row.project_id, &next.status, row.id).await?;
        next.position = Position::between(last.as_deref().and_then(Position::parse).as_ref(), None).as_str().to_owned();
    }
    let requested = body.recurrence.as_ref().map(|r| r.as_deref());
    let rule_change = recurrence::update_rule(db, c, row, requested, &next).await?;
    let label_pair = body.labels.as_deref().map(|new| (current.labels.as_slice(), new));
    let next_occurrence = save(state, c, principal, row, &next, label_pair, now).await?;
    if let Some(change) = rule_change {
        repo::activity::record(db, c, row.id, principal.id(), &[change], now).await?;
    }
    let mut view = reload_and_emit(db, c, principal, row).await?;
    view.next_occurrence = next_occurrence;
    Ok(view)
}

/// Deletes a task with its comments and activity.
#[utoipa::path(delete, path = "/tasks/{id}", tag = "tasks",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being deleted")),
    security(("session" = []), ("token" = [])), responses((status = 204, description = "Deleted"), WriteErrors))]
pub async fn delete_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    principal.require_write()?;
    let expected = if_match(&headers)?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    let row = load_for_write(db, &mut tx, id, &principal, expected).await?.task;
    let files = repo::attachments::keys_of_task(db, &mut tx, row.id).await?;
    remove(db, &mut tx, &row).await?;
    tx.commit().await?;
    state.attachments.delete_all(&files).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes one task inside the caller's transaction and tells the webhooks.
pub(super) async fn remove(db: &Db, c: &mut Connection, row: &repo::tasks::TaskRow) -> AppResult<()> {
    if !repo::tasks::delete(db, c, row.id, row.version).await? {
        return Err(AppError::PreconditionFailed);
    }
    let gone = json!({"task": {"id": row.id, "project_id": row.project_id, "title": row.title}});
    webhooks::emit(db, c, row.project_id, Event::TaskDeleted, gone).await?;
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveTask {
    /// The column to move to; defaults to the current one.
    pub status: Option<TaskStatus>,
    /// Place directly after this task of the target column.
    pub after_id: Option<i64>,
    /// Place directly before this task of the target column.
    pub before_id: Option<i64>,
}

/// Moves a task within or between board columns. With neither `after_id` nor
/// `before_id` it goes to the end of the column. Writes one row: the column is never
/// renumbered. Moving a task to done leaves its open subtasks open; the response
/// lists them in `open_subtasks`.
#[utoipa::path(post, path = "/tasks/{id}/move", tag = "tasks", request_body = MoveTask,
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version being moved")),
    security(("session" = []), ("token" = [])), responses((status = 200, body = TaskView, headers(("etag" = String))), WriteErrors))]
pub async fn move_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MoveTask>,
) -> AppResult<Response> {
    principal.require_write()?;
    let expected = if_match(&headers)?;
    let now = now_millis();
    let db = &state.db;
    let mut tx = db.begin().await?;
    let row = load_for_write(db, &mut tx, id, &principal, expected).await?.task;
    let mut next = TaskFields::from(&row);
    let status = body.status.unwrap_or_else(|| TaskStatus::parse(&row.status).unwrap_or(TaskStatus::Todo));
    set_status(&mut next, status, now);
    let column = status.as_str();
    let neighbour = |which: &'static str| {
        AppError::field(which, "not_in_column", format!("{which} must be another task of the target column"))
    };
    let (before, after) = match (body.after_id, body.before_id) {
        (Some(a), _) if a == id => return Err(neighbour("after_id")),
        (_, Some(b)) if b == id => return Err(neighbour("before_id")),
        (Some(a), _) => {
            let lo = repo::tasks::position_in_column(db, &mut tx, row.project_id, column, a)
                .await?
                .ok_or_else(|| neighbour("after_id"))?;
            let hi = repo::tasks::neighbour_position(db, &mut tx, row.project_id, column, &lo, true, id).await?;
            (Some(lo), hi)
        }
        (None, Some(b)) => {
            let hi = repo::tasks::position_in_column(db, &mut tx, row.project_id, column, b)
                .await?
                .ok_or_else(|| neighbour("before_id"))?;
            let lo = repo::tasks::neighbour_position(db, &mut tx, row.project_id, column, &hi, false, id).await?;
            (lo, Some(hi))
        }
        (None, None) => (repo::tasks::last_position(db, &mut tx, row.project_id, column, id).await?, None),
    };
    next.position = Position::between(
        before.as_deref().and_then(Position::parse).as_ref(),
        after.as_deref().and_then(Position::parse).as_ref(),
    )
    .as_str()
    .to_owned();
    let next_occurrence = save(&state, &mut tx, &principal, &row, &next, None, now).await?;
    let mut saved = reload_and_emit(db, &mut tx, &principal, &row).await?;
    saved.next_occurrence = next_occurrence;
    subtasks::after_update(&state, &mut tx, &principal, &row, &mut saved, false, now).await?;
    subtasks::describe(db, &mut tx, &mut saved).await?;
    tx.commit().await?;
    Ok(task_response(StatusCode::OK, saved))
}
