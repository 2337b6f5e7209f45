//! JSON shapes of the API's responses, built from rows.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::subtasks::TaskRef;
use crate::{
    db::repo::{
        activity::ActivityRow, comments::CommentRow, labels::LabelRow, members::MemberRow, projects::ProjectRow,
        tasks::TaskRow, tokens::TokenRow, users::UserRow,
    },
    domain::{to_rfc3339, Priority, Recurrence, Role, TaskStatus},
};

fn ts(ms: i64) -> DateTime<Utc> {
    to_rfc3339(ms)
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub time_zone: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        UserView {
            id: u.id,
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            time_zone: u.time_zone.clone(),
            is_admin: u.is_admin != 0,
            disabled: u.disabled != 0,
            created_at: ts(u.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProjectView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub archived: bool,
    /// The caller's role in the project.
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&ProjectRow> for ProjectView {
    fn from(p: &ProjectRow) -> Self {
        ProjectView {
            id: p.id,
            name: p.name.clone(),
            description: p.description.clone(),
            archived: p.archived != 0,
            role: Role::parse(&p.role).unwrap_or(Role::Viewer),
            created_at: ts(p.created_at),
            updated_at: ts(p.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

impl From<&MemberRow> for MemberView {
    fn from(m: &MemberRow) -> Self {
        MemberView {
            user_id: m.user_id,
            email: m.email.clone(),
            display_name: m.display_name.clone(),
            role: Role::parse(&m.role).unwrap_or(Role::Viewer),
            created_at: ts(m.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LabelView {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    /// `#rrggbb`
    pub color: String,
    pub created_at: DateTime<Utc>,
}

impl From<&LabelRow> for LabelView {
    fn from(l: &LabelRow) -> Self {
        LabelView {
            id: l.id,
            project_id: l.project_id,
            name: l.name.clone(),
            color: l.color.clone(),
            created_at: ts(l.created_at),
        }
    }
}

#[derive(Serialize, ToSchema, Clone)]
pub struct TaskView {
    pub id: i64,
    pub project_id: i64,
    pub title: String,
    /// Markdown.
    pub description: String,
    pub status: TaskStatus,
    pub priority: Priority,
    pub due_at: Option<DateTime<Utc>>,
    pub assignee_id: Option<i64>,
    /// Ids of the task's labels.
    pub labels: Vec<i64>,
    /// Order inside the status column (compare as strings).
    pub position: String,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases on every change; the `ETag` is `"<version>"`.
    pub version: i64,
    /// The task this one is a subtask of (a task of the same project).
    pub parent_id: Option<i64>,
    /// The direct subtasks, in board order: only in responses about one task (create,
    /// `GET`, `PATCH` and move), absent from listings, bulk results and webhooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtasks: Option<Vec<TaskRef>>,
    /// Ids of the subtasks (at any depth) still open although this request completed
    /// the task: present only then. Send `complete_subtasks: true` to complete them too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_subtasks: Option<Vec<i64>>,
    /// Ids of the subtasks this request completed with the task (`complete_subtasks`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_subtasks: Option<Vec<i64>>,
    /// RFC 5545 RRULE of a recurring task, e.g. `FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH`.
    pub recurrence: Option<String>,
    /// The rule in words, e.g. "every 2 weeks on Mon, Thu".
    pub recurrence_summary: Option<String>,
    /// The first due date of the series (the rule's DTSTART); `COUNT` and intervals
    /// count from it.
    pub recurrence_start: Option<DateTime<Utc>>,
    /// The occurrence created when this one was completed.
    pub next_occurrence_id: Option<i64>,
    /// Only in the response of the call that completed this occurrence, when it
    /// created the next one (absent when the series has ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_occurrence: Option<NextOccurrence>,
}

/// The task created by completing an occurrence of a recurring task.
#[derive(Serialize, ToSchema, Clone, Debug, PartialEq)]
pub struct NextOccurrence {
    pub id: i64,
    pub due_at: DateTime<Utc>,
}

impl TaskView {
    pub fn new(t: &TaskRow, labels: Vec<i64>) -> Self {
        TaskView {
            id: t.id,
            project_id: t.project_id,
            title: t.title.clone(),
            description: t.description.clone(),
            status: TaskStatus::parse(&t.status).unwrap_or(TaskStatus::Todo),
            priority: Priority::from_rank(t.priority),
            due_at: t.due_at.map(ts),
            assignee_id: t.assignee_id,
            labels,
            position: t.position.clone(),
            completed_at: t.completed_at.map(ts),
            created_by: t.created_by,
            created_at: ts(t.created_at),
            updated_at: ts(t.updated_at),
            version: t.version,
            parent_id: t.parent_id,
            subtasks: None,
            open_subtasks: None,
            completed_subtasks: None,
            recurrence: t.recurrence.clone(),
            recurrence_summary: t.recurrence.as_deref().and_then(Recurrence::stored).map(|r| r.summary()),
            recurrence_start: t.recurrence_start.map(ts),
            next_occurrence_id: t.recurrence_next_id,
            next_occurrence: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TaskPage {
    pub items: Vec<TaskView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MyTasks {
    pub overdue: Vec<TaskView>,
    pub due_today: Vec<TaskView>,
    pub upcoming: Vec<TaskView>,
}

#[derive(Serialize, ToSchema)]
pub struct CommentView {
    pub id: i64,
    pub task_id: i64,
    pub author_id: i64,
    pub author_name: String,
    /// Markdown.
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<&CommentRow> for CommentView {
    fn from(c: &CommentRow) -> Self {
        CommentView {
            id: c.id,
            task_id: c.task_id,
            author_id: c.author_id,
            author_name: c.author_name.clone(),
            body: c.body.clone(),
            created_at: ts(c.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ActivityView {
    pub id: i64,
    pub task_id: i64,
    pub actor_id: i64,
    pub actor_name: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&ActivityRow> for ActivityView {
    fn from(a: &ActivityRow) -> Self {
        ActivityView {
            id: a.id,
            task_id: a.task_id,
            actor_id: a.actor_id,
            actor_name: a.actor_name.clone(),
            field: a.field.clone(),
            old_value: a.old_value.clone(),
            new_value: a.new_value.clone(),
            created_at: ts(a.created_at),
        }
    }
}

#[derive(Serialize, ToSchema, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    Read,
    ReadWrite,
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub scope: TokenScope,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&TokenRow> for TokenView {
    fn from(t: &TokenRow) -> Self {
        TokenView {
            id: t.id,
            name: t.name.clone(),
            prefix: t.prefix.clone(),
            scope: if t.scope == "read" { TokenScope::Read } else { TokenScope::ReadWrite },
            created_at: ts(t.created_at),
            expires_at: t.expires_at.map(ts),
            last_used_at: t.last_used_at.map(ts),
            revoked_at: t.revoked_at.map(ts),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TokenCreated {
    pub token: TokenView,
    /// The secret, shown this once. Send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}
