//! Listing: every filter, every sort key in both directions, keyset pagination,
//! limits and cursor errors. The same body runs on both databases, so the results
//! are the same on both.

use std::collections::{BTreeSet, HashMap};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::{
    both,
    common::*,
    helpers::*,
    tokens::{chrono_now, rfc3339},
};

const T: &str = "2030-01-01T00:00:00Z";

struct Data {
    app: TestApp,
    c: Client,
    pid: i64,
    mate: i64,
    me: i64,
    bug: i64,
    ui: i64,
    /// title -> id
    id: HashMap<&'static str, i64>,
}

impl Data {
    async fn list(&self, query: &str) -> Value {
        let (s, page) =
            self.app.call(&self.c, Method::GET, &format!("/api/v1/projects/{}/tasks?{query}", self.pid), None).await;
        assert_eq!(s, 200, "{query}: {page}");
        page
    }

    /// Titles matching a query (one page of up to 200).
    async fn titles(&self, query: &str) -> BTreeSet<String> {
        let page = self.list(&format!("{query}&limit=200")).await;
        assert!(page["next_cursor"].is_null());
        page["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap().to_owned()).collect()
    }
}

fn set(titles: &[&str]) -> BTreeSet<String> {
    titles.iter().map(|t| t.to_string()).collect()
}

/// title, description, status, priority, due_at, assignee, labels
type Seed = (&'static str, &'static str, &'static str, &'static str, Option<String>, Option<i64>, Vec<i64>);

async fn seed(b: Backend) -> Data {
    let app = TestApp::spawn(b).await;
    let (c, me) = app.user("lister").await;
    let (_, mate) = app.user("mate").await;
    let (stranger, _) = app.user("stranger").await;
    let pid = create_project(&app, &c, "Listing").await;
    add_member(&app, &c, pid, "mate", "editor").await;
    let bug = create_label(&app, &c, pid, "bug").await;
    let ui = create_label(&app, &c, pid, "ui").await;
    // A task of another project that must never show up.
    let elsewhere = create_project(&app, &stranger, "Elsewhere").await;
    create_task(&app, &stranger, elsewhere, json!({"title": "Elsewhere report 100% snake_case"})).await;
    let now = chrono_now();
    let past1 = rfc3339(now - 2 * 86_400);
    let past2 = rfc3339(now - 3600);
    let past3 = rfc3339(now - 3 * 86_400);
    #[rustfmt::skip]
    let rows: Vec<Seed> = vec![
        ("Quarterly report", "numbers", "todo", "high", Some(past1), Some(me), vec![bug]),
        ("Fix login", "see the REPORT", "in_progress", "urgent", Some(T.into()), Some(mate), vec![bug, ui]),
        ("100% coverage", "", "todo", "low", None, None, vec![]),
        ("100 percent", "", "blocked", "medium", Some(past2), Some(me), vec![ui]),
        ("snake_case name", "", "done", "high", Some(past3), Some(mate), vec![]),
        ("snakeXcase", "", "todo", "medium", Some(T.into()), None, vec![]),
        ("Cafe menu", "a_c literal", "done", "low", Some("2031-06-01T02:00:00+02:00".into()), Some(me), vec![ui]),
        ("plain", "abc", "in_progress", "urgent", None, None, vec![bug]),
        ("Another todo", "", "todo", "high", Some(T.into()), Some(mate), vec![]),
    ];
    let mut id = HashMap::new();
    for (title, description, status, priority, due, assignee, labels) in rows {
        let t = create_task(
            &app,
            &c,
            pid,
            json!({"title": title, "description": description, "status": status, "priority": priority,
                   "due_at": due, "assignee_id": assignee, "labels": labels}),
        )
        .await;
        id.insert(title, t["id"].as_i64().unwrap());
    }
    // Updates in another order than creation, so updated_at differs from created_at order.
    for title in ["100% coverage", "Quarterly report"] {
        let (s, _) = app
            .call(&c, Method::PATCH, &format!("/api/v1/tasks/{}", id[title]), Some(json!({"description": "touched"})))
            .await;
        assert_eq!(s, 200);
    }
    Data { app, c, pid, mate, me, bug, ui, id }
}

both!(filters, |b| async move {
    let d = seed(b).await;
    let all = d.titles("").await;
    assert_eq!(all.len(), 9);
    assert!(!all.contains("Elsewhere report 100% snake_case"));

    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "status=todo&status=done".into(),
            vec!["Quarterly report", "100% coverage", "snake_case name", "snakeXcase", "Cafe menu", "Another todo"],
        ),
        (
            "status=todo,blocked".into(),
            vec!["Quarterly report", "100% coverage", "100 percent", "snakeXcase", "Another todo"],
        ),
        ("status=in_progress".into(), vec!["Fix login", "plain"]),
        ("assignee=me".into(), vec!["Quarterly report", "100 percent", "Cafe menu"]),
        (format!("assignee={}", d.mate), vec!["Fix login", "snake_case name", "Another todo"]),
        (format!("assignee={}", d.me), vec!["Quarterly report", "100 percent", "Cafe menu"]),
        ("assignee=none".into(), vec!["100% coverage", "snakeXcase", "plain"]),
        (format!("label={}", d.bug), vec!["Quarterly report", "Fix login", "plain"]),
        (format!("label={}", d.ui), vec!["Fix login", "100 percent", "Cafe menu"]),
        ("label=99999".into(), vec![]),
        ("priority=high".into(), vec!["Quarterly report", "snake_case name", "Another todo"]),
        ("priority=low,urgent".into(), vec!["Fix login", "100% coverage", "Cafe menu", "plain"]),
        ("priority=low&priority=urgent".into(), vec!["Fix login", "100% coverage", "Cafe menu", "plain"]),
        // due_before is strict, due_after inclusive; tasks without a due date match neither.
        (format!("due_before={T}"), vec!["Quarterly report", "100 percent", "snake_case name"]),
        (format!("due_after={T}"), vec!["Fix login", "snakeXcase", "Cafe menu", "Another todo"]),
        (format!("due_after={T}&due_before=2031-01-01T00:00:00Z"), vec!["Fix login", "snakeXcase", "Another todo"]),
        // An offset in the parameter is honoured (2030-01-01T01:00+01:00 is T).
        ("due_after=2030-01-01T01:00:00%2B01:00".into(), vec!["Fix login", "snakeXcase", "Cafe menu", "Another todo"]),
        ("overdue=true".into(), vec!["Quarterly report", "100 percent"]),
        (
            "overdue=false".into(),
            vec!["Fix login", "100% coverage", "snake_case name", "snakeXcase", "Cafe menu", "plain", "Another todo"],
        ),
        // Text search: case-insensitive over title and description.
        ("q=report".into(), vec!["Quarterly report", "Fix login"]),
        ("q=RePoRt".into(), vec!["Quarterly report", "Fix login"]),
        ("q=NUMBERS".into(), vec![]),
        ("q=touched".into(), vec!["Quarterly report", "100% coverage"]),
        // % and _ are literal characters, not wildcards.
        ("q=100%25".into(), vec!["100% coverage"]),
        ("q=%25".into(), vec!["100% coverage"]),
        ("q=snake_case".into(), vec!["snake_case name"]),
        ("q=_".into(), vec!["snake_case name", "Cafe menu"]),
        ("q=a_c".into(), vec!["Cafe menu"]),
        ("q=%5C".into(), vec![]),
        ("q=cafe%20MENU".into(), vec!["Cafe menu"]),
        // Combined filters are ANDed.
        ("status=todo&priority=high".into(), vec!["Quarterly report", "Another todo"]),
        ("status=todo&assignee=none&q=snake".into(), vec!["snakeXcase"]),
        (format!("label={}&overdue=true", d.ui), vec!["100 percent"]),
    ];
    let mut failures = vec![];
    for (query, expected) in &cases {
        let got = d.titles(query).await;
        if got != set(expected) {
            failures.push(format!("{query}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "filter mismatches:\n{}", failures.join("\n"));

    // The cross-project listing applies the same filters.
    let (s, page) = d.app.call(&d.c, Method::GET, "/api/v1/tasks?q=report&status=todo", None).await;
    assert_eq!(s, 200);
    assert_eq!(ids(&page), [d.id["Quarterly report"]]);
});

/// The sort key of a task as the API defines it, for an independent expectation.
fn key(t: &Value, sort: &str) -> (i128, String) {
    let time = |v: &Value| -> i128 {
        v.as_str()
            .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis() as i128)
            .unwrap_or(i64::MAX as i128)
    };
    match sort {
        "due_at" => (time(&t["due_at"]), String::new()),
        "created_at" => (time(&t["created_at"]), String::new()),
        "updated_at" => (time(&t["updated_at"]), String::new()),
        "priority" => {
            let rank = ["low", "medium", "high", "urgent"].iter().position(|p| *p == t["priority"]).unwrap();
            (rank as i128, String::new())
        }
        "position" => (0, t["position"].as_str().unwrap().to_owned()),
        _ => unreachable!(),
    }
}

const SORTS: [&str; 5] = ["due_at", "priority", "created_at", "updated_at", "position"];

both!(sorting_and_keyset_pagination, |b| async move {
    let d = seed(b).await;
    let everything = d.list("limit=200").await;
    let all = everything["items"].as_array().unwrap().clone();
    assert_eq!(all.len(), 9);
    for filter in ["", "status=todo,done&", "q=e&"] {
        for sort in SORTS {
            for order in ["asc", "desc"] {
                let base = format!("{filter}sort={sort}&order={order}");
                // The expectation, computed here from the tasks' own fields.
                let one_page = d.list(&format!("{base}&limit=200")).await;
                let mut expected: Vec<&Value> = all
                    .iter()
                    .filter(|t| one_page["items"].as_array().unwrap().iter().any(|x| x["id"] == t["id"]))
                    .collect();
                expected.sort_by(|a, b| (key(a, sort), a["id"].as_i64()).cmp(&(key(b, sort), b["id"].as_i64())));
                if order == "desc" {
                    expected.reverse();
                }
                let expected: Vec<i64> = expected.iter().map(|t| t["id"].as_i64().unwrap()).collect();
                assert_eq!(ids(&one_page), expected, "{base}: order");

                // Walk pages of two.
                let mut walked = vec![];
                let mut cursor: Option<String> = None;
                let mut pages = 0;
                loop {
                    let q = match &cursor {
                        Some(c) => format!("{base}&limit=2&cursor={c}"),
                        None => format!("{base}&limit=2"),
                    };
                    let page = d.list(&q).await;
                    let got = ids(&page);
                    assert!(got.len() <= 2, "{q}");
                    walked.extend(got);
                    pages += 1;
                    assert!(pages <= 10, "{base}: pagination does not end");
                    match page["next_cursor"].as_str() {
                        Some(c) => cursor = Some(c.to_owned()),
                        None => break,
                    }
                }
                let unique: BTreeSet<i64> = walked.iter().copied().collect();
                assert_eq!(unique.len(), walked.len(), "{base}: duplicates in {walked:?}");
                assert_eq!(walked, expected, "{base}: pages differ from one big page");
            }
        }
    }
    // Default: position ascending.
    let default = d.list("").await;
    let by_position = d.list("sort=position&order=asc").await;
    assert_eq!(ids(&default), ids(&by_position));
});

/// A cursor as the server encodes it (base64url of JSON).
fn forge(v: Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap())
}

both!(limits_and_cursor_errors, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, _) = app.user("lim").await;
    let pid = create_project(&app, &c, "Many").await;
    for i in 0..51 {
        create_task(&app, &c, pid, json!({"title": format!("task {i}")})).await;
    }
    let path = format!("/api/v1/projects/{pid}/tasks");
    let (s, page) = app.call(&c, Method::GET, &path, None).await;
    assert_eq!(s, 200);
    assert_eq!(ids(&page).len(), 50, "default limit");
    let cursor = page["next_cursor"].as_str().expect("a next page").to_owned();
    let (_, rest) = app.call(&c, Method::GET, &format!("{path}?cursor={cursor}"), None).await;
    assert_eq!(ids(&rest).len(), 1);
    assert!(rest["next_cursor"].is_null());
    let (s, big) = app.call(&c, Method::GET, &format!("{path}?limit=200"), None).await;
    assert_eq!(s, 200);
    assert_eq!(ids(&big).len(), 51);
    assert!(big["next_cursor"].is_null());
    let (s, one) = app.call(&c, Method::GET, &format!("{path}?limit=1"), None).await;
    assert_eq!((s.as_u16(), ids(&one).len()), (200, 1));

