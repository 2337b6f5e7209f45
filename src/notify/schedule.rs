//! The scheduled scans that queue notifications: due-soon reminders (every minute, with
//! the count of reminders that missed their objective) and daily digests (every 15 minutes, for the accounts whose local digest time has
//! come). Both are exactly-once through the outbox's deduplication key, and on
//! PostgreSQL one replica runs each scan at a time (the job lock).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone as _, Timelike, Utc};
use chrono_tz::Tz;

use super::Kind;
use crate::{
    db::repo::notifications::{self, NewNotification},
    error::AppError,
    state::AppState,
};

/// The longest reminder lead time an account can choose (7 days), bounding the scan.
pub const MAX_LEAD_MINUTES: i64 = 7 * 24 * 60;

/// Queues the due-soon reminders whose time has come. Returns how many.
pub async fn queue_due_soon(state: &AppState, now: i64) -> Result<u64, AppError> {
    let mut tx = state.db.begin().await?;
    let queued = notifications::queue_due_soon(&state.db, &mut tx, now, MAX_LEAD_MINUTES * 60_000).await?;
    tx.commit().await?;
    Ok(queued)
}

/// Counts the due-soon reminders still unsent past the objective (`missed` in
/// `task_manager_reminders_total`), each once: during an SMTP outage the reminder SLI
/// sees failures as their deadlines pass, not only after the relay is back. Returns
/// how many.
pub async fn count_missed_reminders(state: &AppState, now: i64) -> Result<u64, AppError> {
    let mut tx = state.db.begin().await?;
    let missed =
        notifications::count_missed_reminders(&state.db, &mut tx, now, now - super::REMINDER_OBJECTIVE_MS).await?;
    tx.commit().await?;
    state.metrics.reminders.with_label_values(&["missed"]).inc_by(missed);
    Ok(missed)
}

/// Queues today's digest for every account whose local digest time has passed and
/// that has overdue or due-today tasks. Returns how many were queued.
pub async fn queue_digests(state: &AppState, now: i64) -> Result<u64, AppError> {
    let db = &state.db;
    // Every time zone's "end of today" lies within 38 hours.
    let mut c = db.conn().await?;
    let candidates = notifications::digest_candidates(db, &mut c, now + 38 * 3600 * 1000).await?;
    let mut queued = 0;
    for cand in candidates {
        let tz: Tz = cand.time_zone.parse().unwrap_or(Tz::UTC);
        let day = LocalDay::of(tz, now);
        if day.minute_of_day < cand.digest_minute {
            continue;
        }
        if notifications::digest_tasks(db, &mut c, cand.user_id, day.end).await?.is_empty() {
            continue;
        }
        let n = NewNotification {
            kind: Kind::Digest.as_str(),
            user_id: cand.user_id,
            due_at: Some(day.end),
            dedupe_key: Some(format!("digest:{}:{}", cand.user_id, day.date)),
            scheduled_at: day.at_minute(tz, cand.digest_minute).min(now),
            now,
            ..Default::default()
        };
        let mut tx = db.begin().await?;
        if notifications::enqueue(db, &mut tx, &n).await? {
            queued += 1;
        }
        tx.commit().await?;
    }
    Ok(queued)
}

/// "Today" for someone in time zone `tz` at instant `now` (Unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDay {
    pub date: NaiveDate,
    /// Minutes since local midnight (wall clock).
    pub minute_of_day: i64,
    /// The next local midnight, in Unix ms: tasks due before it are "due today".
    pub end: i64,
}

impl LocalDay {
    pub fn of(tz: Tz, now: i64) -> LocalDay {
        let local = DateTime::<Utc>::from_timestamp_millis(now).unwrap_or_default().with_timezone(&tz);
        let date = local.date_naive();
        let next = date.succ_opt().unwrap_or(date);
        LocalDay {
            date,
            minute_of_day: i64::from(local.hour() * 60 + local.minute()),
            end: local_instant(tz, next, NaiveTime::MIN),
        }
    }

    /// The instant (Unix ms) of a wall-clock minute of this day.
    pub fn at_minute(&self, tz: Tz, minute: i64) -> i64 {
        let time = NaiveTime::from_hms_opt((minute / 60) as u32, (minute % 60) as u32, 0).unwrap_or(NaiveTime::MIN);
        local_instant(tz, self.date, time)
    }

    /// How people read the date: `Tue 1 Dec 2026`.
    pub fn label(&self) -> String {
        format!("{} {} {}", self.date.format("%a"), self.date.day(), self.date.format("%b %Y"))
    }
}

/// A wall-clock time as an instant. A time skipped by a daylight-saving jump is moved
/// forward past the gap; an ambiguous one takes its first occurrence.
fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> i64 {
    let naive = date.and_time(time);
    for shift in 0..=3 {
        if let Some(t) = tz.from_local_datetime(&(naive + Duration::minutes(30 * shift))).earliest() {
            return t.timestamp_millis();
        }
    }
    naive.and_utc().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
    }

    #[test]
    fn today_follows_the_time_zone() {
        // 23:30 UTC on 30 Nov is already 1 Dec in Paris (UTC+1) but not in New York.
        let now = ms("2026-11-30T23:30:00Z");
        let paris = LocalDay::of(chrono_tz::Europe::Paris, now);
        assert_eq!(paris.date.to_string(), "2026-12-01");
        assert_eq!(paris.minute_of_day, 30);
        assert_eq!(paris.end, ms("2026-12-01T23:00:00Z"));
        let ny = LocalDay::of(chrono_tz::America::New_York, now);
        assert_eq!(ny.date.to_string(), "2026-11-30");
        assert_eq!(ny.minute_of_day, 18 * 60 + 30);
        assert_eq!(ny.end, ms("2026-12-01T05:00:00Z"));
        assert_eq!(paris.label(), "Tue 1 Dec 2026");
    }

    #[test]
    fn daylight_saving_days_have_23_and_25_hours() {
        // Europe/Paris springs forward on 29 Mar 2026 and falls back on 25 Oct 2026.
        let spring = LocalDay::of(chrono_tz::Europe::Paris, ms("2026-03-29T10:00:00Z"));
        assert_eq!(spring.end - spring.at_minute(chrono_tz::Europe::Paris, 0), 23 * 3600 * 1000);
        // 02:30 does not exist that day: it becomes 03:00 local (01:00 UTC).
        assert_eq!(spring.at_minute(chrono_tz::Europe::Paris, 150), ms("2026-03-29T01:00:00Z"));
        let autumn = LocalDay::of(chrono_tz::Europe::Paris, ms("2026-10-25T10:00:00Z"));
        assert_eq!(autumn.end - autumn.at_minute(chrono_tz::Europe::Paris, 0), 25 * 3600 * 1000);
        // 08:00 local after the change is UTC+1.
        assert_eq!(autumn.at_minute(chrono_tz::Europe::Paris, 8 * 60), ms("2026-10-25T07:00:00Z"));
    }
}
