//! Listing tasks: filters, text search, sorting and keyset pagination with an opaque
//! cursor. The same SQL runs on both databases, so results are identical.

use axum::extract::State;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    access::{self, Fields},
    docs::ReadErrors,
    views::{MyTasks, TaskPage, TaskView},
};
use crate::{
    auth::Principal,
    db::{
        repo,
        repo::tasks::{Arg, ListQuery, TaskRow},
        repo::Connection,
        Db,
    },
    domain::{now_millis, Priority, TaskStatus},
    error::{AppError, AppResult},
    extract::{Path, QueryPairs},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_project_tasks)).routes(routes!(list_tasks)).routes(routes!(my_tasks))
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;
/// NULL due dates sort as the largest value (last ascending, first descending).
const DUE_KEY: &str = "coalesce(t.due_at, 9223372036854775807)";

/// Query parameters of task listings (documentation; parsing is in `TaskFilter`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    /// One or more of todo, in_progress, blocked, done (repeat the parameter or separate with commas).
    status: Option<Vec<String>>,
    /// A user id, `me`, or `none` for unassigned tasks.
    assignee: Option<String>,
    /// A label id.
    label: Option<i64>,
    /// The direct subtasks of this task id, or `none` for top-level tasks only.
    parent_id: Option<String>,
    /// One or more of low, medium, high, urgent.
    priority: Option<Vec<String>>,
    /// Due strictly before this time (RFC 3339).
    due_before: Option<DateTime<Utc>>,
    /// Due at or after this time (RFC 3339).
    due_after: Option<DateTime<Utc>>,
    /// Only tasks not done whose due time has passed (true), or the others (false).
    overdue: Option<bool>,
    /// Case-insensitive text searched in title and description.
    q: Option<String>,
    /// due_at, priority, created_at, updated_at or position (default).
    sort: Option<String>,
    /// asc (default) or desc.
    order: Option<String>,
    /// 1..=200, default 50.
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Every query parameter of task listings.
pub(crate) const KNOWN: &[&str] = &[
    "status",
    "assignee",
    "label",
    "parent_id",
    "priority",
    "due_before",
    "due_after",
    "overdue",
    "q",
    "sort",
    "order",
    "limit",
    "cursor",
];

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Cursor {
    s: String,
    o: String,
    k: CursorKey,
    i: i64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(untagged)]
enum CursorKey {
    Int(i64),
    Text(String),
}

fn sort_expr(sort: &str) -> Option<&'static str> {
    Some(match sort {
        "due_at" => DUE_KEY,
        "priority" => "t.priority",
        "created_at" => "t.created_at",
        "updated_at" => "t.updated_at",
        "position" => "t.position",
        _ => return None,
    })
}

fn sort_value(sort: &str, t: &TaskRow) -> CursorKey {
    match sort {
        "due_at" => CursorKey::Int(t.due_at.unwrap_or(i64::MAX)),
        "priority" => CursorKey::Int(t.priority),
        "created_at" => CursorKey::Int(t.created_at),
        "updated_at" => CursorKey::Int(t.updated_at),
        _ => CursorKey::Text(t.position.clone()),
    }
}

fn parse_time(f: &mut Fields, name: &str, raw: Option<String>) -> Option<i64> {
    let raw = raw?;
    match DateTime::parse_from_rfc3339(&raw) {
        Ok(t) => Some(t.with_timezone(&Utc).timestamp_millis()),
        Err(_) => {
            f.push(name, "invalid", format!("{name} must be an RFC 3339 time such as 2026-01-31T17:00:00Z"));
            None
        }
    }
}

