//! The outbox sender: claims due notifications, renders them from the current state
//! of the database (a notification that no longer makes sense is cancelled: the task
//! was completed, its due date moved, the recipient left the project or turned the
//! kind off), hands them to SMTP and records the outcome. A failed attempt is retried
//! with exponential backoff and jitter up to `notify_max_attempts`, then the
//! notification is marked dead.

use std::time::{Duration, Instant};

use lettre::message::Mailbox;
use rand::Rng;
use serde_json::{json, Value};
use tracing::Instrument;

use super::{mailer::Email, schedule::LocalDay, Kind};
use crate::{
    db::repo::{
        self,
        notifications::{Claimed, Outcome},
    },
    domain::{now_millis, Priority, TaskStatus},
    error::AppError,
    state::AppState,
    web::format,
};

/// Notifications claimed per round; rounds repeat until the outbox has nothing due.
const BATCH: i64 = 20;
/// Rounds per job run, so one run cannot monopolise the sender.
const MAX_ROUNDS: usize = 50;

/// Delivers what is due. Returns how many notifications were handled.
pub async fn deliver_due(state: &AppState) -> Result<usize, AppError> {
    // A claim outlives the slowest send, so no other replica takes it meanwhile.
    let lease_ms = (state.config.smtp_timeout.as_millis() as i64) * 2 + 30_000;
    // Only what was due when the run started: a retry scheduled by this run waits for
    // a later run instead of burning its attempts in a tight loop.
    let started = now_millis();
    let mut handled = 0;
    for _ in 0..MAX_ROUNDS {
        let mut tx = state.db.begin().await?;
        let claimed = repo::notifications::claim(&state.db, &mut tx, started, lease_ms, BATCH).await?;
        tx.commit().await?;
        if claimed.is_empty() {
            break;
        }
        for n in claimed {
            let span = tracing::info_span!(
                "notification.send",
                otel.name = "notification.send",
                notification.kind = n.kind.as_str(),
                notification.id = n.id,
                notification.attempt = n.attempts
            );
            deliver_one(state, &n).instrument(span).await?;
            handled += 1;
        }
    }
    Ok(handled)
}

async fn deliver_one(state: &AppState, n: &Claimed) -> Result<(), AppError> {
    let kind = Kind::parse(&n.kind).unwrap_or(Kind::Comment);
    let (outcome, error) = match prepare(state, n, kind).await? {
        None => (Outcome::Cancelled, None),
        Some(_) if state.notifier.mailer.is_none() => {
            count(state, kind, "undeliverable");
            (Outcome::Undeliverable, Some("no SMTP relay configured".to_owned()))
        }
        Some(email) => {
            let mailer = state.notifier.mailer.as_ref().expect("checked above");
            let start = Instant::now();
            let sent = mailer.send(&email).await;
            state.metrics.email_duration.observe(start.elapsed().as_secs_f64());
            match sent {
                Ok(()) => {
                    count(state, kind, "sent");
                    if kind == Kind::DueSoon {
                        let delay = (now_millis() - n.scheduled_at).max(0) as f64 / 1000.0;
                        state.metrics.reminder_delay.observe(delay);
                    }
                    (Outcome::Sent, None)
                }
                Err(e) => {
                    count(state, kind, "failed");
                    let error = format!("{e:#}");
                    tracing::warn!(notification = n.id, attempt = n.attempts, error = %error, "sending e-mail failed");
                    if n.attempts >= i64::from(state.config.notify_max_attempts) {
                        tracing::error!(notification = n.id, "giving up on notification after every attempt");
                        (Outcome::Dead, Some(error))
                    } else {
                        let delay = backoff(state.config.notify_retry_base, state.config.notify_retry_max, n.attempts);
                        (Outcome::Retry { at: now_millis() + delay.as_millis() as i64 }, Some(error))
                    }
                }
            }
        }
    };
    let now = now_millis();
    let timeliness = (kind == Kind::DueSoon).then(|| reminder_outcome(outcome, now - n.scheduled_at)).flatten();
    let mut tx = state.db.begin().await?;
    repo::notifications::finish(&state.db, &mut tx, n.id, outcome, error.as_deref(), now).await?;
    let counted = match timeliness {
        Some(_) => repo::notifications::count_reminder(&state.db, &mut tx, n.id, now).await?,
        None => false,
    };
    tx.commit().await?;
    if let (true, Some(label)) = (counted, timeliness) {
        state.metrics.reminders.with_label_values(&[label]).inc();
    }
    Ok(())
}

