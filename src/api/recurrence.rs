//! Recurring tasks in the task API: a requested rule checked against the task's due
//! date and time zone and stored, and the next occurrence created in the same
//! transaction when an occurrence is completed (once per occurrence).

use chrono_tz::Tz;
use serde_json::json;

use super::{
    subtasks,
    views::{NextOccurrence, TaskView},
};
use crate::{
    auth::Principal,
    db::{
        repo::{
            self,
            activity::Change,
            tasks::{TaskFields, TaskRow},
            Connection,
        },
        Db,
    },
    domain::{to_rfc3339, Position, Recurrence, TaskStatus},
    error::{AppError, AppResult, FieldError},
    state::AppState,
    webhooks::{self, Event},
};

fn refused(e: FieldError) -> AppError {
    AppError::Unprocessable(vec![e])
}

fn due_date_required() -> AppError {
    AppError::field("recurrence", "due_date_required", "a recurring task needs a due date: set due_at too")
}

/// The time zone a series is evaluated in: its assignee's, else its creator's, so
/// "daily at 09:00" means 09:00 where the person doing it lives.
pub async fn series_zone(db: &Db, c: &mut Connection, assignee: Option<i64>, creator: i64) -> AppResult<Tz> {
    let zone = repo::recurrence::time_zone(db, c, assignee.unwrap_or(creator)).await?;
    Ok(zone.and_then(|z| z.parse().ok()).unwrap_or(Tz::UTC))
}

/// The rule asked for by a new task, checked against its due date.
pub async fn for_new_task(
    db: &Db,
    c: &mut Connection,
    raw: Option<&str>,
    fields: &TaskFields,
    creator: i64,
) -> AppResult<Option<Recurrence>> {
    let Some(raw) = raw else { return Ok(None) };
    let rule = Recurrence::parse(raw).map_err(refused)?;
    let due = fields.due_at.ok_or_else(due_date_required)?;
    rule.check_start(due, series_zone(db, c, fields.assignee_id, creator).await?).map_err(refused)?;
    Ok(Some(rule))
}

/// Stores a new task's rule; its series starts at its due date.
pub async fn store(db: &Db, c: &mut Connection, row: &mut TaskRow, rule: &Recurrence) -> AppResult<()> {
    repo::recurrence::set_rule(db, c, row.id, Some(rule.as_str()), row.due_at).await?;
    row.recurrence = Some(rule.as_str().to_owned());
    row.recurrence_start = row.due_at;
    Ok(())
}

/// Applies an update's `recurrence` (absent: keep, `null`: remove, a rule: set) onto
/// a task whose other fields become `next`. A new or changed rule starts its series
/// at the due date; moving one occurrence's due date leaves the series where it is.
/// Returns the activity entry when the rule changed.
pub async fn update_rule(
    db: &Db,
    c: &mut Connection,
    row: &TaskRow,
    requested: Option<Option<&str>>,
    next: &TaskFields,
) -> AppResult<Option<Change>> {
    let current = row.recurrence.as_deref();
    let wanted = match requested {
        None => current.and_then(Recurrence::stored),
        Some(None) => None,
        Some(Some(raw)) => Some(Recurrence::parse(raw).map_err(refused)?),
    };
    let Some(rule) = wanted else {
        if current.is_none() {
            return Ok(None);
        }
        repo::recurrence::set_rule(db, c, row.id, None, None).await?;
        return Ok(Some(Change { field: "recurrence", old: current.map(str::to_owned), new: None }));
    };
    let Some(due) = next.due_at else {
        return Err(match requested {
            Some(Some(_)) => due_date_required(),
            _ => AppError::field(
                "due_at",
                "required_by_recurrence",
                "a recurring task needs a due date: remove its recurrence first",
            ),
        });
    };
    if current == Some(rule.as_str()) {
        return Ok(None);
    }
    rule.check_start(due, series_zone(db, c, next.assignee_id, row.created_by).await?).map_err(refused)?;
    repo::recurrence::set_rule(db, c, row.id, Some(rule.as_str()), Some(due)).await?;
    Ok(Some(Change { field: "recurrence", old: current.map(str::to_owned), new: Some(rule.as_str().to_owned()) }))
}

/// After a task became done: creates its next occurrence (same title, description,
/// labels, assignee, priority, project, parent and rule; checklist copied with every
/// item open; due at the series' next date after this one's), unless the series has
/// ended or this occurrence already has a successor (completed, reopened, completed
/// again).
pub async fn complete(
    state: &AppState,
    c: &mut Connection,
    principal: &Principal,
    task_id: i64,
    now: i64,
) -> AppResult<Option<NextOccurrence>> {
    let db = &state.db;
    let Some(done) = repo::tasks::get_with_labels(db, c, task_id, principal.id(), false).await? else {
        return Ok(None);
    };
    let row = &done.task;
    let (Some(text), Some(start), Some(due), None) =
        (row.recurrence.as_deref(), row.recurrence_start, row.due_at, row.recurrence_next_id)
    else {
        return Ok(None);
    };
    let Some(rule) = Recurrence::stored(text) else { return Ok(None) };
    let tz = series_zone(db, c, row.assignee_id, row.created_by).await?;
    let Some(next_due) = rule.next_after(start, tz, due) else { return Ok(None) };
    let todo = TaskStatus::Todo.as_str();
    let last = repo::tasks::last_position(db, c, row.project_id, todo, 0).await?;
    let fields = TaskFields {
        title: row.title.clone(),
        description: row.description.clone(),
        status: todo.to_owned(),
        priority: row.priority,
        due_at: Some(next_due),
        assignee_id: row.assignee_id,
        position: Position::between(last.as_deref().and_then(Position::parse).as_ref(), None).as_str().to_owned(),
        completed_at: None,
    };
    let mut next = repo::tasks::insert(db, c, row.project_id, &fields, row.created_by, now).await?;
    repo::tasks::set_labels(db, c, next.id, &done.labels).await?;
    repo::recurrence::copy_checklist(db, c, row.id, next.id, now).await?;
    repo::recurrence::set_rule(db, c, next.id, Some(text), Some(start)).await?;
    next.recurrence = Some(text.to_owned());
    next.recurrence_start = Some(start);
    if !repo::recurrence::link_successor(db, c, row.id, next.id).await? {
        return Err(AppError::PreconditionFailed);
    }
    let created = [
        Change { field: "created", old: None, new: Some(next.title.clone()) },
        Change { field: "previous_occurrence", old: None, new: Some(row.id.to_string()) },
    ];
    repo::activity::record(db, c, next.id, principal.id(), &created, now).await?;
    let link = Change { field: "next_occurrence", old: None, new: Some(next.id.to_string()) };
    repo::activity::record(db, c, row.id, principal.id(), &[link], now).await?;
    // A recurring subtask's next occurrence stays under the same parent.
    subtasks::write_parent(db, c, &next, row.parent_id, principal.id(), now).await?;
    next.parent_id = row.parent_id;
    let view = TaskView::new(&next, done.labels.clone());
    webhooks::emit(db, c, next.project_id, Event::TaskCreated, json!({"task": view})).await?;
    state.metrics.tasks_created.inc();
    Ok(Some(NextOccurrence { id: next.id, due_at: to_rfc3339(next_due) }))
}