    for bad in ["limit=201", "limit=0", "limit=-1", "limit=ten", "limit=1.5"] {
        let (s, p) = app.call(&c, Method::GET, &format!("{path}?{bad}"), None).await;
        assert_eq!(s, 422, "{bad}: {p}");
        assert_eq!(field_names(&p), ["limit"], "{bad}");
    }
    for (bad, field) in [
        ("sort=title", "sort"),
        ("order=up", "order"),
        ("status=doing", "status"),
        ("priority=critical", "priority"),
        ("assignee=someone", "assignee"),
        ("label=bug", "label"),
        ("overdue=yes", "overdue"),
        ("due_before=tomorrow", "due_before"),
        ("due_after=2030-01-01", "due_after"),
        ("due_after=2030-01-01T00:00:00", "due_after"),
        ("colour=red", "colour"),
    ] {
        let (s, p) = app.call(&c, Method::GET, &format!("{path}?{bad}"), None).await;
        assert_eq!(s, 422, "{bad}: {p}");
        assert_eq!(field_names(&p), [field], "{bad}");
        let (s, _) = app.call(&c, Method::GET, &format!("/api/v1/tasks?{bad}"), None).await;
        assert_eq!(s, 422, "/tasks?{bad}");
    }
    let (s, p) = app.call(&c, Method::GET, &format!("{path}?q={}", "x".repeat(201)), None).await;
    assert_eq!(s, 422);
    assert_eq!(field_names(&p), ["q"]);