/// How a reminder that reached `outcome` `late_ms` after its scheduled time counts in
/// the reminder SLI, or `None` when it does not count (yet): a retry is decided later,
/// and a reminder cancelled before its deadline (task done, due date moved) was never
/// owed. Whatever is still unsent at the deadline is counted `missed` by the scan.
pub fn reminder_outcome(outcome: Outcome, late_ms: i64) -> Option<&'static str> {
    let in_time = late_ms <= super::REMINDER_OBJECTIVE_MS;
    match outcome {
        Outcome::Sent if in_time => Some("on_time"),
        Outcome::Sent => Some("late"),
        Outcome::Dead => Some("dead"),
        Outcome::Undeliverable => Some("undeliverable"),
        Outcome::Cancelled if in_time => None,
        Outcome::Cancelled => Some("missed"),
        Outcome::Retry { .. } => None,
    }
}

fn count(state: &AppState, kind: Kind, outcome: &str) {
    state.metrics.emails.with_label_values(&[kind.as_str(), outcome]).inc();
}

/// Retry delay after `attempts` failed attempts: `base × 2^(attempts − 1)`, capped,
/// with "equal jitter" (between half and all of it) so replicas that failed together
/// do not retry together.
pub fn backoff(base: Duration, max: Duration, attempts: i64) -> Duration {
    let exp = attempts.clamp(1, 30) as u32 - 1;
    let full = base.saturating_mul(2u32.saturating_pow(exp)).min(max);
    let half = full / 2;
    half + Duration::from_millis(rand::thread_rng().gen_range(0..=half.as_millis() as u64))
}

