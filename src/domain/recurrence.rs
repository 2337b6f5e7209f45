//! Recurrence rules of recurring tasks: the supported subset of RFC 5545 RRULE, the
//! next occurrence of a series in a time zone, and a readable English summary.
//!
//! A series is anchored at its first due date (the RFC's DTSTART) and evaluated in a
//! person's time zone, so "daily at 09:00" stays 09:00 on the wall clock across
//! daylight-saving changes. Parsing and iteration are the `rrule` crate's; this module
//! only narrows what a task may use and bounds the work one rule can cause.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone as _, Utc, Weekday};
use chrono_tz::Tz;
use rrule::{Frequency, NWeekday, RRule, RRuleSet, Unvalidated};

use crate::error::FieldError;

const FIELD: &str = "recurrence";

/// A validated recurrence rule such as `FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH`.
#[derive(Debug, Clone)]
pub struct Recurrence {
    /// The canonical text: upper case, without an `RRULE:` prefix or spaces.
    text: String,
    /// The rule without its `UNTIL`, which is resolved per time zone (a date-only
    /// `UNTIL` means the end of that day where the series is evaluated).
    rule: RRule<Unvalidated>,
    until: Option<Until>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Until {
    /// `UNTIL=20270131`: the whole of that local day is included.
    Date(NaiveDate),
    /// `UNTIL=20270131T170000Z`.
    Instant(DateTime<Utc>),
}

impl Recurrence {
    pub const MAX_LEN: usize = 300;
    pub const MAX_INTERVAL: u16 = 999;
    pub const MAX_COUNT: u32 = 1000;
    /// Occurrences looked through for the next one (about 27 years of a daily rule):
    /// a bound on the work of one completion.
    const MAX_STEPS: usize = 10_000;

    /// A rule as a client sent it, with every check.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let r = Self::read(raw)?;
        // Rules that are well-formed but can never occur (30 February) are refused
        // here, once, rather than discovered at every completion.
        let probe = Utc.with_ymd_and_hms(2000, 1, 1, 9, 0, 0).single().unwrap_or_default().timestamp_millis();
        let mut probe_rule = r.clone();
        probe_rule.until = None;
        let set = probe_rule.series(probe, Tz::UTC)?;
        if (&set).into_iter().take(Self::MAX_STEPS).next().is_none() {
            return Err(FieldError::new(FIELD, "never_occurs", "recurrence never occurs"));
        }
        Ok(r)
    }

    /// A rule as stored, checked when it was set: read without evaluating it again,
    /// since every listed task shows its summary.
    pub fn stored(text: &str) -> Option<Self> {
        Self::read(text).ok()
    }

    fn read(raw: &str) -> Result<Self, FieldError> {
        let invalid =
            |why: String| FieldError::new(FIELD, "invalid", format!("recurrence is not a valid RRULE: {why}"));
        let unsupported = |why: &str| FieldError::new(FIELD, "unsupported", format!("recurrence {why}"));
        let trimmed = raw.trim();
        let body = trimmed.strip_prefix("RRULE:").or_else(|| trimmed.strip_prefix("rrule:")).unwrap_or(trimmed);
        if body.len() > Self::MAX_LEN {
            return Err(FieldError::new(
                FIELD,
                "too_long",
                format!("recurrence must be at most {} characters", Self::MAX_LEN),
            ));
        }
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_alphanumeric() || b"=;,+-".contains(&b)) {
            return Err(invalid("write it like FREQ=WEEKLY;BYDAY=MO,TH".into()));
        }
        let text = body.to_ascii_uppercase();
        let mut until = None;
        let mut rest = vec![];
        for part in text.split(';') {
            match part.strip_prefix("UNTIL=") {
                Some(v) => {
                    until = Some(parse_until(v).ok_or_else(|| {
                        invalid("UNTIL must be a date such as 20270131 or a UTC time such as 20270131T170000Z".into())
                    })?)
                }
                None => rest.push(part),
            }
        }
        let rule = RRule::<Unvalidated>::from_str(&rest.join(";")).map_err(|e| invalid(e.to_string()))?;
        if rule.get_freq() > Frequency::Daily {
            return Err(unsupported("must repeat daily, weekly, monthly or yearly (a task is not due hourly)"));
        }
        if !rule.get_by_hour().is_empty() || !rule.get_by_minute().is_empty() || !rule.get_by_second().is_empty() {
            return Err(unsupported("cannot use BYHOUR, BYMINUTE or BYSECOND: the time of day is the due date's"));
        }
        if rule.get_interval() == 0 || rule.get_interval() > Self::MAX_INTERVAL {
            return Err(unsupported(&format!("INTERVAL must be 1 to {}", Self::MAX_INTERVAL)));
        }
        if let Some(count) = rule.get_count() {
            if count == 0 || count > Self::MAX_COUNT {
                return Err(unsupported(&format!("COUNT must be 1 to {}", Self::MAX_COUNT)));
            }
            if until.is_some() {
                return Err(invalid("give UNTIL or COUNT, not both".into()));
            }
        }
        Ok(Recurrence { text, rule, until })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Checks the rule against the series' first due date (`UNTIL` before it, for
    /// one), as the API does before writing.
    pub fn check_start(&self, start: i64, tz: Tz) -> Result<(), FieldError> {
        self.series(start, tz).map(|_| ())
    }

