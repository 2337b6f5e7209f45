//! A Todoist project export (CSV) as a project document.
//!
//! Rows are read in order: `section` rows start a column, `task` rows with INDENT 1 are
//! tasks, deeper ones are checklist items of the task above (sub-tasks proper are a
//! separate feature), `note` rows are comments on the task above, `meta` and empty
//! rows carry nothing to import. Columns are found by header name, so exports with
//! more columns (IS_COLLAPSED, DEADLINE) read the same.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Tz;

use super::{
    columns::{clean, fit, status_named, ColumnMapping, Labels},
    malformed, Conversion, MAX_TASKS,
};
use crate::{
    api::transfer::{ChecklistExport, CommentExport, Skipped, TaskExport},
    domain::{Priority, TaskDescription, TaskStatus, TaskTitle},
    error::AppResult,
};

/// Todoist writes p1 (its highest) as 1 and p4 (the default) as 4.
fn priority(raw: &str) -> Option<Priority> {
    match raw {
        "1" => Some(Priority::Urgent),
        "2" => Some(Priority::High),
        "3" => Some(Priority::Medium),
        "4" | "" => Some(Priority::Low),
        _ => None,
    }
}

/// A calendar date or time written the ISO way; Todoist's natural language ("every
/// day", "tomorrow", "Oct 5") is not guessed at. A date without a time is due at the
/// end of that day in the task's time zone.
pub fn parse_due(raw: &str, tz: Tz) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    let local = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
        .or_else(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(23, 59, 0)))?;
    tz.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc))
}

/// "Evan (14781400)" → "Evan".
fn person(raw: &str) -> &str {
    match raw.rfind(" (") {
        Some(i) if raw.ends_with(')') => &raw[..i],
        _ => raw,
    }
    .trim()
}

struct Columns {
    index: Vec<(String, usize)>,
}

impl Columns {
    fn get<'r>(&self, row: &'r csv::StringRecord, name: &str) -> &'r str {
        self.index.iter().find(|(n, _)| n == name).and_then(|(_, i)| row.get(*i)).unwrap_or("").trim()
    }
}

/// Line numbers as an editor shows them, counted from byte offsets (the CSV reader's
/// own line count is one short in files with CRLF line ends, as Todoist writes them). Counts forward from the last
/// call, so reading a whole file stays linear.
struct Lines<'a> {
    bytes: &'a [u8],
    at: (usize, u64),
}

impl Lines<'_> {
    fn of(&mut self, pos: Option<&csv::Position>) -> u64 {
        let mut byte = pos.map(|p| p.byte() as usize).unwrap_or(0).min(self.bytes.len());
        // After a CRLF the reader's position is the LF; the record starts after it.
        while self.bytes.get(byte).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            byte += 1;
        }
        if byte < self.at.0 {
            self.at = (0, 1);
        }
        let newlines = self.bytes[self.at.0..byte].iter().filter(|b| **b == b'\n').count() as u64;
        self.at = (byte, self.at.1 + newlines);
        self.at.1
    }

    /// Where a CSV error happened, as the person who opened the file would say it.
    fn place(&mut self, e: &csv::Error) -> String {
        format!("line {}", self.of(e.position()))
    }
}