/// The e-mail for a notification, or `None` when it should no longer be sent.
async fn prepare(state: &AppState, n: &Claimed, kind: Kind) -> Result<Option<Email>, AppError> {
    let db = &state.db;
    let mut c = db.conn().await?;
    let Some(user) = repo::users::by_id(db, &mut c, n.user_id).await? else { return Ok(None) };
    let settings = repo::notifications::settings(db, &mut c, user.id).await?;
    let wanted = match kind {
        Kind::Assigned => settings.assigned,
        Kind::DueSoon => settings.due_soon,
        Kind::Digest => settings.digest,
        Kind::Comment => settings.comment,
    };
    if user.disabled != 0 || wanted == 0 {
        return Ok(None);
    }
    let Ok(to) = format!("{} <{}>", user.display_name.replace(['<', '>', '"', '\r', '\n'], ""), user.email)
        .parse::<Mailbox>()
        .or_else(|_| user.email.parse::<Mailbox>())
    else {
        return Ok(None);
    };
    let tz = format::tz(&user.time_zone);
    let links = &state.notifier.links;
    let mut data = json!({
        "recipient_name": user.display_name,
        "reason": kind.describe(),
        "unsubscribe_url": links.unsubscribe_url(user.id, kind),
        "settings_url": links.url("/account#notifications"),
        "my_tasks_url": links.url("/my-tasks"),
    });
    if kind == Kind::Digest {
        let due_before = n.due_at.unwrap_or(0);
        let tasks = repo::notifications::digest_tasks(db, &mut c, user.id, due_before).await?;
        if tasks.is_empty() {
            return Ok(None);
        }
        let now = now_millis();
        let item = |t: &repo::notifications::DigestTask| {
            json!({"title": t.title, "project": t.project_name, "due": format::datetime(t.due_at, tz),
                   "url": links.url(&format!("/tasks/{}", t.id))})
        };
        let overdue: Vec<Value> = tasks.iter().filter(|t| t.due_at <= now).map(item).collect();
        let today: Vec<Value> = tasks.iter().filter(|t| t.due_at > now).map(item).collect();
        let day = LocalDay::of(tz, due_before - 1);
        data["date"] = json!(day.label());
        data["overdue_count"] = json!(overdue.len());
        data["today_count"] = json!(today.len());
        data["overdue"] = json!(overdue);
        data["today"] = json!(today);
    } else {
        // Task notifications go only to current members of the task's project.
        let Some(task_id) = n.task_id else { return Ok(None) };
        let Some((task, _)) = repo::tasks::get_for_member(db, &mut c, task_id, user.id, false).await? else {
            return Ok(None);
        };
        let Some(project) = repo::projects::get_for_member(db, &mut c, task.project_id, user.id).await? else {
            return Ok(None);
        };
        if project.archived != 0 {
            return Ok(None);
        }
        if kind == Kind::DueSoon
            && (task.status == TaskStatus::Done.as_str()
                || task.due_at != n.due_at
                || task.assignee_id != Some(user.id))
        {
            return Ok(None);
        }
        if kind == Kind::Assigned && task.assignee_id != Some(user.id) {
            return Ok(None);
        }
        let actor = match n.actor_id {
            Some(a) => repo::users::by_id(db, &mut c, a).await?.map(|u| u.display_name),
            None => None,
        };
        data["actor_name"] = json!(actor.unwrap_or_else(|| "Someone".to_owned()));
        data["task"] = json!({
            "title": task.title,
            "project": project.name,
            "priority": format::priority_label(Priority::from_rank(task.priority)),
            "due": task.due_at.map(|d| format!("{} ({})", format::datetime(d, tz), tz.name())).unwrap_or_default(),
            "url": links.url(&format!("/tasks/{}", task.id)),
        });
        if kind == Kind::Comment {
            let Some(comment_id) = n.comment_id else { return Ok(None) };
            let Some(comment) = repo::comments::get(db, &mut c, task.id, comment_id).await? else { return Ok(None) };
            data["comment"] = json!(excerpt(&comment.body, 2000));
        } else {
            data["comment"] = json!("");
        }
    }
    drop(c);
    let rendered = state.notifier.templates.render(kind, &data).map_err(AppError::Internal)?;
    Ok(Some(Email {
        to,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        unsubscribe_url: links.unsubscribe_url(user.id, kind),
    }))
}

/// At most `max` characters, cut at a character boundary.
fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(3600);
        for _ in 0..100 {
            let first = backoff(base, max, 1);
            assert!(first >= Duration::from_secs(15) && first <= base, "{first:?}");
            let third = backoff(base, max, 3);
            assert!(third >= Duration::from_secs(60) && third <= Duration::from_secs(120), "{third:?}");
            let late = backoff(base, max, 40);
            assert!(late >= Duration::from_secs(1800) && late <= max, "{late:?}");
        }
    }

    #[test]
    fn reminders_count_by_their_fate_at_the_objective() {
        let objective = crate::notify::REMINDER_OBJECTIVE_MS;
        assert_eq!(reminder_outcome(Outcome::Sent, objective), Some("on_time"));
        assert_eq!(reminder_outcome(Outcome::Sent, objective + 1), Some("late"));
        assert_eq!(reminder_outcome(Outcome::Dead, 0), Some("dead"));
        assert_eq!(reminder_outcome(Outcome::Undeliverable, 0), Some("undeliverable"));
        assert_eq!(reminder_outcome(Outcome::Cancelled, 0), None);
        assert_eq!(reminder_outcome(Outcome::Cancelled, objective + 1), Some("missed"));
        assert_eq!(reminder_outcome(Outcome::Retry { at: 0 }, objective + 1), None);
    }

    #[test]
    fn excerpts_cut_on_characters() {
        assert_eq!(excerpt("héllo", 2), "hé…");
        assert_eq!(excerpt("ok", 5), "ok");
    }
}