    /// The first occurrence of the series anchored at `start` (Unix ms) that is later
    /// than `after`, or `None` when the series has ended (`COUNT` reached, `UNTIL`
    /// passed).
    pub fn next_after(&self, start: i64, tz: Tz, after: i64) -> Option<i64> {
        let set = self.series(start, tz).ok()?;
        (&set).into_iter().take(Self::MAX_STEPS).map(|d| d.timestamp_millis()).find(|d| *d > after)
    }

    fn series(&self, start: i64, tz: Tz) -> Result<RRuleSet, FieldError> {
        let rtz = rrule::Tz::Tz(tz);
        // Occurrences carry whole seconds; so does the anchor.
        let start = DateTime::<Utc>::from_timestamp(start.div_euclid(1000), 0).unwrap_or_default().with_timezone(&rtz);
        let mut rule = self.rule.clone();
        if let Some(until) = self.until {
            let instant = match until {
                Until::Instant(t) => t,
                Until::Date(d) => end_of_day(tz, d),
            };
            rule = rule.until(instant.with_timezone(&rrule::Tz::UTC));
        }
        let rule = rule.validate(start).map_err(|e| {
            let message = match e {
                rrule::RRuleError::ValidationError(rrule::ValidationError::UntilBeforeStart { .. }) => {
                    "recurrence ends (UNTIL) before the due date".to_owned()
                }
                e => format!("recurrence is not a valid RRULE: {e}"),
            };
            FieldError::new(FIELD, "invalid", message)
        })?;
        Ok(RRuleSet::new(start).rrule(rule).limit())
    }

    /// How people read the rule: "every 2 weeks on Mon, Thu", "every month on the last
    /// Friday", "daily, 5 times", "every year until 2027-01-31".
    pub fn summary(&self) -> String {
        let r = &self.rule;
        let n = r.get_interval();
        let days = r.get_by_weekday();
        let weekdays_only = days.len() == 5
            && [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]
                .iter()
                .all(|d| days.contains(&NWeekday::Every(*d)));
        let unit = match r.get_freq() {
            Frequency::Yearly => "year",
            Frequency::Monthly => "month",
            Frequency::Weekly => "week",
            _ => "day",
        };
        let mut s = if weekdays_only && n == 1 && matches!(r.get_freq(), Frequency::Daily | Frequency::Weekly) {
            "every weekday".to_owned()
        } else {
            let described = !days.is_empty() || !r.get_by_month_day().is_empty() || !r.get_by_month().is_empty();
            let mut s = match n {
                1 if unit == "day" && !described => "daily".to_owned(),
                1 => format!("every {unit}"),
                n => format!("every {n} {unit}s"),
            };
            if !r.get_by_month().is_empty() {
                let months: Vec<String> = r.get_by_month().iter().map(|m| month_name(*m)).collect();
                s.push_str(&format!(" in {}", months.join(", ")));
            }
            let set_pos = r.get_by_set_pos();
            if !days.is_empty() {
                let names: Vec<String> = match (set_pos, days) {
                    // BYDAY=FR;BYSETPOS=-1 says the same as BYDAY=-1FR.
                    ([pos], [NWeekday::Every(d)]) => vec![format!("the {} {}", ordinal(*pos), long_day(*d))],
                    _ => days.iter().map(|d| day_phrase(*d)).collect(),
                };
                s.push_str(&format!(" on {}", names.join(", ")));
            }
            if !r.get_by_month_day().is_empty() {
                let md: Vec<String> = r
                    .get_by_month_day()
                    .iter()
                    .map(|d| if *d < 0 { format!("the {} day", ordinal(i32::from(*d))) } else { format!("day {d}") })
                    .collect();
                s.push_str(&format!(" on {}", md.join(", ")));
            }
            let extra: Vec<String> = [
                ("BYYEARDAY", join(r.get_by_year_day())),
                ("BYWEEKNO", join(r.get_by_week_no())),
                ("BYSETPOS", if days.len() == 1 && set_pos.len() == 1 { String::new() } else { join(set_pos) }),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
            if !extra.is_empty() {
                s.push_str(&format!(" ({})", extra.join("; ")));
            }
            s
        };
        match (r.get_count(), self.until) {
            (Some(1), _) => s.push_str(", once"),
            (Some(c), _) => s.push_str(&format!(", {c} times")),
            (None, Some(Until::Date(d))) => s.push_str(&format!(" until {d}")),
            (None, Some(Until::Instant(t))) => s.push_str(&format!(" until {}", t.format("%Y-%m-%d %H:%M UTC"))),
            (None, None) => {}
        }
        s
    }
}

fn parse_until(v: &str) -> Option<Until> {
    if v.len() == 8 {
        return NaiveDate::parse_from_str(v, "%Y%m%d").ok().map(Until::Date);
    }
    let t = chrono::NaiveDateTime::parse_from_str(v.strip_suffix('Z')?, "%Y%m%dT%H%M%S").ok()?;
    Some(Until::Instant(t.and_utc()))
}

/// The last second of a local day, as an instant.
fn end_of_day(tz: Tz, d: NaiveDate) -> DateTime<Utc> {
    let naive = d.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN));
    tz.from_local_datetime(&naive).latest().map(|t| t.with_timezone(&Utc)).unwrap_or_else(|| naive.and_utc())
}