/// Builds the listing query from the parameters, or every invalid parameter at once.
fn build(q: &QueryPairs, viewer: i64, project_id: Option<i64>, now: i64) -> AppResult<(ListQuery, String, String)> {
    q.only(KNOWN)?;
    let mut f = Fields::default();
    let mut lq = ListQuery::new(viewer);
    if let Some(p) = project_id {
        let ph = lq.arg(Arg::Int(p));
        lq.clauses.push(format!("t.project_id = {ph}"));
        lq.one_project = true;
    }
    let statuses = q.all("status");
    if !statuses.is_empty() {
        let mut phs = vec![];
        for s in &statuses {
            match TaskStatus::parse(s) {
                Some(s) => phs.push(lq.arg(Arg::Text(s.as_str().into()))),
                None => f.push("status", "invalid", format!("unknown status `{s}`")),
            }
        }
        if !phs.is_empty() {
            lq.clauses.push(one_of("t.status", &phs));
        }
    }
    let priorities = q.all("priority");
    if !priorities.is_empty() {
        let mut phs = vec![];
        for p in &priorities {
            match Priority::parse(p) {
                Some(p) => phs.push(lq.arg(Arg::Int(p.rank()))),
                None => f.push("priority", "invalid", format!("unknown priority `{p}`")),
            }
        }
        if !phs.is_empty() {
            lq.clauses.push(one_of("t.priority", &phs));
        }
    }
    match q.one("assignee").as_deref() {
        None => {}
        Some("none") => lq.clauses.push("t.assignee_id is null".into()),
        Some(a) => {
            let id = if a == "me" { Some(viewer) } else { a.parse::<i64>().ok() };
            match id {
                Some(id) => {
                    let ph = lq.arg(Arg::Int(id));
                    lq.clauses.push(format!("t.assignee_id = {ph}"));
                }
                None => f.push("assignee", "invalid", "assignee must be a user id, `me` or `none`"),
            }
        }
    }
    if let Some(l) = q.one("label") {
        match l.parse::<i64>() {
            Ok(id) => {
                let ph = lq.arg(Arg::Int(id));
                lq.clauses.push(format!(
                    "exists (select 1 from task_label tl where tl.task_id = t.id and tl.label_id = {ph})"
                ));
            }
            Err(_) => f.push("label", "invalid", "label must be a label id"),
        }
    }
    match q.one("parent_id").as_deref() {
        None => {}
        Some("none") => lq.clauses.push("t.parent_id is null".into()),
        Some(p) => match p.parse::<i64>() {
            Ok(id) => {
                let ph = lq.arg(Arg::Int(id));
                lq.clauses.push(format!("t.parent_id = {ph}"));
            }
            Err(_) => f.push("parent_id", "invalid", "parent_id must be a task id or `none`"),
        },
    }
    if let Some(before) = parse_time(&mut f, "due_before", q.one("due_before")) {
        let ph = lq.arg(Arg::Int(before));
        lq.clauses.push(format!("t.due_at < {ph}"));
    }
    if let Some(after) = parse_time(&mut f, "due_after", q.one("due_after")) {
        let ph = lq.arg(Arg::Int(after));
        lq.clauses.push(format!("t.due_at >= {ph}"));
    }
    match q.one("overdue").as_deref() {
        None => {}
        Some(v @ ("true" | "false")) => {
            let ph = lq.arg(Arg::Int(now));
            let cond = format!("(t.status <> 'done' and t.due_at is not null and t.due_at < {ph})");
            lq.clauses.push(if v == "true" { cond } else { format!("not {cond}") });
        }
        Some(_) => f.push("overdue", "invalid", "overdue must be true or false"),
    }
    if let Some(text) = q.one("q") {
        if text.chars().count() > 200 {
            f.push("q", "too_long", "q must be at most 200 characters");
        } else {
            let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let ph = lq.arg(Arg::Text(format!("%{escaped}%")));
            lq.clauses.push(format!("t.search_text like {ph} escape '\\'"));
        }
    }
    let sort = q.one("sort").unwrap_or_else(|| "position".into());
    let key = sort_expr(&sort).unwrap_or_else(|| {
        f.push("sort", "invalid", "sort must be due_at, priority, created_at, updated_at or position");
        "t.position"
    });
    let order = q.one("order").unwrap_or_else(|| "asc".into());
    if order != "asc" && order != "desc" {
        f.push("order", "invalid", "order must be asc or desc");
    }
    lq.limit = match q.one("limit").map(|l| l.parse::<i64>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(l)) if (1..=MAX_LIMIT).contains(&l) => l,
        Some(_) => {
            f.push("limit", "invalid", format!("limit must be between 1 and {MAX_LIMIT}"));
            DEFAULT_LIMIT
        }
    };
    f.finish()?;
    let (cmp, dir) = if order == "desc" { ("<", "desc") } else { (">", "asc") };
    if let Some(raw) = q.one("cursor") {
        // The key must have the sort column's type: a forged cursor must not reach
        // the database as a comparison of text with a number.
        let key_fits = |k: &CursorKey| matches!(k, CursorKey::Text(_)) == (sort == "position");
        let c = decode_cursor(&raw).filter(|c| c.s == sort && c.o == order && key_fits(&c.k)).ok_or_else(|| {
            AppError::BadRequest(
                "invalid_cursor",
                "The cursor is not valid for this listing; start again without it.".into(),
            )
        })?;
        let k = lq.arg(match c.k {
            CursorKey::Int(i) => Arg::Int(i),
            CursorKey::Text(s) => Arg::Text(s),
        });
        let i = lq.arg(Arg::Int(c.i));
        lq.clauses.push(format!("({key} {cmp} {k} or ({key} = {k} and t.id {cmp} {i}))"));
    }
    lq.order_by = format!("{key} {dir}, t.id {dir}");
    // One extra row tells whether there is a next page.
    lq.limit += 1;
    Ok((lq, sort, order))
}

