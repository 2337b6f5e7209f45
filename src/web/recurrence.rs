//! The task form's recurrence picker: the common rules as choices (none, daily,
//! weekdays, weekly on chosen days, every N weeks, monthly on day N, monthly on the
//! Nth weekday, yearly) plus a custom RRULE, turned into the rule text the API takes,
//! and an existing rule shown back in the picker.

use serde_json::{json, Value};

use super::extract::CsrfForm;

const KINDS: [(&str, &str); 8] = [
    ("none", "Does not repeat"),
    ("daily", "Daily"),
    ("weekdays", "Every weekday (Mon–Fri)"),
    ("weekly", "Weekly on chosen days"),
    ("monthly_day", "Monthly on a day of the month"),
    ("monthly_weekday", "Monthly on the Nth weekday"),
    ("yearly", "Yearly"),
    ("custom", "Custom rule (RRULE)"),
];

const DAYS: [(&str, &str); 7] =
    [("MO", "Mon"), ("TU", "Tue"), ("WE", "Wed"), ("TH", "Thu"), ("FR", "Fri"), ("SA", "Sat"), ("SU", "Sun")];

const NTH: [(&str, &str); 5] = [("1", "First"), ("2", "Second"), ("3", "Third"), ("4", "Fourth"), ("-1", "Last")];

const WEEKDAYS: &str = "MO,TU,WE,TH,FR";

/// What the picker shows or was sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Picker {
    kind: String,
    interval: String,
    days: Vec<String>,
    month_day: String,
    nth: String,
    weekday: String,
    rule: String,
}

impl Picker {
    fn blank(kind: &str, rule: &str) -> Picker {
        Picker {
            kind: kind.into(),
            interval: "1".into(),
            days: vec![],
            month_day: "1".into(),
            nth: "1".into(),
            weekday: "MO".into(),
            rule: rule.into(),
        }
    }

    /// The submitted picker, or `None` when the form has none (forms that only change
    /// other fields leave the rule alone).
    pub fn from_form(form: &CsrfForm) -> Option<Picker> {
        let kind = form.get("repeat");
        if kind.is_empty() {
            return None;
        }
        Some(Picker {
            kind,
            interval: form.get("repeat_interval"),
            days: form.all("repeat_days"),
            month_day: form.get("repeat_month_day"),
            nth: form.get("repeat_nth"),
            weekday: form.get("repeat_weekday"),
            rule: form.get("repeat_rule"),
        })
    }

    /// The picker for a stored rule: one of the common choices when it is one, else
    /// the custom field holding it.
    pub fn from_rule(rule: Option<&str>) -> Picker {
        let Some(rule) = rule else { return Picker::blank("none", "") };
        let parts: Vec<(&str, &str)> = rule.split(';').filter_map(|p| p.split_once('=')).collect();
        let get = |k: &str| parts.iter().find(|(pk, _)| *pk == k).map(|(_, v)| *v);
        let known = parts.iter().all(|(k, _)| matches!(*k, "FREQ" | "INTERVAL" | "BYDAY" | "BYMONTHDAY"));
        let mut p = Picker::blank("custom", rule);
        p.interval = get("INTERVAL").unwrap_or("1").into();
        let by_day = get("BYDAY");
        let kind = match (known, get("FREQ"), by_day, get("BYMONTHDAY")) {
            (false, ..) => "custom",
            (true, Some("DAILY"), None, None) => "daily",
            (true, Some("WEEKLY"), Some(WEEKDAYS), None) if p.interval == "1" => "weekdays",
            (true, Some("WEEKLY"), days, None) if days.is_none_or(|d| d.split(',').all(|d| d.len() == 2)) => {
                p.days = days.map(|d| d.split(',').map(str::to_owned).collect()).unwrap_or_default();
                "weekly"
            }
            (true, Some("MONTHLY"), None, Some(day)) if !day.contains(',') => {
                p.month_day = day.into();
                "monthly_day"
            }
            (true, Some("MONTHLY"), Some(d), None) if d.len() > 2 && !d.contains(',') => {
                let (n, wd) = d.split_at(d.len() - 2);
                p.nth = n.trim_start_matches('+').into();
                p.weekday = wd.into();
                "monthly_weekday"
            }
            (true, Some("YEARLY"), None, None) => "yearly",
            _ => "custom",
        };
        p.kind = kind.into();
        // A choice must give back exactly the stored rule (`INTERVAL=1` spelled out
        // would not), or saving the form unchanged would count as a new rule.
        if p.to_rule() != Ok(Some(rule.to_owned())) {
            p.kind = "custom".into();
        }
        p
    }

