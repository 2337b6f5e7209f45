//! Notifications caused by a change, queued in the change's own transaction: if the
//! change commits, its e-mails are in the outbox; if it rolls back, so do they.

use super::Kind;
use crate::db::{
    repo::{
        notifications::{self, NewNotification},
        tasks::{TaskFields, TaskRow},
        Connection,
    },
    Db,
};

/// After a task was created (`before` is `None`) or changed: tells a new assignee, and
/// disarms a pending due-soon reminder whose due date, assignee or open state changed
/// (the next scan arms the right one again).
pub async fn task_saved(
    db: &Db,
    c: &mut Connection,
    task_id: i64,
    before: Option<&TaskFields>,
    after: &TaskFields,
    actor_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    if let Some(before) = before {
        let rearm = before.due_at != after.due_at
            || before.assignee_id != after.assignee_id
            || (before.status != after.status && after.status == "done");
        if rearm {
            notifications::cancel_for_task(db, c, task_id, Kind::DueSoon.as_str()).await?;
        }
    }
    let newly_assigned = after.assignee_id.filter(|a| before.map(|b| b.assignee_id) != Some(Some(*a)));
    if let Some(assignee) = newly_assigned.filter(|a| *a != actor_id) {
        let n = NewNotification {
            kind: Kind::Assigned.as_str(),
            user_id: assignee,
            task_id: Some(task_id),
            actor_id: Some(actor_id),
            scheduled_at: now,
            now,
            ..Default::default()
        };
        notifications::enqueue(db, c, &n).await?;
    }
    Ok(())
}

/// After a comment: tells the task's creator and assignee, except the author.
pub async fn comment_added(
    db: &Db,
    c: &mut Connection,
    task: &TaskRow,
    comment_id: i64,
    author_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut recipients = vec![task.created_by];
    recipients.extend(task.assignee_id);
    recipients.sort_unstable();
    recipients.dedup();
    for user_id in recipients.into_iter().filter(|u| *u != author_id) {
        let n = NewNotification {
            kind: Kind::Comment.as_str(),
            user_id,
            task_id: Some(task.id),
            comment_id: Some(comment_id),
            actor_id: Some(author_id),
            scheduled_at: now,
            now,
            ..Default::default()
        };
        notifications::enqueue(db, c, &n).await?;
    }
    Ok(())
}