/// `column = $n` for one value, `column in (...)` for several: SQLite's planner only
/// walks an index in ORDER BY order past an equality, not past an `in` list.
fn one_of(column: &str, placeholders: &[String]) -> String {
    match placeholders {
        [one] => format!("{column} = {one}"),
        many => format!("{column} in ({})", many.join(", ")),
    }
}

fn decode_cursor(raw: &str) -> Option<Cursor> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn encode_cursor(c: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).expect("cursor serialises"))
}

/// Rows to views, with each task's labels fetched in one query.
pub async fn views(db: &Db, c: &mut Connection, rows: &[TaskRow]) -> Result<Vec<TaskView>, sqlx::Error> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let pairs = repo::tasks::label_ids(db, c, &ids).await?;
    Ok(rows
        .iter()
        .map(|r| TaskView::new(r, pairs.iter().filter(|(t, _)| *t == r.id).map(|(_, l)| *l).collect()))
        .collect())
}

async fn page(state: &AppState, principal: &Principal, project_id: Option<i64>, q: QueryPairs) -> AppResult<TaskPage> {
    let db = &state.db;
    let mut c = db.conn().await?;
    if let Some(p) = project_id {
        access::role_in(db, &mut c, p, principal.id()).await?;
    }
    let (lq, sort, order) = build(&q, principal.id(), project_id, now_millis())?;
    let mut rows = repo::tasks::list(db, &mut c, &lq).await?;
    let next_cursor = if rows.len() as i64 == lq.limit {
        rows.pop();
        rows.last().map(|last| {
            encode_cursor(&Cursor { k: sort_value(&sort, last), i: last.id, s: sort.clone(), o: order.clone() })
        })
    } else {
        None
    };
    Ok(TaskPage { items: views(db, &mut c, &rows).await?, next_cursor })
}

/// Tasks of a project.
#[utoipa::path(get, path = "/projects/{id}/tasks", tag = "tasks", params(("id" = i64, Path), ListParams),
    security(("session" = []), ("token" = [])), responses((status = 200, body = TaskPage), ReadErrors))]
pub async fn list_project_tasks(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    q: QueryPairs,
) -> AppResult<axum::Json<TaskPage>> {
    Ok(axum::Json(page(&state, &principal, Some(id), q).await?))
}

/// Tasks of every project the caller is a member of.
#[utoipa::path(get, path = "/tasks", tag = "tasks", params(ListParams),
    security(("session" = []), ("token" = [])), responses((status = 200, body = TaskPage), ReadErrors))]