    /// The rule to send: `Some(None)` removes it; an error message for a choice that
    /// cannot be read.
    pub fn to_rule(&self) -> Result<Option<String>, String> {
        let n: u32 = match self.interval.as_str() {
            "" => 1,
            raw => raw.parse().map_err(|_| "Repeat every: enter a whole number such as 2.".to_owned())?,
        };
        let every = if n == 1 { String::new() } else { format!(";INTERVAL={n}") };
        let day = |d: &str| DAYS.iter().any(|(v, _)| *v == d);
        Ok(Some(match self.kind.as_str() {
            "none" => return Ok(None),
            "daily" => format!("FREQ=DAILY{every}"),
            "weekdays" => format!("FREQ=WEEKLY;BYDAY={WEEKDAYS}"),
            "weekly" if self.days.iter().all(|d| day(d)) => match self.days.as_slice() {
                [] => format!("FREQ=WEEKLY{every}"),
                days => format!("FREQ=WEEKLY{every};BYDAY={}", days.join(",")),
            },
            "monthly_day" => format!("FREQ=MONTHLY{every};BYMONTHDAY={}", self.month_day),
            "monthly_weekday" if day(&self.weekday) => {
                format!("FREQ=MONTHLY{every};BYDAY={}{}", self.nth, self.weekday)
            }
            "yearly" => format!("FREQ=YEARLY{every}"),
            "custom" if !self.rule.is_empty() => self.rule.clone(),
            "custom" => return Err("Repeat: enter a rule such as FREQ=WEEKLY;BYDAY=MO,TH.".into()),
            _ => return Err("Repeat: choose one of the listed options.".into()),
        }))
    }

    /// The template's view of the picker.
    pub fn to_json(&self) -> Value {
        let kinds: Vec<Value> =
            KINDS.iter().map(|(v, l)| json!({"value": v, "label": l, "selected": self.kind == *v})).collect();
        let days: Vec<Value> = DAYS
            .iter()
            .map(|(v, l)| json!({"value": v, "label": l, "checked": self.days.iter().any(|d| d == v)}))
            .collect();
        let mut month_days: Vec<Value> = (1..=31)
            .map(|d| json!({"value": d.to_string(), "label": d.to_string(), "selected": self.month_day == d.to_string()}))
            .collect();
        month_days.push(json!({"value": "-1", "label": "Last day", "selected": self.month_day == "-1"}));
        let nths: Vec<Value> =
            NTH.iter().map(|(v, l)| json!({"value": v, "label": l, "selected": self.nth == *v})).collect();
        let weekdays: Vec<Value> =
            DAYS.iter().map(|(v, l)| json!({"value": v, "label": l, "selected": self.weekday == *v})).collect();
        json!({
            "kinds": kinds,
            "interval": self.interval,
            "days": days,
            "month_days": month_days,
            "nths": nths,
            "weekdays": weekdays,
            "rule": self.rule,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> CsrfForm {
        CsrfForm {
            pairs: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            public_url: "http://127.0.0.1:8080".into(),
        }
    }

    #[test]
    fn choices_become_rules() {
        let rule = |pairs: &[(&str, &str)]| Picker::from_form(&form(pairs)).unwrap().to_rule();
        assert_eq!(rule(&[("repeat", "none")]), Ok(None));
        assert_eq!(rule(&[("repeat", "daily"), ("repeat_interval", "1")]), Ok(Some("FREQ=DAILY".into())));
        assert_eq!(rule(&[("repeat", "weekdays")]), Ok(Some("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR".into())));
        assert_eq!(
            rule(&[("repeat", "weekly"), ("repeat_interval", "2"), ("repeat_days", "MO"), ("repeat_days", "TH")]),
            Ok(Some("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH".into()))
        );
        assert_eq!(
            rule(&[("repeat", "monthly_weekday"), ("repeat_nth", "-1"), ("repeat_weekday", "FR")]),
            Ok(Some("FREQ=MONTHLY;BYDAY=-1FR".into()))
        );
        assert_eq!(
            rule(&[("repeat", "monthly_day"), ("repeat_month_day", "15")]),
            Ok(Some("FREQ=MONTHLY;BYMONTHDAY=15".into()))
        );
        assert!(rule(&[("repeat", "custom"), ("repeat_rule", "")]).is_err());
        assert!(rule(&[("repeat", "daily"), ("repeat_interval", "two")]).is_err());
        assert!(rule(&[("repeat", "weekly"), ("repeat_days", "XX")]).is_err());
        assert_eq!(Picker::from_form(&form(&[("title", "t")])), None, "no picker, no change");
    }

    #[test]
    fn stored_rules_come_back_as_choices() {
        let kind = |rule: &str| Picker::from_rule(Some(rule)).kind;
        assert_eq!(kind("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH"), "weekly");
        assert_eq!(kind("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"), "weekdays");
        assert_eq!(kind("FREQ=MONTHLY;BYDAY=-1FR"), "monthly_weekday");
        assert_eq!(kind("FREQ=MONTHLY;BYMONTHDAY=-1"), "monthly_day");
        assert_eq!(kind("FREQ=DAILY;COUNT=5"), "custom");
        assert_eq!(kind("FREQ=WEEKLY;INTERVAL=1;BYDAY=MO"), "custom", "would not round-trip");
        assert_eq!(Picker::from_rule(None).kind, "none");
        // A choice shown back and sent again is the same rule.
        for rule in ["FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", "FREQ=MONTHLY;BYDAY=2TU", "FREQ=YEARLY;INTERVAL=3"] {
            assert_eq!(Picker::from_rule(Some(rule)).to_rule(), Ok(Some(rule.to_owned())));
        }
    }
}