pub fn convert(bytes: &[u8], me: &str, tz: Tz) -> AppResult<Conversion> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut lines = Lines { bytes, at: (0, 1) };
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let header =
        reader.headers().map_err(|e| malformed(lines.place(&e), format!("the CSV header cannot be read: {e}")))?;
    let cols = Columns { index: header.iter().enumerate().map(|(i, h)| (h.trim().to_ascii_uppercase(), i)).collect() };
    for required in ["TYPE", "CONTENT"] {
        if !cols.index.iter().any(|(n, _)| n == required) {
            return Err(malformed("line 1", format!("the header has no {required} column: not a Todoist export")));
        }
    }
    let mut labels = Labels::default();
    let mut skipped: Vec<Skipped> = vec![];
    let mut columns: Vec<ColumnMapping> = vec![];
    let mut tasks: Vec<TaskExport> = vec![];
    // The current section's status and label.
    let mut section: (TaskStatus, Option<String>) = (TaskStatus::Todo, None);
    let mut last_top: Option<usize> = None;
    for row in reader.records() {
        let row = row.map_err(|e| malformed(lines.place(&e), format!("the CSV cannot be read: {e}")))?;
        let line = lines.of(row.position());
        let at = format!("line {line}");
        let get = |name: &str| cols.get(&row, name);
        let content = clean(get("CONTENT"));
        match get("TYPE") {
            "meta" => {}
            "" if content.is_empty() => {}
            "" => skipped.push(Skipped { item: at, reason: "a row without a TYPE is not imported".into() }),
            "section" => {
                section = match status_named(&content) {
                    Some(status) => (status, None),
                    None => (TaskStatus::Todo, labels.add(&content, None, &at, &mut skipped)),
                };
                columns.push(ColumnMapping {
                    source: format!("section {content:?}"),
                    status: section.0,
                    label: section.1.clone(),
                    by: if section.1.is_none() { "name" } else { "label" }.into(),
                });
            }
            "note" => {
                let Some(t) = last_top else {
                    skipped.push(Skipped { item: at, reason: "a comment with no task above it".into() });
                    continue;
                };
                let author = person(get("AUTHOR"));
                let body = if author.is_empty() { content } else { format!("{author} wrote in Todoist:\n\n{content}") };
                if body.is_empty() {
                    continue;
                }
                tasks[t].comments.push(CommentExport {
                    author: me.to_owned(),
                    body: fit(&body, 10_000, &at, "the comment", &mut skipped),
                    created_at: parse_due(get("DATE"), tz),
                });
            }
            "task" => {
                let indent: usize = match get("INDENT") {
                    "" => 1,
                    raw => raw
                        .parse()
                        .map_err(|_| malformed(format!("{at}, INDENT"), format!("{raw:?} is not a number")))?,
                };
                let priority = priority(get("PRIORITY")).ok_or_else(|| {
                    malformed(format!("{at}, PRIORITY"), format!("{:?} is not a priority (1 to 4)", get("PRIORITY")))
                })?;
                if let (true, Some(t)) = (indent > 1, last_top) {
                    if !get("DATE").is_empty() {
                        skipped.push(Skipped {
                            item: format!("{at}, DATE"),
                            reason: "a sub-task became a checklist item, which has no due date".into(),
                        });
                    }
                    if !content.is_empty() {
                        let text = fit(&content, 500, &at, "the checklist item", &mut skipped);
                        tasks[t].checklist.push(ChecklistExport { text, done: false });
                    }
                    continue;
                }
                if tasks.len() == MAX_TASKS {
                    return Err(malformed(at, format!("an import holds at most {MAX_TASKS} tasks")));
                }
                let mut names = vec![];
                let mut words = vec![];
                for w in content.split(' ') {
                    match w.strip_prefix('@').filter(|n| !n.is_empty()) {
                        Some(n) => names.extend(labels.add(n, None, &at, &mut skipped)),
                        None => words.push(w),
                    }
                }
                names.extend(section.1.clone());
                names.sort();
                names.dedup();
                let title = words.join(" ").trim().to_owned();
                if title.is_empty() {
                    skipped.push(Skipped { item: at, reason: "a task without a name".into() });
                    continue;
                }
                let tz = get("TIMEZONE").parse().unwrap_or(tz);
                let due_at = match get("DATE") {
                    "" => None,
                    raw => {
                        let due = parse_due(raw, tz);
                        if due.is_none() {
                            skipped.push(Skipped {
                                item: format!("{at}, DATE"),
                                reason: format!("{raw:?} is not a calendar date (recurring and relative dates are not imported): the task has no due date"),
                            });
                        }
                        due
                    }
                };
                if !get("RESPONSIBLE").is_empty() {
                    skipped.push(Skipped {
                        item: format!("{at}, RESPONSIBLE"),
                        reason: format!("assigned to {} in Todoist: left unassigned", person(get("RESPONSIBLE"))),
                    });
                }
                let description = clean(get("DESCRIPTION"));
                tasks.push(TaskExport {
                    parent: None,
                    recurrence: None,
                    recurrence_start: None,
                    attachments: vec![],
                    title: fit(&title, TaskTitle::MAX, &at, "the title", &mut skipped),
                    description: fit(&description, TaskDescription::MAX, &at, "the description", &mut skipped),
                    status: section.0,
                    priority,
                    due_at,
                    assignee: None,
                    labels: names,
                    position: String::new(),
                    completed_at: None,
                    created_at: None,
                    checklist: vec![],
                    comments: vec![],
                });
                if indent > 1 {
                    skipped.push(Skipped {
                        item: at,
                        reason: "a sub-task with no task above it: imported as a task".into(),
                    });
                }
                last_top = Some(tasks.len() - 1);
            }
            other => {
                return Err(malformed(
                    format!("{at}, TYPE"),
                    format!("{other:?} is not a row type (task, section, note or meta)"),
                ))
            }
        }
    }
    Ok(Conversion::new("Todoist import".into(), labels, tasks, skipped, columns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_parse_and_natural_language_does_not() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        assert_eq!(parse_due("2026-03-10", paris).unwrap().to_rfc3339(), "2026-03-10T22:59:00+00:00");
        assert_eq!(parse_due("2026-07-01 09:30", paris).unwrap().to_rfc3339(), "2026-07-01T07:30:00+00:00");
        assert_eq!(parse_due("2018-06-08T07:02:05.000000Z", paris).unwrap().to_rfc3339(), "2018-06-08T07:02:05+00:00");
        for raw in ["every day", "tomorrow", "Oct 5 2026", "2026-02-30"] {
            assert_eq!(parse_due(raw, paris), None, "{raw}");
        }
        assert_eq!(person("Evan (14781400)"), "Evan");
        assert_eq!(priority("1"), Some(Priority::Urgent));
        assert_eq!(priority("4"), Some(Priority::Low));
        assert_eq!(priority("5"), None);
    }

    #[test]
    fn rows_become_tasks_checklists_comments_and_labels() {
        let csv = "\u{feff}TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE\r\n\
                   meta,view_style=board,,,,,,,,\r\n\
                   task,Plan trip @travel @Home,,2,1,Eve (1),,2026-05-01,en,UTC\r\n\
                   task,Book hotel,,4,2,Eve (1),,,en,\r\n\
                   note,Ask Sam,,,,Eve (1),,,,\r\n\
                   ,,,,,,,,,\r\n\
                   section,Doing,,,,,,,,\r\n\
                   task,Paint @home,,4,1,Eve (1),Sam (2),every day,en,\r\n";
        let c = convert(csv.as_bytes(), "me@example.com", chrono_tz::UTC).unwrap();
        let t = &c.doc.tasks;
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].title.as_str(), t[0].priority, t[0].status), ("Plan trip", Priority::High, TaskStatus::Todo));
        assert_eq!(t[0].labels, ["Home", "travel"]);
        assert_eq!(t[0].checklist[0].text, "Book hotel");
        assert_eq!(t[0].comments[0].body, "Eve wrote in Todoist:\n\nAsk Sam");
        assert_eq!(
            (t[1].status, t[1].labels.as_slice(), t[1].due_at),
            (TaskStatus::InProgress, &["Home".to_string()][..], None)
        );
        let items: Vec<&str> = c.skipped.iter().map(|s| s.item.as_str()).collect();
        assert_eq!(items, ["line 8, DATE", "line 8, RESPONSIBLE"]);
        assert_eq!(c.columns[0].status, TaskStatus::InProgress);
    }
}
