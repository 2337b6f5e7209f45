//! A Trello board export (JSON) as a project document.
//!
//! Open lists become statuses: by name when it says one ("Doing", "Done"), otherwise
//! by their place on the board, keeping the list's name as a label. Cards become tasks
//! (archived ones, and those of archived lists, are skipped), labels labels with their
//! Trello colour, checklists checklist items and `commentCard` actions comments.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{
    columns::{clean, fit, status_by_order, status_named, ColumnMapping, Labels},
    malformed, Conversion, MAX_TASKS,
};
use crate::{
    api::transfer::{ChecklistExport, CommentExport, Skipped, TaskExport},
    domain::{Priority, TaskDescription, TaskStatus, TaskTitle},
    error::AppResult,
};

#[derive(Deserialize)]
struct Board {
    #[serde(default)]
    name: String,
    #[serde(default)]
    lists: Vec<List>,
    cards: Vec<Card>,
    #[serde(default)]
    labels: Vec<Label>,
    #[serde(default)]
    checklists: Vec<Checklist>,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Deserialize)]
struct List {
    id: String,
    name: String,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    pos: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Card {
    id: String,
    name: String,
    #[serde(default)]
    desc: String,
    id_list: String,
    #[serde(default)]
    id_labels: Vec<String>,
    due: Option<String>,
    #[serde(default)]
    due_complete: bool,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    pos: f64,
    #[serde(default)]
    attachments: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Label {
    id: String,
    #[serde(default)]
    name: String,
    color: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checklist {
    id_card: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    pos: f64,
    #[serde(default)]
    check_items: Vec<CheckItem>,
}

#[derive(Deserialize)]
struct CheckItem {
    name: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    pos: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Action {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Value,
    date: Option<String>,
    member_creator: Option<Value>,
}

/// Trello's label colours (the `_light` and `_dark` shades map to their base colour).
fn color(name: Option<&str>) -> &'static str {
    match name.unwrap_or("").split('_').next().unwrap_or("") {
        "green" => "#61bd4f",
        "yellow" => "#f2d600",
        "orange" => "#ff9f1a",
        "red" => "#eb5a46",
        "purple" => "#c377e0",
        "blue" => "#0079bf",
        "sky" => "#00c2e0",
        "lime" => "#51e898",
        "pink" => "#ff78cb",
        "black" => "#344563",
        _ => "#b3bac5",
    }
}

/// A Trello id starts with the second it was made at (8 hex digits).
fn created_at(id: &str) -> Option<DateTime<Utc>> {
    let secs = i64::from_str_radix(id.get(..8)?, 16).ok()?;
    DateTime::from_timestamp(secs, 0)
}

fn time(raw: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw?).ok().map(|t| t.with_timezone(&Utc))
}

/// Parses the board. The file is data, not the request's envelope, so a syntax error is
/// a 422 that says where (line and column) like any other mistake in it.
fn parse(bytes: &[u8]) -> AppResult<Board> {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(malformed(
            format!("line {}, column {}", e.line(), e.column()),
            "the file is not valid JSON: not a Trello board export",
        ));
    }
    crate::extract::parse_json(bytes)
}

pub fn convert(bytes: &[u8], me: &str) -> AppResult<Conversion> {
    let board = parse(bytes)?;
    let mut skipped: Vec<Skipped> = vec![];
    let mut labels = Labels::default();
    let mut columns: Vec<ColumnMapping> = vec![];

    // Lists, in board order: (id, status, label).
    let mut open: Vec<(usize, &List)> = board.lists.iter().enumerate().filter(|(_, l)| !l.closed).collect();
    open.sort_by(|a, b| a.1.pos.total_cmp(&b.1.pos));
    let mut lists: Vec<(&str, TaskStatus, Option<String>)> = vec![];
    // Every lookup by Trello id goes through a map: a board has thousands of cards,
    // labels and checklists, and a scan per reference grows with their product.
    let mut list_index: HashMap<&str, usize> = HashMap::new();
    let all_lists: HashSet<&str> = board.lists.iter().map(|l| l.id.as_str()).collect();
    let all_cards: HashSet<&str> = board.cards.iter().map(|c| c.id.as_str()).collect();
    for (n, (i, l)) in open.iter().enumerate() {
        let name = clean(&l.name);
        let (status, label, by) = match status_named(&name) {
            Some(s) => (s, None, "name"),
            None => {
                let label = labels.add(&name, None, &format!("lists[{i}].name"), &mut skipped);
                (status_by_order(n, open.len()), label, "order")
            }
        };
        columns.push(ColumnMapping { source: format!("list {name:?}"), status, label: label.clone(), by: by.into() });
        list_index.entry(l.id.as_str()).or_insert(lists.len());
        lists.push((l.id.as_str(), status, label));
    }
    for (i, l) in board.lists.iter().enumerate().filter(|(_, l)| l.closed) {
        skipped.push(Skipped {
            item: format!("lists[{i}]"),
            reason: format!("list {:?} is archived in Trello: its cards are not imported", l.name),
        });
    }

    let mut label_names: HashMap<&str, String> = HashMap::new();
    for (i, l) in board.labels.iter().enumerate() {
        let name =
            if l.name.trim().is_empty() { l.color.clone().unwrap_or_else(|| "unnamed".into()) } else { l.name.clone() };
        if let Some(n) = labels.add(&name, Some(color(l.color.as_deref())), &format!("labels[{i}].name"), &mut skipped)
        {
            label_names.entry(l.id.as_str()).or_insert(n);
        }
    }

    // Cards in board order: by list, then by place in the list.
    let mut cards: Vec<(usize, usize, &Card)> = vec![];
    for (i, card) in board.cards.iter().enumerate() {
        let item = format!("cards[{i}]");
        if card.closed {
            skipped.push(Skipped { item, reason: format!("card {:?} is archived in Trello", card.name) });
            continue;
        }
        match list_index.get(card.id_list.as_str()) {
            Some(&l) => cards.push((l, i, card)),
            None if all_lists.contains(card.id_list.as_str()) => {
                skipped.push(Skipped { item, reason: format!("card {:?} is in an archived list", card.name) })
            }
            None => skipped.push(Skipped { item, reason: format!("card {:?} is in no list of the board", card.name) }),
        }
    }
    if cards.len() > MAX_TASKS {
        return Err(malformed("cards", format!("an import holds at most {MAX_TASKS} tasks")));
    }
    cards.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.pos.total_cmp(&b.2.pos)));

    let mut tasks = Vec::with_capacity(cards.len());
    let mut card_task: HashMap<&str, usize> = HashMap::with_capacity(cards.len());
    for (l, i, card) in &cards {
        let at = format!("cards[{i}]");
        let (_, list_status, list_label) = &lists[*l];
        let mut names: Vec<String> = list_label.iter().cloned().collect();
        for (j, id) in card.id_labels.iter().enumerate() {
            match label_names.get(id.as_str()) {
                Some(n) => names.push(n.clone()),
                None => skipped
                    .push(Skipped { item: format!("{at}.idLabels[{j}]"), reason: "no such label on the board".into() }),
            }
        }
        names.sort();
        names.dedup();
        let due_at = time(card.due.as_deref());
        if card.due.is_some() && due_at.is_none() {
            skipped.push(Skipped { item: format!("{at}.due"), reason: "not a date: the task has no due date".into() });
        }
        if !card.attachments.is_empty() {
            skipped.push(Skipped {
                item: format!("{at}.attachments"),
                reason: format!("{} attachment(s) are not imported", card.attachments.len()),
            });
        }
        let mut title = clean(&card.name);
        if title.is_empty() {
            title = "Untitled card".into();
        }
        // A card marked complete is done, whatever list it is in.
        let status = if card.due_complete { TaskStatus::Done } else { *list_status };
        tasks.push(TaskExport {
            parent: None,
            recurrence: None,
            recurrence_start: None,
            attachments: vec![],
            title: fit(&title, TaskTitle::MAX, &format!("{at}.name"), "the title", &mut skipped),
            description: fit(
                &clean(&card.desc),
                TaskDescription::MAX,
                &format!("{at}.desc"),
                "the description",
                &mut skipped,
            ),
            status,
            priority: Priority::Medium,
            due_at,
            assignee: None,
            labels: names,
            position: String::new(),
            completed_at: None,
            created_at: created_at(&card.id),
            checklist: vec![],
            comments: vec![],
        });
        card_task.entry(card.id.as_str()).or_insert(tasks.len() - 1);
    }

    let mut checklists: Vec<(usize, &Checklist)> = board.checklists.iter().enumerate().collect();
    checklists.sort_by(|a, b| a.1.pos.total_cmp(&b.1.pos));
    let mut per_card: HashMap<&str, usize> = HashMap::new();
    for cl in &board.checklists {
        *per_card.entry(cl.id_card.as_str()).or_default() += 1;
    }
    for (i, cl) in checklists {
        let Some(&t) = card_task.get(cl.id_card.as_str()) else {
            if !all_cards.contains(cl.id_card.as_str()) {
                skipped
                    .push(Skipped { item: format!("checklists[{i}]"), reason: "its card is not on the board".into() });
            }
            continue;
        };
        // One checklist per task here: a card's second checklist keeps its name as a prefix.
        let several = per_card.get(cl.id_card.as_str()).copied().unwrap_or(0) > 1;
        let mut items: Vec<(usize, &CheckItem)> = cl.check_items.iter().enumerate().collect();
        items.sort_by(|a, b| a.1.pos.total_cmp(&b.1.pos));
        for (j, item) in items {
            let name = clean(&item.name);
            let text = if several { format!("{}: {name}", clean(&cl.name)) } else { name };
            if text.is_empty() {
                continue;
            }
            let at = format!("checklists[{i}].checkItems[{j}].name");
            let text = fit(&text, 500, &at, "the checklist item", &mut skipped);
            tasks[t].checklist.push(ChecklistExport { text, done: item.state == "complete" });
        }
    }

    // Trello lists actions newest first; comments are added oldest first.
    for (i, a) in board.actions.iter().enumerate().rev().filter(|(_, a)| a.kind == "commentCard") {
        let card = a.data.pointer("/card/id").and_then(Value::as_str).unwrap_or("");
        let text = clean(a.data.get("text").and_then(Value::as_str).unwrap_or(""));
        let Some(&t) = card_task.get(card) else {
            if !all_cards.contains(card) {
                skipped.push(Skipped {
                    item: format!("actions[{i}]"),
                    reason: "a comment on a card not on the board".into(),
                });
            }
            continue;
        };
        if text.is_empty() {
            continue;
        }
        let who =
            a.member_creator.as_ref().and_then(|m| m.get("fullName").or(m.get("username"))).and_then(Value::as_str);
        let body = match who {
            Some(name) => format!("{name} wrote on Trello:\n\n{text}"),
            None => text,
        };
        tasks[t].comments.push(CommentExport {
            author: me.to_owned(),
            body: fit(&body, 10_000, &format!("actions[{i}].data.text"), "the comment", &mut skipped),
            created_at: time(a.date.as_deref()),
        });
    }

    let name = clean(&board.name);
    Ok(Conversion::new(if name.is_empty() { "Trello import".into() } else { name }, labels, tasks, skipped, columns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    fn field(e: AppError) -> String {
        match e {
            AppError::Unprocessable(errs) => errs[0].field.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lists_map_by_name_then_by_order() {
        let board = r#"{"name": "B", "lists": [
            {"id": "l3", "name": "Shipped", "pos": 3}, {"id": "l1", "name": "Ideas", "pos": 1},
            {"id": "l2", "name": "Sprint 12", "pos": 2}, {"id": "l4", "name": "Old", "closed": true, "pos": 4}],
            "cards": [{"id": "5f1e0c00aaaaaaaaaaaaaaaa", "name": "A", "idList": "l2", "pos": 1, "dueComplete": false},
                      {"id": "c2", "name": "B", "idList": "l4", "pos": 1}]}"#;
        let c = convert(board.as_bytes(), "me@example.com").unwrap();
        let m: Vec<(&str, TaskStatus, &str)> =
            c.columns.iter().map(|m| (m.source.as_str(), m.status, m.by.as_str())).collect();
        assert_eq!(
            m,
            [
                ("list \"Ideas\"", TaskStatus::Todo, "name"),
                ("list \"Sprint 12\"", TaskStatus::InProgress, "order"),
                ("list \"Shipped\"", TaskStatus::Done, "name")
            ]
        );
        assert_eq!(c.doc.tasks[0].labels, ["Sprint 12"]);
        assert_eq!(c.doc.tasks[0].created_at.unwrap().to_rfc3339(), "2020-07-26T23:04:32+00:00");
        assert_eq!(c.skipped.iter().map(|s| s.item.as_str()).collect::<Vec<_>>(), ["lists[3]", "cards[1]"]);
    }

    #[test]
    fn malformed_files_say_where() {
        assert_eq!(field(convert(b"{\n \"cards\": [}", "m").err().unwrap()), "line 2, column 12");
        assert_eq!(
            field(convert(br#"{"cards": [{"id": "c", "name": 5, "idList": "l"}]}"#, "m").err().unwrap()),
            "cards[0].name"
        );
        assert_eq!(field(convert(br#"{"lists": []}"#, "m").err().unwrap()), "cards");
    }
}
