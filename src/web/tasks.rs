//! Tasks: the project's list view (the API's filters, search, sort and pagination in
//! the URL), the board, the task page, "My tasks", and the task forms.

use std::collections::HashMap;

use axum::{
    extract::{RawQuery, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::IntoResponse,
    Json,
};
use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use serde_json::{json, Value};

use super::{
    extract::{CsrfForm, WebError, WebPath, WebResult, WebUser},
    format::{self, priority_label, status_label},
    markdown::to_safe_html,
    projects,
    recurrence::Picker,
    relations,
    render::{page, redirect, Nav},
};
use crate::{
    api::{
        comments::{self, AddComment},
        task_input::{CreateTask, UpdateTask},
        task_list,
        tasks::{self, MoveTask},
        views::TaskView,
    },
    db::repo,
    domain::{now_millis, to_rfc3339, Priority, Role, TaskStatus},
    error::{AppError, FieldError},
    extract::{ApiJson, Path, QueryPairs},
    state::AppState,
};

/// Names of the project's members and labels, to show tasks.
struct Lookup {
    members: Vec<(i64, String)>,
    labels: Vec<(i64, String, String)>,
}

impl Lookup {
    async fn load(state: &AppState, project_id: i64) -> Result<Lookup, WebError> {
        let mut c = state.db.conn().await?;
        let members = repo::members::list(&state.db, &mut c, project_id).await?;
        let labels = repo::labels::list(&state.db, &mut c, project_id).await?;
        Ok(Lookup {
            members: members.into_iter().map(|m| (m.user_id, m.display_name)).collect(),
            labels: labels.into_iter().map(|l| (l.id, l.name, l.color)).collect(),
        })
    }

    fn member(&self, id: i64) -> Option<&str> {
        self.members.iter().find(|(i, _)| *i == id).map(|(_, n)| n.as_str())
    }

    fn label_views(&self, ids: &[i64]) -> Vec<Value> {
        self.labels
            .iter()
            .filter(|(i, _, _)| ids.contains(i))
            .map(|(id, name, color)| json!({"id": id, "name": name, "swatch": format::swatch(color)}))
            .collect()
    }
}

/// A task as the list, the board and "My tasks" show it.
fn card(t: &TaskView, tz: Tz, now: i64, lookup: Option<&Lookup>) -> Value {
    let due_ms = t.due_at.map(|d| d.timestamp_millis());
    let overdue = t.status != TaskStatus::Done && due_ms.is_some_and(|d| d < now);
    json!({
        "id": t.id,
        "project_id": t.project_id,
        "title": t.title,
        "status": t.status.as_str(),
        "status_label": status_label(t.status),
        "status_options": format::status_options(t.status.as_str()),
        "priority": t.priority.as_str(),
        "priority_label": priority_label(t.priority),
        "due": due_ms.map(|d| format::time(d, tz)),
        "overdue": overdue,
        "done": t.status == TaskStatus::Done,
        "assignee": t.assignee_id.and_then(|a| lookup.and_then(|l| l.member(a))),
        "labels": lookup.map(|l| l.label_views(&t.labels)).unwrap_or_default(),
        "version": t.version,
        "checklist": Value::Null,
        "recurrence_summary": t.recurrence_summary,
        "parent_id": t.parent_id,
        "subtasks": Value::Null,
        "subtask_total": 0,
    })
}

/// Adds checklist progress ("2/5") to cards, with one query for all of them.
async fn with_progress(state: &AppState, cards: &mut [Value]) -> Result<(), WebError> {
    let ids: Vec<i64> = cards.iter().filter_map(|c| c["id"].as_i64()).collect();
    let mut c = state.db.conn().await?;
    let progress = repo::checklists::progress(&state.db, &mut c, &ids).await?;
    for card in cards.iter_mut() {
        if let Some((_, done, total)) = progress.iter().find(|(id, _, _)| Some(*id) == card["id"].as_i64()) {
            card["checklist"] = json!(format!("{done}/{total}"));
        }
    }
    // Subtasks the same way ("1/3"); with any, completing goes through the server,
    // which asks first.
    for (id, done, total) in repo::subtasks::counts(&state.db, &mut c, &ids).await? {
        if let Some(card) = cards.iter_mut().find(|c| c["id"].as_i64() == Some(id)) {
            card["subtasks"] = json!(format!("{done}/{total}"));
            card["subtask_total"] = json!(total);
        }
    }
    Ok(())
}

fn error_messages(errs: &[FieldError]) -> Vec<String> {
    errs.iter()
        .map(|e| if e.field.is_empty() { e.message.clone() } else { format!("{}: {}", e.field, e.message) })
        .collect()
}

fn query_string(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

async fn listing(
    state: &AppState,
    user: &WebUser,
    project_id: i64,
    pairs: Vec<(String, String)>,
) -> Result<Result<(Vec<TaskView>, Option<String>), Vec<String>>, WebError> {
    let pairs = match QueryPairs::new(pairs) {
        Ok(pairs) => pairs,
        Err(AppError::Unprocessable(errs)) => return Ok(Err(error_messages(&errs))),
        Err(e) => return Err(e.into()),
    };
    let r = task_list::list_project_tasks(State(state.clone()), user.principal.clone(), Path(project_id), pairs).await;
    match r {
        Ok(Json(page)) => Ok(Ok((page.items, page.next_cursor))),
        Err(AppError::Unprocessable(errs)) => Ok(Err(error_messages(&errs))),
        Err(AppError::BadRequest(_, m)) => Ok(Err(vec![m])),
        Err(e) => Err(e.into()),
    }
}

fn pairs_of(raw: Option<String>, keys: &[&str]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .filter(|(k, v)| !v.trim().is_empty() && keys.contains(&k.as_str()))
        .collect()
}

/// `/projects/{id}`: the project's tasks with the API's filters, search, sort and
/// pagination, all in the URL so a view can be bookmarked.
pub async fn list_view(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    RawQuery(raw): RawQuery,
) -> WebResult {
    let (p, role) = projects::load(&state, &user, id).await?;
    let tz = user.tz();
    let pairs = pairs_of(raw, crate::api::task_list::KNOWN);
    let api_pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| match k.as_str() {
            "due_before" | "due_after" => (k.clone(), format::day_start(v, tz)),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    let lookup = Lookup::load(&state, id).await?;
    let (items, next, errors) = match listing(&state, &user, id, api_pairs).await? {
        Ok((items, next)) => (items, next, vec![]),
        Err(errors) => (vec![], None, errors),
    };
    let now = now_millis();
    let mut tasks: Vec<Value> = items.iter().map(|t| card(t, tz, now, Some(&lookup))).collect();
    with_progress(&state, &mut tasks).await?;
    let has = |k: &str, v: &str| pairs.iter().any(|(pk, pv)| pk == k && pv.split(',').any(|x| x.trim() == v));
    let one = |k: &str| pairs.iter().rev().find(|(pk, _)| pk == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let statuses: Vec<Value> = TaskStatus::ALL
        .iter()
        .map(|s| json!({"value": s.as_str(), "label": status_label(*s), "checked": has("status", s.as_str())}))
        .collect();
    let priorities: Vec<Value> = Priority::ALL
        .iter()
        .map(|p| json!({"value": p.as_str(), "label": priority_label(*p), "checked": has("priority", p.as_str())}))
        .collect();
    let assignee = one("assignee");
    let mut assignees = vec![
        json!({"value": "", "label": "Anyone", "selected": assignee.is_empty()}),
        json!({"value": "me", "label": "Me", "selected": assignee == "me"}),
        json!({"value": "none", "label": "Nobody", "selected": assignee == "none"}),
    ];
    assignees.extend(
        lookup.members.iter().map(
            |(uid, name)| json!({"value": uid.to_string(), "label": name, "selected": assignee == uid.to_string()}),
        ),
    );
    let label = one("label");
    let mut labels = vec![json!({"value": "", "label": "Any label", "selected": label.is_empty()})];
    labels.extend(
        lookup.labels.iter().map(
            |(lid, name, _)| json!({"value": lid.to_string(), "label": name, "selected": label == lid.to_string()}),
        ),
    );
    let sort = one("sort");
    let sorts: Vec<Value> = [
        ("position", "Board order"),
        ("due_at", "Due date"),
        ("priority", "Priority"),
        ("created_at", "Created"),
        ("updated_at", "Updated"),
    ]
    .iter()
    .map(|(v, l)| json!({"value": v, "label": l, "selected": sort == *v || (sort.is_empty() && *v == "position")}))
    .collect();
    let order = one("order");
    let orders = vec![
        json!({"value": "asc", "label": "Ascending", "selected": order != "desc"}),
        json!({"value": "desc", "label": "Descending", "selected": order == "desc"}),
    ];
    let base: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "cursor").cloned().collect();
    let next_url = next.map(|c| {
        let mut q = base.clone();
        q.push(("cursor".into(), c));
        format!("/projects/{id}?{}", query_string(&q))
    });
    let paged = pairs.iter().any(|(k, _)| k == "cursor");
    let filtered = pairs.iter().any(|(k, _)| !matches!(k.as_str(), "sort" | "order" | "limit" | "cursor"));
    let here = match query_string(&pairs) {
        q if q.is_empty() => format!("/projects/{id}"),
        q => format!("/projects/{id}?{q}"),
    };
    let data = json!({
        "project": projects::header(&p, role, "list"),
        "tasks": tasks,
        "errors": errors,
        "q": one("q"),
        "statuses": statuses,
        "priorities": priorities,
        "assignees": assignees,
        "labels": labels,
        "bulk_members": lookup.members.iter().map(|(uid, name)| json!({"id": uid, "name": name})).collect::<Vec<_>>(),
        "bulk_labels": lookup.labels.iter().map(|(lid, name, _)| json!({"id": lid, "name": name})).collect::<Vec<_>>(),
        "sorts": sorts,
        "orders": orders,
        "overdue": one("overdue") == "true",
        "due_after": one("due_after"),
        "due_before": one("due_before"),
        "next_url": next_url,
        "first_url": if paged { Some(format!("/projects/{id}?{}", query_string(&base))) } else { None },
        "filtered": filtered,
        "here": here,
    });
    Ok(page(&user.ctx, StatusCode::OK, Nav::Projects, "list", &p.name, data))
}

/// `/projects/{id}/board`: a column per status, in position order.
pub async fn board(State(state): State<AppState>, user: WebUser, WebPath(id): WebPath<i64>) -> WebResult {
    let (p, role) = projects::load(&state, &user, id).await?;
    let tz = user.tz();
    let lookup = Lookup::load(&state, id).await?;
    let now = now_millis();
    let mut columns = vec![];
    for s in TaskStatus::ALL {
        let pairs = vec![
            ("status".to_owned(), s.as_str().to_owned()),
            ("sort".to_owned(), "position".to_owned()),
            ("limit".to_owned(), "200".to_owned()),
        ];
        let (items, next) =
            listing(&state, &user, id, pairs).await?.map_err(|e| AppError::Internal(anyhow::anyhow!("{e:?}")))?;
        let mut cards: Vec<Value> = items.iter().map(|t| card(t, tz, now, Some(&lookup))).collect();
        with_progress(&state, &mut cards).await?;
        columns.push(json!({
            "status": s.as_str(),
            "label": status_label(s),
            "count": cards.len(),
            "tasks": cards,
            "more": next.is_some(),
        }));
    }
    let data = json!({"project": projects::header(&p, role, "board"), "columns": columns});
    Ok(page(&user.ctx, StatusCode::OK, Nav::Projects, "board", &format!("Board · {}", p.name), data))
}

fn parse_due(raw: &str, tz: Tz, errors: &mut Vec<String>) -> Option<DateTime<FixedOffset>> {
    if raw.is_empty() {
        return None;
    }
    let parsed = format::parse_local(raw, tz);
    if parsed.is_none() {
        errors.push("Due: enter a date and time such as 2026-01-31 17:00.".into());
    }
    parsed
}

/// The rule chosen with the form's recurrence picker; `None` when the form has none.
fn repeat_of(form: &CsrfForm, errors: &mut Vec<String>) -> Option<Option<String>> {
    match Picker::from_form(form)?.to_rule() {
        Ok(rule) => Some(rule),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

fn parse_ids(values: Vec<String>) -> Vec<i64> {
    values.iter().filter_map(|v| v.parse().ok()).collect()
}

fn parse_status(raw: &str, errors: &mut Vec<String>) -> Option<TaskStatus> {
    if raw.is_empty() {
        return None;
    }
    let s = TaskStatus::parse(raw);
    if s.is_none() {
        errors.push("Status: choose one of the listed statuses.".into());
    }
    s
}

fn parse_priority(raw: &str, errors: &mut Vec<String>) -> Option<Priority> {
    if raw.is_empty() {
        return None;
    }
    let p = Priority::parse(raw);
    if p.is_none() {
        errors.push("Priority: choose one of the listed priorities.".into());
    }
    p
}

/// `POST /projects/{id}/tasks`: a new task (the quick-add and the full form).
pub async fn create(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let tz = user.tz();
    let mut errors = vec![];
    let description = form.raw("description");
    let recurrence = repeat_of(&form, &mut errors).flatten();
    let body = CreateTask {
        title: form.get("title"),
        description: (!description.trim().is_empty()).then_some(description),
        status: parse_status(&form.get("status"), &mut errors),
        priority: parse_priority(&form.get("priority"), &mut errors),
        due_at: parse_due(&form.get("due_at"), tz, &mut errors),
        assignee_id: form.get("assignee_id").parse().ok(),
        labels: Some(parse_ids(form.all("labels"))),
        parent_id: None,
        recurrence,
    };
    if !errors.is_empty() {
        return Err(
            AppError::Unprocessable(errors.into_iter().map(|m| FieldError::new("", "invalid", m)).collect()).into()
        );
    }
    tasks::create_task(State(state), user.principal, Path(id), ApiJson(body)).await?;
    Ok(redirect(&form.return_to(&format!("/projects/{id}")), Some("task_added")))
}

/// The task page; after a failed save, the submitted values and what was wrong.
async fn task_page(
    state: &AppState,
    user: &WebUser,
    id: i64,
    status: StatusCode,
    errors: Vec<String>,
    submitted: Option<&CsrfForm>,
) -> WebResult {
    let db = &state.db;
    let mut c = db.conn().await?;
    let repo::tasks::MemberTask { task: row, role, labels: task_labels } =
        repo::tasks::get_with_labels(db, &mut c, id, user.id(), false).await?.ok_or(AppError::NotFound)?;
    let role = Role::parse(&role).unwrap_or(Role::Viewer);
    let project =
        repo::projects::get_for_member(db, &mut c, row.project_id, user.id()).await?.ok_or(AppError::NotFound)?;
    let comments = repo::comments::list(db, &mut c, id).await?;
    let activity = repo::activity::list(db, &mut c, id).await?;
    let checklist = repo::checklists::list(db, &mut c, id).await?;
    let next_occurrence = match row.recurrence_next_id {
        Some(next) => repo::tasks::get_for_member(db, &mut c, next, user.id(), false)
            .await?
            .map(|(t, _)| json!({"id": t.id, "due": t.due_at.map(|d| format::time(d, user.tz()))})),
        None => None,
    };
    let attachments = repo::attachments::list(db, &mut c, id).await?;
    drop(c);
    let links = relations::task_links(state, &row).await?;
    let lookup = Lookup::load(state, row.project_id).await?;
    let tz = user.tz();
    let now = now_millis();
    let view = TaskView::new(&row, task_labels.clone());
    let can_edit = role.can_edit() && project.archived == 0;

    let value = |k: &str, current: String| submitted.map(|f| f.raw(k)).unwrap_or(current);
    let status_v = value("status", row.status.clone());
    let priority_v = value("priority", view.priority.as_str().to_owned());
    let assignee_v = value("assignee_id", row.assignee_id.map(|a| a.to_string()).unwrap_or_default());
    let chosen_labels: Vec<i64> = submitted.map(|f| parse_ids(f.all("labels"))).unwrap_or(task_labels.clone());
    let mut assignees = vec![json!({"value": "", "label": "Nobody", "selected": assignee_v.is_empty()})];
    assignees.extend(lookup.members.iter().map(
        |(uid, name)| json!({"value": uid.to_string(), "label": name, "selected": assignee_v == uid.to_string()}),
    ));
    let labels: Vec<Value> = lookup
        .labels
        .iter()
        .map(|(lid, name, color)| {
            json!({"id": lid, "name": name, "swatch": format::swatch(color), "checked": chosen_labels.contains(lid)})
        })
        .collect();
    let comments: Vec<Value> = comments
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "author": c.author_name, "body_html": to_safe_html(&c.body),
                "created": format::time(c.created_at, tz),
            })
        })
        .collect();
    let label_names = |v: &Option<String>| {
        v.as_deref().map(|ids| {
            let names: Vec<String> = ids
                .split(',')
                .filter_map(|i| i.parse::<i64>().ok())
                .map(|i| {
                    lookup.labels.iter().find(|l| l.0 == i).map(|l| l.1.clone()).unwrap_or_else(|| format!("#{i}"))
                })
                .collect();
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        })
    };
    let activity: Vec<Value> = activity
        .iter()
        .rev()
        .map(|a| {
            let shown = |v: &Option<String>| -> Option<String> {
                match a.field.as_str() {
                    "status" => v.as_deref().and_then(TaskStatus::parse).map(|s| status_label(s).to_owned()),
                    "priority" => v.as_deref().and_then(Priority::parse).map(|p| priority_label(p).to_owned()),
                    "due_at" => v.as_deref().map(|d| {
                        DateTime::parse_from_rfc3339(d)
                            .map(|t| format::datetime(t.timestamp_millis(), tz))
                            .unwrap_or_else(|_| d.to_owned())
                    }),
                    "assignee_id" => v
                        .as_deref()
                        .and_then(|i| i.parse::<i64>().ok())
                        .map(|i| lookup.member(i).map(str::to_owned).unwrap_or_else(|| format!("user {i}"))),
                    "labels" => label_names(v),
                    "title" | "created" | "checklist" | "attachment" => v.clone(),
                    "recurrence" => v.as_deref().map(|r| {
                        crate::domain::Recurrence::stored(r).map(|r| r.summary()).unwrap_or_else(|| r.to_owned())
                    }),
                    "next_occurrence" | "previous_occurrence" => v.as_deref().map(|i| format!("task {i}")),
                    "parent_id" | "subtasks" | "relations" => relations::activity_text(&a.field, v.as_deref()),
                    _ => None,
                }
            };
            let what = match a.field.as_str() {
                "created" => "created the task",
                "title" => "changed the title",
                "description" => "edited the description",
                "status" => "changed the status",
                "priority" => "changed the priority",
                "due_at" => "changed the due date",
                "assignee_id" => "changed the assignee",
                "labels" => "changed the labels",
                "checklist" => "changed the checklist",
                "recurrence" => "changed how it repeats",
                "next_occurrence" => "completed it and created the next occurrence",
                "previous_occurrence" => "created it as the next occurrence of",
                "attachment" => "changed the attachments",
                "position" => "moved the task",
                "parent_id" => "changed the parent",
                "subtasks" => "changed the subtasks",
                "relations" => "changed the relations",
                _ => "changed the task",
            };
            let (old, new) = if a.field == "created" {
                (None, shown(&a.new_value))
            } else {
                (shown(&a.old_value), shown(&a.new_value))
            };
            json!({
                "actor": a.actor_name, "what": what,
                "old": old, "new": new, "has_change": a.field != "created" && (old.is_some() || new.is_some()),
                "when": format::time(a.created_at, tz),
            })
        })
        .collect();
    let due_ms = row.due_at;
    let data = json!({
        "project": projects::header(&project, role, ""),
        "task": {
            "id": row.id,
            "title": row.title,
            "description_html": to_safe_html(&row.description),
            "has_description": !row.description.trim().is_empty(),
            "status_label": status_label(view.status),
            "priority_label": priority_label(view.priority),
            "due": due_ms.map(|d| format::time(d, tz)),
            "overdue": view.status != TaskStatus::Done && due_ms.is_some_and(|d| d < now),
            "assignee": row.assignee_id.and_then(|a| lookup.member(a)),
            "labels": lookup.label_views(&task_labels),
            "version": row.version,
            "created": format::time(row.created_at, tz),
            "updated": format::time(row.updated_at, tz),
            "completed": row.completed_at.map(|d| format::time(d, tz)),
            "recurrence": row.recurrence,
            "recurrence_summary": view.recurrence_summary,
            "next_occurrence": next_occurrence,
        },
        "form": {
            "title": value("title", row.title.clone()),
            "description": value("description", row.description.clone()),
            "due_at": value("due_at", due_ms.map(|d| format::datetime_input(d, tz)).unwrap_or_default()),
            "statuses": format::status_options(&status_v),
            "priorities": format::priority_options(&priority_v),
            "assignees": assignees,
            "labels": labels,
            "comment": submitted.map(|f| f.raw("body")).unwrap_or_default(),
            "repeat": submitted.and_then(Picker::from_form).unwrap_or_else(|| Picker::from_rule(row.recurrence.as_deref())).to_json(),
        },
        "time_zone": tz.name(),
        "can_edit": can_edit,
        "errors": errors,
        "comments": comments,
        "checklist": checklist.iter().map(|i| json!({"id": i.id, "text": i.text, "done": i.done == 1})).collect::<Vec<_>>(),
        "checklist_done": checklist.iter().filter(|i| i.done == 1).count(),
        "checklist_total": checklist.len(),
        "attachments": super::attachments::section(&attachments),
        "attachment_limit": super::attachments::human_size(state.config.attachment_max_bytes as i64),
        "activity": activity,
        "links": links,
    });
    Ok(page(&user.ctx, status, Nav::Projects, "task", &row.title, data))
}

pub async fn show(State(state): State<AppState>, user: WebUser, WebPath(id): WebPath<i64>) -> WebResult {
    task_page(&state, &user, id, StatusCode::OK, vec![], None).await
}

/// `POST /tasks/{id}`: saves every field of the task form.
pub async fn update(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let tz = user.tz();
    let mut errors = vec![];
    let due = form.get("due_at");
    let recurrence = repeat_of(&form, &mut errors);
    let body = UpdateTask {
        title: Some(form.get("title")),
        description: Some(form.raw("description")),
        status: parse_status(&form.get("status"), &mut errors),
        priority: parse_priority(&form.get("priority"), &mut errors),
        due_at: Some(parse_due(&due, tz, &mut errors)),
        assignee_id: Some(form.get("assignee_id").parse().ok()),
        labels: Some(parse_ids(form.all("labels"))),
        parent_id: None,
        complete_subtasks: relations::completion_choice(&form),
        recurrence,
    };
    if !errors.is_empty() {
        return task_page(&state, &user, id, StatusCode::UNPROCESSABLE_ENTITY, errors, Some(&form)).await;
    }
    let action = format!("/tasks/{id}");
    if let Some(ask) =
        relations::confirm_completion(&state, &user, id, body.status, &form, &action, form.pairs.clone()).await?
    {
        return Ok(ask);
    }
    let r = tasks::update_view(&state, &user.principal, id, form.get("version").parse().ok(), &body).await;
    match r {
        Ok(saved) => Ok(redirect(&format!("/tasks/{id}"), Some(saved_flash(&saved)))),
        Err(AppError::Unprocessable(errs)) => {
            task_page(&state, &user, id, StatusCode::UNPROCESSABLE_ENTITY, error_messages(&errs), Some(&form)).await
        }
        Err(AppError::PreconditionFailed) => {
            let msg = "Someone else changed this task while you were editing it; your changes were not saved. \
                       The page now shows your values over the current version: check them and save again.";
            // Show the submitted values, with the current version so a second save goes through.
            let mut form = form;
            form.pairs.retain(|(k, _)| k != "version");
            task_page(&state, &user, id, StatusCode::CONFLICT, vec![msg.into()], Some(&form)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Says so when saving completed a recurring task and created its next occurrence.
fn saved_flash(saved: &TaskView) -> &'static str {
    if saved.next_occurrence.is_some() {
        "task_recurred"
    } else {
        "task_saved"
    }
}

/// `POST /tasks/{id}/status`: the status alone (list and board rows).
pub async fn set_status(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let mut errors = vec![];
    let status = parse_status(&form.get("status"), &mut errors);
    if status.is_none() {
        return Err(AppError::field("status", "invalid", "Choose a status.").into());
    }
    let action = format!("/tasks/{id}/status");
    if let Some(ask) =
        relations::confirm_completion(&state, &user, id, status, &form, &action, form.pairs.clone()).await?
    {
        return Ok(ask);
    }
    let body = UpdateTask { status, complete_subtasks: relations::completion_choice(&form), ..UpdateTask::default() };
    let saved = tasks::update_view(&state, &user.principal, id, None, &body).await?;
    Ok(redirect(&form.return_to(&format!("/tasks/{id}")), Some(saved_flash(&saved))))
}

/// `POST /tasks/{id}/move`: the board's "move to" form (a column, top or bottom).
pub async fn move_to(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let mut errors = vec![];
    let Some(status) = parse_status(&form.get("status"), &mut errors) else {
        return Err(AppError::field("status", "invalid", "Choose a column.").into());
    };
    // Moving to "Done" completes the task: ask first about open subtasks, then
    // complete through the status form (at the bottom of the column).
    let fields = vec![("status".to_owned(), "done".to_owned()), ("return".to_owned(), form.get("return"))];
    let action = format!("/tasks/{id}/status");
    if let Some(ask) = relations::confirm_completion(&state, &user, id, Some(status), &form, &action, fields).await? {
        return Ok(ask);
    }
    let project_id = project_of(&state, &user, id).await?;
    let before_id = if form.get("place") == "top" {
        let pairs = vec![
            ("status".to_owned(), status.as_str().to_owned()),
            ("sort".to_owned(), "position".to_owned()),
            ("limit".to_owned(), "2".to_owned()),
        ];
        let first = listing(&state, &user, project_id, pairs).await?.map(|(items, _)| items).unwrap_or_default();
        first.into_iter().map(|t| t.id).find(|t| *t != id)
    } else {
        None
    };
    let body = MoveTask { status: Some(status), after_id: None, before_id };
    tasks::move_task(State(state), user.principal, Path(id), HeaderMap::new(), ApiJson(body)).await?;
    Ok(redirect(&form.return_to(&format!("/projects/{project_id}/board")), Some("task_moved")))
}

pub async fn comment(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let body = AddComment { body: form.raw("body") };
    match comments::add_comment(State(state.clone()), user.principal.clone(), Path(id), ApiJson(body)).await {
        Ok(_) => Ok(redirect(&format!("/tasks/{id}#comments"), Some("comment_added"))),
        Err(AppError::Unprocessable(errs)) => {
            let errors = errs.iter().map(|e| format!("Comment: {}", e.message)).collect();
            task_page(&state, &user, id, StatusCode::UNPROCESSABLE_ENTITY, errors, Some(&form)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The project of a task the user can see (404 otherwise).
pub(super) async fn project_of(state: &AppState, user: &WebUser, id: i64) -> Result<i64, WebError> {
    let mut c = state.db.conn().await?;
    let (task, _) =
        repo::tasks::get_for_member(&state.db, &mut c, id, user.id(), false).await?.ok_or(AppError::NotFound)?;
    Ok(task.project_id)
}

pub async fn delete(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    _form: CsrfForm,
) -> WebResult {
    let project_id = project_of(&state, &user, id).await?;
    tasks::delete_task(State(state), user.principal, Path(id), HeaderMap::new()).await?;
    Ok(redirect(&format!("/projects/{project_id}"), Some("task_deleted")))
}

/// `/my-tasks`: open tasks assigned to me, overdue / due today / upcoming in my zone.
pub async fn mine(State(state): State<AppState>, user: WebUser) -> WebResult {
    let Json(my) = task_list::my_tasks(State(state.clone()), user.principal.clone()).await?;
    let mut c = state.db.conn().await?;
    let projects = repo::projects::list_for_member(&state.db, &mut c, user.id(), true).await?;
    drop(c);
    let names: HashMap<i64, String> = projects.into_iter().map(|p| (p.id, p.name)).collect();
    let tz = user.tz();
    let now = now_millis();
    let group = |items: &[TaskView]| -> Vec<Value> {
        items
            .iter()
            .map(|t| {
                let mut v = card(t, tz, now, None);
                v["project"] = json!(names.get(&t.project_id).cloned().unwrap_or_default());
                v
            })
            .collect()
    };
    let today = to_rfc3339(now).with_timezone(&tz).format("%A %-d %B").to_string();
    let data = json!({
        "overdue": group(&my.overdue),
        "due_today": group(&my.due_today),
        "upcoming": group(&my.upcoming),
        "counts": {"overdue": my.overdue.len(), "due_today": my.due_today.len(), "upcoming": my.upcoming.len()},
        "empty": my.overdue.is_empty() && my.due_today.is_empty() && my.upcoming.is_empty(),
        "today": today,
        "time_zone": tz.name(),
    });
    Ok(page(&user.ctx, StatusCode::OK, Nav::MyTasks, "my_tasks", "My tasks", data))
}

/// `POST /preview`: the Markdown of a form field, rendered and sanitised (for the
/// task page's preview button).
pub async fn preview(_user: WebUser, form: CsrfForm) -> WebResult {
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))],
        to_safe_html(&form.raw("text")),
    )
        .into_response())
}