fn join<T: ToString>(v: &[T]) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

fn ordinal(n: i32) -> String {
    match n {
        1 => "first".into(),
        2 => "second".into(),
        3 => "third".into(),
        4 => "fourth".into(),
        5 => "fifth".into(),
        -1 => "last".into(),
        -2 => "second to last".into(),
        n if n < 0 => format!("{} to last", ordinal(-n)),
        n => {
            let suffix = match (n % 10, n % 100) {
                (_, 11..=13) => "th",
                (1, _) => "st",
                (2, _) => "nd",
                (3, _) => "rd",
                _ => "th",
            };
            format!("{n}{suffix}")
        }
    }
}

fn short_day(d: Weekday) -> &'static str {
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d.num_days_from_monday() as usize]
}

fn long_day(d: Weekday) -> &'static str {
    ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][d.num_days_from_monday() as usize]
}

fn day_phrase(d: NWeekday) -> String {
    match d {
        NWeekday::Every(d) => short_day(d).to_owned(),
        NWeekday::Nth(n, d) => format!("the {} {}", ordinal(i32::from(n)), long_day(d)),
    }
}

fn month_name(m: u8) -> String {
    chrono::Month::try_from(m).map(|m| m.name()[..3].to_owned()).unwrap_or_else(|_| m.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
    }

    fn summary(rule: &str) -> String {
        Recurrence::parse(rule).unwrap().summary()
    }

    #[test]
    fn summaries_read_like_english() {
        assert_eq!(summary("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH"), "every 2 weeks on Mon, Thu");
        assert_eq!(summary("FREQ=MONTHLY;BYDAY=-1FR"), "every month on the last Friday");
        assert_eq!(summary("FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1"), "every month on the last Friday");
        assert_eq!(summary("FREQ=MONTHLY;BYDAY=2TU"), "every month on the second Tuesday");
        assert_eq!(summary("FREQ=DAILY;COUNT=5"), "daily, 5 times");
        assert_eq!(summary("FREQ=YEARLY;UNTIL=20270131"), "every year until 2027-01-31");
        assert_eq!(summary("FREQ=YEARLY;INTERVAL=1;BYMONTH=3;BYMONTHDAY=15"), "every year in Mar on day 15");
        assert_eq!(summary("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"), "every weekday");
        assert_eq!(summary("FREQ=MONTHLY;BYMONTHDAY=-1"), "every month on the last day");
        assert_eq!(summary("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"), "every 3 months on day 1");
        assert_eq!(summary("rrule:freq=daily;count=1"), "daily, once");
        assert_eq!(summary("FREQ=DAILY;UNTIL=20270131T170000Z"), "daily until 2027-01-31 17:00 UTC");
        assert_eq!(summary("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO"), "every year on Mon (BYWEEKNO=20)");
    }

    #[test]
    fn text_is_canonical() {
        assert_eq!(Recurrence::parse(" RRULE:freq=weekly;byday=mo ").unwrap().as_str(), "FREQ=WEEKLY;BYDAY=MO");
        let stored = Recurrence::stored("FREQ=MONTHLY;BYDAY=-1FR").unwrap();
        assert_eq!(stored.summary(), "every month on the last Friday");
        assert!(Recurrence::stored("FREQ=NEVER").is_none());
    }

    #[test]
    fn refuses_what_a_task_cannot_use() {
        let code = |rule: &str| Recurrence::parse(rule).unwrap_err().code;
        for bad in ["", "FREQ=", "FREQ=FORTNIGHTLY", "FREQ=WEEKLY;BYDAY=XX", "FREQ=DAILY\nRDATE", "hello"] {
            assert_eq!(code(bad), "invalid", "{bad:?}");
        }
        assert_eq!(code("FREQ=WEEKLY;UNTIL=2027"), "invalid");
        assert_eq!(code("FREQ=WEEKLY;COUNT=2;UNTIL=20270101"), "invalid");
        for bad in ["FREQ=HOURLY", "FREQ=MINUTELY", "FREQ=SECONDLY", "FREQ=DAILY;BYHOUR=9", "FREQ=DAILY;INTERVAL=1000"]
        {
            assert_eq!(code(bad), "unsupported", "{bad}");
        }
        assert_eq!(code("FREQ=DAILY;COUNT=100000"), "unsupported");
        assert_eq!(code("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"), "never_occurs");
        assert_eq!(code(&format!("FREQ=DAILY;{}", "BYMONTH=1;".repeat(40))), "too_long");
        assert_eq!(code("FREQ=MONTHLY;BYMONTHDAY=40"), "invalid");
    }

    #[test]
    fn weekly_rule_finds_the_next_chosen_day() {
        let r = Recurrence::parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH").unwrap();
        // Mon 5 Jan 2026 09:00 UTC; next is Thu 8 Jan, then Mon 19 Jan (every 2 weeks).
        let start = ms("2026-01-05T09:00:00Z");
        assert_eq!(r.next_after(start, Tz::UTC, start), Some(ms("2026-01-08T09:00:00Z")));
        assert_eq!(r.next_after(start, Tz::UTC, ms("2026-01-08T09:00:00Z")), Some(ms("2026-01-19T09:00:00Z")));
    }

    #[test]
    fn daily_keeps_local_time_across_daylight_saving() {
        let r = Recurrence::parse("FREQ=DAILY").unwrap();
        let berlin = chrono_tz::Europe::Berlin;
        // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer (29 Mar 2026).
        let sat = ms("2026-03-28T08:00:00Z");
        assert_eq!(r.next_after(sat, berlin, sat), Some(ms("2026-03-29T07:00:00Z")));
        let oct = ms("2026-10-24T07:00:00Z");
        assert_eq!(r.next_after(oct, berlin, oct), Some(ms("2026-10-25T08:00:00Z")));
    }

    #[test]
    fn series_end_by_count_and_until() {
        let start = ms("2026-01-01T09:00:00Z");
        let r = Recurrence::parse("FREQ=DAILY;COUNT=2").unwrap();
        let second = r.next_after(start, Tz::UTC, start).unwrap();
        assert_eq!(r.next_after(start, Tz::UTC, second), None);
        // A date-only UNTIL includes that whole day in the series' time zone.
        let r = Recurrence::parse("FREQ=DAILY;UNTIL=20260102").unwrap();
        let ny = chrono_tz::America::New_York;
        let start = ms("2026-01-01T23:00:00-05:00");
        assert_eq!(r.next_after(start, ny, start), Some(ms("2026-01-02T23:00:00-05:00")));
        assert_eq!(r.next_after(start, ny, ms("2026-01-02T23:00:00-05:00")), None);
        assert_eq!(r.check_start(ms("2026-02-01T09:00:00Z"), ny).unwrap_err().code, "invalid");
    }

    #[test]
    fn monthly_last_friday() {
        let r = Recurrence::parse("FREQ=MONTHLY;BYDAY=-1FR").unwrap();
        let start = ms("2026-01-30T15:00:00Z");
        assert_eq!(r.next_after(start, Tz::UTC, start), Some(ms("2026-02-27T15:00:00Z")));
    }
}
