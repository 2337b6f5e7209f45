//! Turning task request bodies into validated task fields, and the changes between
//! two versions of a task for the activity record.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::access::Fields;
use crate::{
    db::repo::{activity::Change, tasks::TaskFields},
    domain::{Priority, TaskDescription, TaskStatus, TaskTitle},
};

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn nullable<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    /// 1..=200 characters after trimming.
    pub title: String,
    /// Markdown, at most 20 000 characters.
    pub description: Option<String>,
    /// Defaults to `todo`.
    pub status: Option<TaskStatus>,
    /// Defaults to `medium`.
    pub priority: Option<Priority>,
    /// RFC 3339 with an offset; stored in UTC.
    pub due_at: Option<DateTime<FixedOffset>>,
    /// Must be a member of the project.
    pub assignee_id: Option<i64>,
    /// Label ids of the same project.
    pub labels: Option<Vec<i64>>,
    /// Makes the new task a subtask of this task of the same project.
    pub parent_id: Option<i64>,
    /// An RFC 5545 RRULE (`FREQ=WEEKLY;BYDAY=MO`); needs `due_at`.
    pub recurrence: Option<String>,
}

/// A partial update: absent fields stay as they are, `null` clears a nullable field.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateTask {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<TaskStatus>,
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub due_at: Option<Option<DateTime<FixedOffset>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<i64>>,
    pub labels: Option<Vec<i64>>,
    /// Another task of the same project, not this one nor one of its subtasks;
    /// `null` makes the task a top-level task again.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub parent_id: Option<Option<i64>>,
    /// With the task done after this update: complete its open subtasks (at any depth)
    /// in the same transaction. Without it, completing a task leaves them open and the
    /// response lists them in `open_subtasks`.
    pub complete_subtasks: Option<bool>,
    /// An RFC 5545 RRULE; `null` makes the task one-off. Needs a due date.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub recurrence: Option<Option<String>>,
}

impl UpdateTask {
    /// Applies the update onto `current`, collecting every invalid field.
    pub fn apply(&self, current: &TaskFields, now: i64) -> Result<TaskFields, crate::error::AppError> {
        let mut f = Fields::default();
        let mut next = current.clone();
        if let Some(t) = &self.title {
            if let Some(t) = f.take(TaskTitle::parse(t)) {
                next.title = t.into_inner();
            }
        }
        if let Some(d) = &self.description {
            if let Some(d) = f.take(TaskDescription::parse(d)) {
                next.description = d.as_str().to_owned();
            }
        }
        if let Some(p) = self.priority {
            next.priority = p.rank();
        }
        if let Some(due) = self.due_at {
            next.due_at = due.map(|d| d.with_timezone(&Utc).timestamp_millis());
        }
        if let Some(a) = self.assignee_id {
            next.assignee_id = a;
        }
        if let Some(s) = self.status {
            set_status(&mut next, s, now);
        }
        if let Some(labels) = &self.labels {
            check_labels(&mut f, labels);
        }
        f.finish()?;
        Ok(next)
    }
}

/// Sets the status; `completed_at` follows `done`.
pub fn set_status(t: &mut TaskFields, s: TaskStatus, now: i64) {
    let was_done = t.status == TaskStatus::Done.as_str();
    t.status = s.as_str().to_owned();
    match (was_done, s == TaskStatus::Done) {
        (false, true) => t.completed_at = Some(now),
        (true, false) => t.completed_at = None,
        _ => {}
    }
}

pub fn check_labels(f: &mut Fields, labels: &[i64]) {
    if labels.len() > 50 {
        f.push("labels", "too_many", "a task has at most 50 labels");
    }
    let mut sorted = labels.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != labels.len() {
        f.push("labels", "duplicate", "labels must not repeat");
    }
}

impl CreateTask {
    /// Validated fields, with the position left for the caller to choose.
    pub fn fields(&self, now: i64) -> Result<TaskFields, crate::error::AppError> {
        let mut f = Fields::default();
        let title = f.take(TaskTitle::parse(&self.title));
        let description = f.take(TaskDescription::parse(self.description.as_deref().unwrap_or("")));
        if let Some(labels) = &self.labels {
            check_labels(&mut f, labels);
        }
        f.finish()?;
        let mut fields = TaskFields {
            title: title.unwrap().into_inner(),
            description: description.unwrap().as_str().to_owned(),
            status: TaskStatus::Todo.as_str().into(),
            priority: self.priority.unwrap_or(Priority::Medium).rank(),
            due_at: self.due_at.map(|d| d.with_timezone(&Utc).timestamp_millis()),
            assignee_id: self.assignee_id,
            position: String::new(),
            completed_at: None,
        };
        set_status(&mut fields, self.status.unwrap_or(TaskStatus::Todo), now);
        Ok(fields)
    }
}

fn fmt_time(ms: Option<i64>) -> Option<String> {
    ms.map(|m| crate::domain::to_rfc3339(m).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// One activity entry per field that differs.
pub fn changes(old: &TaskFields, new: &TaskFields) -> Vec<Change> {
    let mut out = vec![];
    let mut diff = |field: &'static str, a: Option<String>, b: Option<String>| {
        if a != b {
            out.push(Change { field, old: a, new: b });
        }
    };
    diff("title", Some(old.title.clone()), Some(new.title.clone()));
    diff("description", Some(old.description.clone()), Some(new.description.clone()));
    diff("status", Some(old.status.clone()), Some(new.status.clone()));
    diff(
        "priority",
        Some(Priority::from_rank(old.priority).as_str().into()),
        Some(Priority::from_rank(new.priority).as_str().into()),
    );
    diff("due_at", fmt_time(old.due_at), fmt_time(new.due_at));
    diff("assignee_id", old.assignee_id.map(|a| a.to_string()), new.assignee_id.map(|a| a.to_string()));
    diff("position", Some(old.position.clone()), Some(new.position.clone()));
    out
}

pub fn label_change(old: &[i64], new: &[i64]) -> Option<Change> {
    let fmt = |l: &[i64]| {
        let mut v = l.to_vec();
        v.sort_unstable();
        v.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    };
    let (a, b) = (fmt(old), fmt(new));
    (a != b).then_some(Change { field: "labels", old: Some(a), new: Some(b) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> TaskFields {
        TaskFields {
            title: "a".into(),
            description: String::new(),
            status: "todo".into(),
            priority: 1,
            due_at: Some(5),
            assignee_id: None,
            position: "V".into(),
            completed_at: None,
        }
    }

    #[test]
    fn done_sets_and_clears_completed_at() {
        let mut t = base();
        set_status(&mut t, TaskStatus::Done, 42);
        assert_eq!(t.completed_at, Some(42));
        set_status(&mut t, TaskStatus::InProgress, 43);
        assert_eq!(t.completed_at, None);
    }

    #[test]
    fn null_clears_and_absent_keeps() {
        let u: UpdateTask = serde_json::from_str(r#"{"due_at": null}"#).unwrap();
        assert_eq!(u.apply(&base(), 0).unwrap().due_at, None);
        let u: UpdateTask = serde_json::from_str(r#"{"title": "b"}"#).unwrap();
        let next = u.apply(&base(), 0).unwrap();
        assert_eq!((next.due_at, next.title.as_str()), (Some(5), "b"));
        let ch = changes(&base(), &next);
        assert_eq!(ch.len(), 1);
        assert_eq!(ch[0].field, "title");
    }
}