    // Cursors: garbage, another sort or order, or forged keys are 400, never 500.
    let (_, p) = app.call(&c, Method::GET, &format!("{path}?sort=priority&limit=2"), None).await;
    let priority_cursor = p["next_cursor"].as_str().unwrap().to_owned();
    let bad_cursors = [
        "?cursor=not-a-cursor".to_owned(),
        "?cursor=%25%25%25".to_owned(),
        format!("?cursor={}", URL_SAFE_NO_PAD.encode(b"not json")),
        format!("?cursor={}", forge(json!({"s": "position", "o": "asc"}))),
        format!("?sort=due_at&cursor={priority_cursor}"),
        format!("?sort=priority&order=desc&cursor={priority_cursor}"),
        format!("?cursor={priority_cursor}"),
        format!("?sort=position&cursor={}", forge(json!({"s": "position", "o": "asc", "k": 5, "i": 1}))),
        format!("?sort=due_at&cursor={}", forge(json!({"s": "due_at", "o": "asc", "k": "abc", "i": 1}))),
        format!("?sort=priority&cursor={}", forge(json!({"s": "priority", "o": "asc", "k": 1.5, "i": 1}))),
        format!("?sort=priority&cursor={}", forge(json!({"s": "priority", "o": "asc", "k": 1, "i": "x"}))),
    ];
    let mut wrong = vec![];
    for q in &bad_cursors {
        for base in [path.as_str(), "/api/v1/tasks"] {
            let (s, p) = app.call(&c, Method::GET, &format!("{base}{q}"), None).await;
            if s != 400 || p["code"] != "invalid_cursor" {
                wrong.push(format!("{base}{q}: {s} {p}"));
            }
        }
    }
    assert!(wrong.is_empty(), "invalid cursors:\n{}", wrong.join("\n"));
    // A valid cursor still works with its own sort.
    let (s, _) = app.call(&c, Method::GET, &format!("{path}?sort=priority&cursor={priority_cursor}"), None).await;
    assert_eq!(s, 200);
});