pub async fn list_tasks(
    State(state): State<AppState>,
    principal: Principal,
    q: QueryPairs,
) -> AppResult<axum::Json<TaskPage>> {
    Ok(axum::Json(page(&state, &principal, None, q).await?))
}

/// Open tasks assigned to the caller, grouped into overdue, due today (in the
/// caller's time zone) and upcoming (later or no due date).
#[utoipa::path(get, path = "/me/tasks", tag = "tasks", security(("session" = []), ("token" = [])),
    responses((status = 200, body = MyTasks), ReadErrors))]
pub async fn my_tasks(State(state): State<AppState>, principal: Principal) -> AppResult<axum::Json<MyTasks>> {
    let db = &state.db;
    let mut c = db.conn().await?;
    let now = now_millis();
    let mut lq = ListQuery::new(principal.id());
    lq.clauses.push("t.assignee_id = $1".into());
    lq.clauses.push("t.status <> 'done'".into());
    lq.order_by = format!("{DUE_KEY} asc, t.id asc");
    lq.limit = 500;
    let rows = repo::tasks::list(db, &mut c, &lq).await?;
    let end_of_today = end_of_day(now, &principal.user.time_zone);
    let all = views(db, &mut c, &rows).await?;
    let mut out = MyTasks { overdue: vec![], due_today: vec![], upcoming: vec![] };
    for (row, view) in rows.iter().zip(all) {
        match row.due_at {
            Some(d) if d < now => out.overdue.push(view),
            Some(d) if d < end_of_today => out.due_today.push(view),
            _ => out.upcoming.push(view),
        }
    }
    Ok(axum::Json(out))
}

/// The first instant of tomorrow in the time zone, as Unix milliseconds.
pub fn end_of_day(now: i64, zone: &str) -> i64 {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    let local = crate::domain::to_rfc3339(now).with_timezone(&tz);
    let tomorrow = local.date_naive().succ_opt().unwrap_or(local.date_naive());
    tomorrow
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map(|t| t.timestamp_millis())
        .unwrap_or(now + 24 * 3600 * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_garbage_is_rejected() {
        let c = Cursor { s: "due_at".into(), o: "asc".into(), k: CursorKey::Int(5), i: 9 };
        assert_eq!(decode_cursor(&encode_cursor(&c)), Some(c));
        assert_eq!(decode_cursor("not-a-cursor"), None);
        // A key of the wrong type for the sort is refused before it reaches SQL.
        let forged = encode_cursor(&Cursor { s: "position".into(), o: "asc".into(), k: CursorKey::Int(5), i: 1 });
        let q = QueryPairs(vec![("cursor".into(), forged)]);
        assert!(matches!(build(&q, 1, None, 0), Err(AppError::BadRequest("invalid_cursor", _))));
    }

    #[test]
    fn end_of_day_follows_the_zone() {
        // 2026-03-29 00:30 UTC is 01:30 in Paris (the day clocks go forward).
        let now = DateTime::parse_from_rfc3339("2026-03-29T00:30:00Z").unwrap().timestamp_millis();
        let paris = end_of_day(now, "Europe/Paris");
        assert_eq!(crate::domain::to_rfc3339(paris).to_rfc3339(), "2026-03-29T22:00:00+00:00");
        let utc = end_of_day(now, "UTC");
        assert_eq!(crate::domain::to_rfc3339(utc).to_rfc3339(), "2026-03-30T00:00:00+00:00");
    }

    #[test]
    fn invalid_parameters_are_all_reported() {
        let q = QueryPairs(vec![
            ("status".into(), "doing".into()),
            ("limit".into(), "500".into()),
            ("sort".into(), "size".into()),
        ]);
        match build(&q, 1, None, 0) {
            Err(AppError::Unprocessable(errs)) => {
                let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["status", "sort", "limit"]);
            }
            _ => panic!("expected 422"),
        }
    }
}
