//! What other tools' columns, sections and labels become here: a status when the
//! column's name says one, a label otherwise, and text cut to this product's limits
//! with a note in the report.

use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    api::transfer::{LabelExport, Skipped},
    domain::{LabelName, TaskStatus},
};

/// How one column (Trello list, Todoist section) was mapped.
#[derive(Serialize, ToSchema, Debug, Clone, PartialEq)]
pub struct ColumnMapping {
    /// The column in the other tool (`list "Doing"`, `section "Errands"`).
    pub source: String,
    /// The status its tasks got.
    pub status: TaskStatus,
    /// The label its tasks got, when the name was not a status.
    pub label: Option<String>,
    /// `name` (the column's name says the status) or `order` (its place on the board).
    pub by: String,
}

/// Words that name a status, checked in this order (so "blocked in review" is blocked).
const WORDS: [(TaskStatus, &[&str]); 4] = [
    (TaskStatus::Blocked, &["blocked", "waiting", "on hold", "hold", "stuck", "paused"]),
    (
        TaskStatus::InProgress,
        &[
            "doing",
            "in progress",
            "progress",
            "wip",
            "working",
            "started",
            "active",
            "ongoing",
            "review",
            "testing",
            "qa",
        ],
    ),
    (TaskStatus::Done, &["done", "complete", "completed", "finished", "closed", "shipped", "released"]),
    (TaskStatus::Todo, &["to do", "todo", "backlog", "inbox", "ideas", "open", "next", "planned", "new", "later"]),
];

/// The status a column's name stands for, matching whole words ignoring case.
pub fn status_named(name: &str) -> Option<TaskStatus> {
    let words: String = name.to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    let padded = format!(" {} ", words.split_whitespace().collect::<Vec<_>>().join(" "));
    WORDS.iter().find(|(_, names)| names.iter().any(|w| padded.contains(&format!(" {w} ")))).map(|(s, _)| *s)
}

/// The status of the column at `index` of `count` when its name says none: the first
/// column is to do, the last (of two or more) done, the ones between in progress.
pub fn status_by_order(index: usize, count: usize) -> TaskStatus {
    match index {
        0 => TaskStatus::Todo,
        i if i + 1 == count => TaskStatus::Done,
        _ => TaskStatus::InProgress,
    }
}

/// Label colours handed out in turn to labels the other tool gives no colour.
const PALETTE: [&str; 8] = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

/// The labels of the document being built, unique ignoring case like in the database.
#[derive(Default)]
pub struct Labels {
    pub list: Vec<LabelExport>,
    /// Index in `list` by lower-case name: a file may name thousands of labels.
    by_name: std::collections::HashMap<String, usize>,
}

impl Labels {
    /// The name to use for `raw` (an existing label's when only the case differs),
    /// adding the label when it is new. `None` when nothing usable is left of the name.
    pub fn add(&mut self, raw: &str, color: Option<&str>, item: &str, skipped: &mut Vec<Skipped>) -> Option<String> {
        let name = fit(&clean(raw), LabelName::MAX, item, "the label name", skipped);
        LabelName::parse(&name).ok()?;
        if let Some(&i) = self.by_name.get(&name.to_lowercase()) {
            return Some(self.list[i].name.clone());
        }
        let color = color.map(str::to_owned).unwrap_or_else(|| PALETTE[self.list.len() % PALETTE.len()].to_owned());
        self.by_name.insert(name.to_lowercase(), self.list.len());
        self.list.push(LabelExport { name: name.clone(), color });
        Some(name)
    }
}

/// Text without control characters other than line breaks and tabs (the domain
/// refuses them; other tools' exports sometimes carry them).
pub fn clean(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')).collect::<String>().trim().to_owned()
}

/// `text` cut to `max` characters, noting the cut in the report.
pub fn fit(text: &str, max: usize, item: &str, what: &str, skipped: &mut Vec<Skipped>) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    skipped.push(Skipped { item: item.to_owned(), reason: format!("{what} was cut to {max} characters") });
    text.chars().take(max).collect::<String>().trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_map_to_statuses_by_whole_words() {
        assert_eq!(status_named("To Do"), Some(TaskStatus::Todo));
        assert_eq!(status_named("Doing 🔥"), Some(TaskStatus::InProgress));
        assert_eq!(status_named("In review"), Some(TaskStatus::InProgress));
        assert_eq!(status_named("DONE!"), Some(TaskStatus::Done));
        assert_eq!(status_named("Waiting on others"), Some(TaskStatus::Blocked));
        assert_eq!(status_named("Newsletter"), None, "whole words only");
        assert_eq!(status_named("Errands"), None);
        assert_eq!(
            (0..4).map(|i| status_by_order(i, 4)).collect::<Vec<_>>(),
            [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::InProgress, TaskStatus::Done]
        );
        assert_eq!(status_by_order(0, 1), TaskStatus::Todo);
    }

    #[test]
    fn labels_are_unique_ignoring_case_and_long_text_is_cut_with_a_note() {
        let mut labels = Labels::default();
        let mut skipped = vec![];
        assert_eq!(labels.add("Home", None, "x", &mut skipped).as_deref(), Some("Home"));
        assert_eq!(labels.add("home", Some("#000000"), "x", &mut skipped).as_deref(), Some("Home"));
        assert_eq!(labels.add("  ", None, "x", &mut skipped), None);
        assert_eq!(labels.list.len(), 1);
        assert_eq!(fit("abcdef", 3, "line 2", "the title", &mut skipped), "abc");
        assert_eq!(skipped[0].reason, "the title was cut to 3 characters");
        assert_eq!(clean(" a\u{7}b\n "), "ab");
    }
}
