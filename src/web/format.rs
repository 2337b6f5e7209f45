//! Dates in the viewer's time zone, and the words the UI uses for statuses and
//! priorities.

use chrono::{NaiveDate, NaiveDateTime, TimeZone as _};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::domain::{to_rfc3339, Priority, TaskStatus};

pub fn tz(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

/// "Tue 3 Feb 2026, 17:00" in the zone.
pub fn datetime(ms: i64, zone: Tz) -> String {
    to_rfc3339(ms).with_timezone(&zone).format("%a %-d %b %Y, %H:%M").to_string()
}

/// The value of a `datetime-local` input.
pub fn datetime_input(ms: i64, zone: Tz) -> String {
    to_rfc3339(ms).with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string()
}

/// A `<time>` element's data: text, machine-readable value.
pub fn time(ms: i64, zone: Tz) -> Value {
    json!({"text": datetime(ms, zone), "iso": to_rfc3339(ms).to_rfc3339()})
}

/// Parses a `datetime-local` value (seconds optional) in the zone, as RFC 3339 with offset.
pub fn parse_local(raw: &str, zone: Tz) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    zone.from_local_datetime(&naive).earliest().map(|t| t.fixed_offset())
}

/// The start of a day (`YYYY-MM-DD`) in the zone, as RFC 3339; other values unchanged.
pub fn day_start(raw: &str, zone: Tz) -> String {
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) => d
            .and_hms_opt(0, 0, 0)
            .and_then(|t| zone.from_local_datetime(&t).earliest())
            .map(|t| t.fixed_offset().to_rfc3339())
            .unwrap_or_else(|| raw.to_owned()),
        Err(_) => raw.to_owned(),
    }
}

pub fn status_label(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Todo => "To do",
        TaskStatus::InProgress => "In progress",
        TaskStatus::Blocked => "Blocked",
        TaskStatus::Done => "Done",
    }
}

pub fn priority_label(p: Priority) -> &'static str {
    match p {
        Priority::Low => "Low",
        Priority::Medium => "Medium",
        Priority::High => "High",
        Priority::Urgent => "Urgent",
    }
}

/// `<option>`s of the statuses, one selected.
pub fn status_options(selected: &str) -> Value {
    TaskStatus::ALL
        .iter()
        .map(|s| json!({"value": s.as_str(), "label": status_label(*s), "selected": s.as_str() == selected}))
        .collect()
}

pub fn priority_options(selected: &str) -> Value {
    Priority::ALL
        .iter()
        .map(|p| json!({"value": p.as_str(), "label": priority_label(*p), "selected": p.as_str() == selected}))
        .collect()
}

/// A data URI of a small coloured dot (inline styles are not allowed by the CSP).
pub fn swatch(color: &str) -> String {
    let hex: String = color.trim_start_matches('#').chars().filter(|c| c.is_ascii_hexdigit()).take(6).collect();
    format!(
        "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='12' height='12'%3E%3Ccircle cx='6' cy='6' r='6' fill='%23{hex}'/%3E%3C/svg%3E"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_round_trip_through_the_zone() {
        let paris = tz("Europe/Paris");
        let t = parse_local("2026-07-01T09:30", paris).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-07-01T09:30:00+02:00");
        assert_eq!(datetime_input(t.timestamp_millis(), paris), "2026-07-01T09:30");
        assert_eq!(day_start("2026-01-05", paris), "2026-01-05T00:00:00+01:00");
        assert_eq!(day_start("2026-01-05T10:00:00Z", paris), "2026-01-05T10:00:00Z");
        assert!(parse_local("tomorrow", paris).is_none());
    }
}
