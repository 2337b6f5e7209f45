//! The reminder check of the SMTP drill: the drill's tasks with a due date and their
//! due-soon reminders in the outbox (read from the database) against the messages the
//! lab's SMTP relay received. After the load stops the runner waits, bounded, for the
//! outbox to drain before it judges.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use crate::journal::ReminderCheck;
use crate::lab::mail::{self, Received};
use crate::lab::supervisor::now;
use crate::measures::psql_rows;

/// A drill task with a due date and its reminder, if the scan has queued it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reminder {
    pub task_id: i64,
    /// Outbox status; `None` when no reminder is queued yet.
    pub status: Option<String>,
    pub attempts: i64,
    /// When it fell due and when the relay accepted it (Unix ms).
    pub scheduled_at: Option<i64>,
    pub sent_at: Option<i64>,
}

async fn reminders_in_database(url: &str, project_id: i64) -> anyhow::Result<Vec<Reminder>> {
    let sql = format!(
        "select t.id, n.status, n.attempts, n.scheduled_at, n.sent_at from task t \
         left join notification n on n.task_id = t.id and n.kind = 'due_soon' \
         where t.project_id = {project_id} and t.due_at is not null order by t.id"
    );
    let num = |s: &String| s.parse::<i64>().ok();
    Ok(psql_rows(url, &sql)
        .await?
        .iter()
        .filter_map(|r| {
            Some(Reminder {
                task_id: num(r.first()?)?,
                status: r.get(1).filter(|s| !s.is_empty()).cloned(),
                attempts: r.get(2).and_then(num).unwrap_or(0),
                scheduled_at: r.get(3).and_then(num),
                sent_at: r.get(4).and_then(num),
            })
        })
        .collect())
}

/// Compares what fell due with what arrived; `outage` is when the relay was down (Unix s).
pub fn compare(due: &[Reminder], received: &[Received], outage: Option<(f64, f64)>) -> ReminderCheck {
    let mut copies: HashMap<i64, Vec<f64>> = HashMap::new();
    for m in received {
        if let Some(id) = m.task_id {
            copies.entry(id).or_default().push(m.at);
        }
    }
    let mut check = ReminderCheck { due: due.len(), ..Default::default() };
    let ids: std::collections::HashSet<i64> = due.iter().map(|r| r.task_id).collect();
    check.unmatched = received.iter().filter(|m| m.task_id.is_none_or(|id| !ids.contains(&id))).count();
    check.duplicates = copies.iter().filter(|(id, _)| ids.contains(id)).map(|(_, c)| c.len() - 1).sum();
    let in_outage = |ms: i64| outage.is_some_and(|(a, b)| (a..=b).contains(&(ms as f64 / 1000.0)));
    for r in due {
        let status = r.status.clone().unwrap_or_else(|| "not queued".into());
        *check.outbox.entry(status).or_default() += 1;
        match copies.get(&r.task_id) {
            Some(c) => {
                check.received += 1;
                if let (true, Some((_, back))) = (r.scheduled_at.is_some_and(in_outage), outage) {
                    let first = c.iter().copied().fold(f64::INFINITY, f64::min);
                    check.last_after_outage_seconds =
                        Some(check.last_after_outage_seconds.unwrap_or(0.0).max(first - back));
                }
            }
            None => check.lost.push(r.task_id),
        }
        if r.scheduled_at.is_some_and(in_outage) {
            check.due_during_outage += 1;
        }
        if r.status.as_deref() == Some("sent") {
            check.retried_attempts += (r.attempts - 1).max(0);
            if let (Some(a), Some(b)) = (r.scheduled_at, r.sent_at) {
                let d = (b - a) as f64 / 1000.0;
                check.max_delay_seconds = Some(check.max_delay_seconds.unwrap_or(0.0).max(d));
            }
        }
    }
    check
}

/// Waits (at most `timeout`) until every drill task's reminder has arrived and nothing
/// is left pending, then compares.
pub async fn wait_and_compare(
    db_url: &str,
    project_id: i64,
    lab: &Path,
    recipient: &str,
    outage: Option<(f64, f64)>,
    timeout: Duration,
) -> ReminderCheck {
    let start = now();
    loop {
        let due = reminders_in_database(db_url, project_id).await;
        let received = mail::received(lab, recipient);
        let mut check = match (due, received) {
            (Ok(d), Ok(r)) => compare(&d, &r, outage),
            (Err(e), _) | (_, Err(e)) => ReminderCheck { error: Some(format!("{e:#}")), ..Default::default() },
        };
        let waiting = check.outbox.contains_key("pending") || check.outbox.contains_key("not queued");
        if (check.error.is_none() && check.lost.is_empty() && !waiting) || now() - start >= timeout.as_secs_f64() {
            check.waited_seconds = now() - start;
            return check;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(task_id: i64, status: &str, attempts: i64, scheduled_s: i64, sent_s: Option<i64>) -> Reminder {
        Reminder {
            task_id,
            status: Some(status.into()).filter(|s: &String| !s.is_empty()),
            attempts,
            scheduled_at: Some(scheduled_s * 1000),
            sent_at: sent_s.map(|s| s * 1000),
        }
    }

    fn mail(at: f64, task_id: Option<i64>) -> Received {
        Received { at, subject: "Due".into(), task_id }
    }

    #[test]
    fn lost_duplicated_and_late_reminders_are_told_apart() {
        let rows = [
            due(1, "sent", 1, 100, Some(101)),
            due(2, "sent", 4, 120, Some(175)), // fell due in the outage, three failures
            due(3, "pending", 2, 130, None),   // not delivered yet
            due(4, "", 0, 0, None),            // never queued
        ];
        let got = [mail(101.0, Some(1)), mail(175.0, Some(2)), mail(176.0, Some(2)), mail(150.0, None)];
        let c = compare(&rows, &got, Some((110.0, 170.0)));
        assert_eq!((c.due, c.received, c.duplicates, c.unmatched), (4, 2, 1, 1));
        assert_eq!(c.lost, [3, 4]);
        assert_eq!(c.due_during_outage, 2);
        assert_eq!(c.retried_attempts, 3);
        assert_eq!(c.max_delay_seconds, Some(55.0));
        assert_eq!(c.last_after_outage_seconds, Some(5.0));
        assert_eq!(c.outbox["sent"], 2);
        assert_eq!(c.outbox["not queued"], 1);
    }
}
