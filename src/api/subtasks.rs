//! Subtasks: a task's parent is another task of the same project, never the task
//! itself or one of its own subtasks, and trees are at most [`MAX_LEVELS`] deep. A
//! parent lists its direct subtasks; completing a parent leaves its open subtasks
//! open and says so, unless the request asks to complete them too.

use serde::Serialize;
use utoipa::ToSchema;

use super::{task_input::UpdateTask, views::TaskView};
use crate::{
    auth::Principal,
    db::{
        repo::{self, activity::Change, subtasks::TaskLink, tasks::TaskRow, Connection},
        Db,
    },
    domain::TaskStatus,
    error::{AppError, AppResult},
    state::AppState,
};

/// Levels of a task tree, the top-level task included: a task, its subtasks, theirs
/// and theirs. Deeper trees are hard to read on a page and rarely reflect real work.
pub const MAX_LEVELS: usize = 4;

/// Another task as a link: enough to show and follow it.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct TaskRef {
    pub id: i64,
    pub title: String,
    pub status: TaskStatus,
}

impl From<&TaskLink> for TaskRef {
    fn from(t: &TaskLink) -> Self {
        TaskRef { id: t.id, title: t.title.clone(), status: TaskStatus::parse(&t.status).unwrap_or(TaskStatus::Todo) }
    }
}

fn refused(code: &str, message: impl Into<String>) -> AppError {
    AppError::field("parent_id", code, message)
}

/// Checks that `parent` may become the parent of `task` (`None`: a task about to be
/// created) in `project_id`. A task of another project, visible or not, gets the same
/// answer, so the check reveals nothing about other projects.
pub async fn check_parent(
    db: &Db,
    c: &mut Connection,
    project_id: i64,
    task: Option<i64>,
    parent: i64,
) -> AppResult<()> {
    if Some(parent) == task {
        return Err(refused("self", "a task cannot be its own parent"));
    }
    repo::subtasks::lock_project(db, c, project_id).await?;
    // Walk up from the new parent: the task must not be among its ancestors.
    let mut levels_above = 0;
    let mut cursor = Some(parent);
    while let Some(id) = cursor {
        let link = repo::subtasks::link(db, c, id).await?.filter(|l| l.project_id == project_id);
        let Some(link) = link else {
            return Err(refused("not_in_project", "the parent must be a task of the same project"));
        };
        if Some(link.id) == task {
            return Err(refused("cycle", "the parent cannot be one of the task's own subtasks"));
        }
        levels_above += 1;
        if levels_above > MAX_LEVELS {
            break;
        }
        cursor = link.parent_id;
    }
    let levels_below = match task {
        Some(t) => repo::subtasks::descendants(db, c, t, MAX_LEVELS).await?.len(),
        None => 0,
    };
    if levels_above + 1 + levels_below > MAX_LEVELS {
        return Err(refused("too_deep", format!("subtasks nest at most {MAX_LEVELS} levels deep")));
    }
    Ok(())
}

/// Writes a checked parent (or none) with activity on the task and on the parents
/// it leaves and joins. The version moves with the caller's update of the task.
pub async fn write_parent(
    db: &Db,
    c: &mut Connection,
    task: &TaskRow,
    parent: Option<i64>,
    actor: i64,
    now: i64,
) -> AppResult<()> {
    if task.parent_id == parent {
        return Ok(());
    }
    repo::subtasks::set_parent(db, c, task.id, parent).await?;
    let id = |i: Option<i64>| i.map(|i| i.to_string());
    let change = Change { field: "parent_id", old: id(task.parent_id), new: id(parent) };
    repo::activity::record(db, c, task.id, actor, &[change], now).await?;
    if let Some(old) = task.parent_id {
        let change = Change { field: "subtasks", old: id(Some(task.id)), new: None };
        repo::activity::record(db, c, old, actor, &[change], now).await?;
    }
    if let Some(new) = parent {
        let change = Change { field: "subtasks", old: None, new: id(Some(task.id)) };
        repo::activity::record(db, c, new, actor, &[change], now).await?;
    }
    Ok(())
}

/// The subtasks (at any depth) that are not done, top level first.
pub async fn open_below(db: &Db, c: &mut Connection, task_id: i64) -> AppResult<Vec<TaskLink>> {
    let levels = repo::subtasks::descendants(db, c, task_id, MAX_LEVELS).await?;
    Ok(levels.into_iter().flatten().filter(|t| t.status != TaskStatus::Done.as_str()).collect())
}

/// Adds the direct subtasks to a view about one task.
pub async fn describe(db: &Db, c: &mut Connection, view: &mut TaskView) -> AppResult<()> {
    let children = repo::subtasks::children(db, c, &[view.id]).await?;
    view.subtasks = Some(children.iter().map(TaskRef::from).collect());
    Ok(())
}

/// After a task's update: when the task is done and the caller asked for it
/// (`complete_subtasks`), completes its open subtasks, each with its own activity,
/// notifications and webhooks; when the update just completed the task without
/// that, names the subtasks left open.
pub async fn after_update(
    state: &AppState,
    c: &mut Connection,
    principal: &Principal,
    before: &TaskRow,
    view: &mut TaskView,
    complete_subtasks: bool,
    now: i64,
) -> AppResult<()> {
    let done = view.status == TaskStatus::Done;
    if complete_subtasks && !done {
        return Err(AppError::field(
            "complete_subtasks",
            "not_done",
            "complete_subtasks needs the task to be done (status done)",
        ));
    }
    let just_completed = done && before.status != TaskStatus::Done.as_str();
    if !complete_subtasks && !just_completed {
        return Ok(());
    }
    let open = open_below(&state.db, c, view.id).await?;
    if !complete_subtasks {
        if !open.is_empty() {
            view.open_subtasks = Some(open.iter().map(|t| t.id).collect());
        }
        return Ok(());
    }
    let mut completed = Vec::with_capacity(open.len());
    let body = UpdateTask { status: Some(TaskStatus::Done), ..UpdateTask::default() };
    for t in &open {
        let current =
            repo::tasks::get_with_labels(&state.db, c, t.id, principal.id(), false).await?.ok_or(AppError::NotFound)?;
        super::tasks::apply_fields(state, c, principal, &current, &body, now).await?;
        completed.push(t.id);
    }
    view.completed_subtasks = Some(completed);
    Ok(())
}
