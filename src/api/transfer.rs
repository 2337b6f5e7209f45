//! Export and import. A project exports as portable JSON (people by e-mail, labels by
//! name, tasks with their checklists and comments) or its tasks as CSV; the JSON
//! imports back into a new project in one transaction, with a report of what was
//! imported and what was skipped and why. Export, import, export gives the same
//! document (apart from `exported_at`).

use axum::{
    extract::{DefaultBodyLimit, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    access::{self, Fields},
    docs::{ReadErrors, WriteErrors},
};
use crate::{
    auth::Principal,
    db::{
        repo::{self, tasks::TaskFields, Connection},
        Db,
    },
    domain::{
        now_millis, to_rfc3339, LabelColor, LabelName, Priority, ProjectName, TaskDescription, TaskStatus, TaskTitle,
    },
    error::{AppError, AppResult, FieldError},
    extract::{ApiJson, Path},
    state::AppState,
};

/// The identifier of the export format.
pub const FORMAT: &str = "task-manager.project.v1";
/// Imports may be larger than other requests.
pub const IMPORT_MAX_BYTES: usize = 10 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    let import = OpenApiRouter::new().routes(routes!(import_project)).layer(DefaultBodyLimit::max(IMPORT_MAX_BYTES));
    OpenApiRouter::new().routes(routes!(export_project)).routes(routes!(export_tasks_csv)).merge(import)
}

#[derive(Serialize, Deserialize, ToSchema, Debug, PartialEq)]
pub struct ProjectExport {
    /// `task-manager.project.v1`
    pub format: String,
    pub exported_at: Option<DateTime<Utc>>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub labels: Vec<LabelExport>,
    #[serde(default)]
    pub tasks: Vec<TaskExport>,
    /// Relations between tasks of the document.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relations: Vec<super::transfer_links::RelationExport>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, PartialEq)]
pub struct LabelExport {
    pub name: String,
    pub color: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, PartialEq)]
pub struct TaskExport {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub status: TaskStatus,
    pub priority: Priority,
    pub due_at: Option<DateTime<Utc>>,
    /// The assignee's e-mail.
    pub assignee: Option<String>,
    /// Label names.
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub position: String,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub checklist: Vec<ChecklistExport>,
    #[serde(default)]
    pub comments: Vec<CommentExport>,
    /// Index in `tasks` of the task this one is a subtask of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<usize>,
    /// RFC 5545 rule of a recurring task (needs `due_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<String>,
    /// First due date of the series (COUNT and UNTIL count from it); `due_at` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence_start: Option<DateTime<Utc>>,
    /// What files the task has (their bytes are not exported; an import skips them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentExport>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, PartialEq)]
pub struct AttachmentExport {
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// The uploader's e-mail.
    pub uploader: String,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, PartialEq)]
pub struct ChecklistExport {
    pub text: String,
    #[serde(default)]
    pub done: bool,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, PartialEq)]
pub struct CommentExport {
    /// The author's e-mail.
    pub author: String,
    pub body: String,
    pub created_at: Option<DateTime<Utc>>,
}

/// What an import did.
#[derive(Serialize, ToSchema, Default)]
pub struct ImportReport {
    pub project_id: i64,
    pub labels: usize,
    pub tasks: usize,
    pub checklist_items: usize,
    pub comments: usize,
    pub relations: usize,
    /// What was left out or changed, and why.
    pub skipped: Vec<Skipped>,
}

#[derive(Serialize, ToSchema)]
pub struct Skipped {
    /// Where in the document (`tasks[3].assignee`).
    pub item: String,
    pub reason: String,
}

/// The project as a document, read in one transaction.
pub async fn project_document(db: &Db, c: &mut Connection, project_id: i64, user_id: i64) -> AppResult<ProjectExport> {
    let p = repo::projects::get_for_member(db, c, project_id, user_id).await?.ok_or(AppError::NotFound)?;
    let labels = repo::labels::list(db, c, project_id).await?;
    let members = repo::members::list(db, c, project_id).await?;
    let email = |id: i64| members.iter().find(|m| m.user_id == id).map(|m| m.email.clone());
    let tasks = repo::tasks::all_in_project(db, c, project_id).await?;
    let (parents, relations) = super::transfer_links::export(db, c, project_id, &tasks).await?;
    let mut out = Vec::with_capacity(tasks.len());
    for (t, parent) in tasks.iter().zip(parents) {
        let label_ids: Vec<i64> = repo::tasks::label_ids(db, c, &[t.id]).await?.into_iter().map(|(_, l)| l).collect();
        let mut names: Vec<String> =
            labels.iter().filter(|l| label_ids.contains(&l.id)).map(|l| l.name.clone()).collect();
        names.sort();
        let checklist = repo::checklists::list(db, c, t.id).await?;
        let comments = repo::comments::list(db, c, t.id).await?;
        let attachments = repo::attachments::list(db, c, t.id).await?;
        let mut authors = Vec::with_capacity(comments.len());
        for cm in &comments {
            let known = email(cm.author_id);
            let author = match known {
                Some(e) => e,
                None => repo::users::by_id(db, c, cm.author_id).await?.map(|u| u.email).unwrap_or_default(),
            };
            authors.push(author);
        }
        out.push(TaskExport {
            title: t.title.clone(),
            description: t.description.clone(),
            status: TaskStatus::parse(&t.status).unwrap_or(TaskStatus::Todo),
            priority: Priority::from_rank(t.priority),
            due_at: t.due_at.map(to_rfc3339),
            assignee: t.assignee_id.and_then(email),
            labels: names,
            position: t.position.clone(),
            completed_at: t.completed_at.map(to_rfc3339),
            created_at: Some(to_rfc3339(t.created_at)),
            checklist: checklist.iter().map(|i| ChecklistExport { text: i.text.clone(), done: i.done == 1 }).collect(),
            comments: comments
                .iter()
                .zip(authors)
                .map(|(cm, author)| CommentExport {
                    author,
                    body: cm.body.clone(),
                    created_at: Some(to_rfc3339(cm.created_at)),
                })
                .collect(),
            parent,
            recurrence: t.recurrence.clone(),
            recurrence_start: t.recurrence.as_ref().and(t.recurrence_start).map(to_rfc3339),
            attachments: attachments
                .iter()
                .map(|a| AttachmentExport {
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    size_bytes: a.size_bytes,
                    sha256: a.sha256.clone(),
                    uploader: email(a.uploader_id).unwrap_or_default(),
                    created_at: Some(to_rfc3339(a.created_at)),
                })
                .collect(),
        });
    }
    Ok(ProjectExport {
        format: FORMAT.into(),
        exported_at: Some(to_rfc3339(now_millis())),
        name: p.name,
        description: p.description,
        archived: p.archived != 0,
        labels: labels.iter().map(|l| LabelExport { name: l.name.clone(), color: l.color.clone() }).collect(),
        tasks: out,
        relations,
    })
}

/// The whole project as JSON: labels, tasks, checklists and comments.
#[utoipa::path(get, path = "/projects/{id}/export", tag = "projects", params(("id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 200, body = ProjectExport), ReadErrors))]
pub async fn export_project(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut c = state.db.conn().await?;
    let doc = project_document(&state.db, &mut c, id, principal.id()).await?;
    let mut res = axum::Json(doc).into_response();
    let disposition = format!("attachment; filename=\"project-{id}.json\"");
    res.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).expect("ASCII"));
    Ok(res)
}

/// The project's tasks as CSV (one row per task).
#[utoipa::path(get, path = "/projects/{id}/tasks.csv", tag = "projects", params(("id" = i64, Path)),
    security(("session" = []), ("token" = [])),
    responses((status = 200, content_type = "text/csv", body = String), ReadErrors))]
pub async fn export_tasks_csv(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut c = state.db.conn().await?;
    let doc = project_document(&state.db, &mut c, id, principal.id()).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| AppError::Internal(e.into());
    w.write_record([
        "title",
        "status",
        "priority",
        "due_at",
        "assignee",
        "labels",
        "completed_at",
        "created_at",
        "checklist",
        "description",
    ])
    .map_err(csv_err)?;
    for t in &doc.tasks {
        let time = |d: &Option<DateTime<Utc>>| d.map(|d| d.to_rfc3339()).unwrap_or_default();
        let done = t.checklist.iter().filter(|i| i.done).count();
        let checklist = if t.checklist.is_empty() { String::new() } else { format!("{done}/{}", t.checklist.len()) };
        write_cells(
            &mut w,
            [
                t.title.as_str(),
                t.status.as_str(),
                t.priority.as_str(),
                &time(&t.due_at),
                t.assignee.as_deref().unwrap_or(""),
                &t.labels.join(", "),
                &time(&t.completed_at),
                &time(&t.created_at),
                &checklist,
                t.description.as_str(),
            ],
        )
        .map_err(csv_err)?;
    }
    let body = w.into_inner().map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    let disposition = format!("attachment; filename=\"project-{id}-tasks.csv\"");
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

/// A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or carriage
/// return first) gets a leading `'`, as OWASP recommends against CSV injection: a task
/// title like `=HYPERLINK(…)` must open as text in whoever's spreadsheet.
pub fn csv_cell(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// Writes one CSV record of user text, every cell neutralised by [`csv_cell`].
fn write_cells<const N: usize>(w: &mut csv::Writer<Vec<u8>>, cells: [&str; N]) -> csv::Result<()> {
    w.write_record(cells.map(csv_cell).iter().map(|c| c.as_ref()))
}

fn at(field: String) -> impl Fn(FieldError) -> FieldError {
    move |mut e| {
        e.field = field.clone();
        e
    }
}

/// Labels one task may carry: the task API's limit.
pub const MAX_TASK_LABELS: usize = 50;
/// Labels, checklist items per task, comments per task, and totals of one import:
/// bounds on the work a single request can ask for (the body limit alone still lets
/// 10 MiB of tiny items through).
pub const MAX_LABELS: usize = 1_000;
pub const MAX_TASK_CHECKLIST: usize = 500;
pub const MAX_TASK_COMMENTS: usize = 1_000;
pub const MAX_CHECKLIST_ITEMS: usize = 20_000;
pub const MAX_COMMENTS: usize = 20_000;
pub const MAX_RELATIONS: usize = 20_000;

/// Refuses a document over one of the bounds above, before anything else is looked at.
fn check_sizes(doc: &ProjectExport, f: &mut Fields) {
    if doc.labels.len() > MAX_LABELS {
        f.push("labels", "too_many", format!("an import holds at most {MAX_LABELS} labels"));
    }
    if doc.relations.len() > MAX_RELATIONS {
        f.push("relations", "too_many", format!("an import holds at most {MAX_RELATIONS} relations"));
    }
    let items: usize = doc.tasks.iter().map(|t| t.checklist.len()).sum();
    if items > MAX_CHECKLIST_ITEMS {
        f.push("tasks", "too_many", format!("an import holds at most {MAX_CHECKLIST_ITEMS} checklist items"));
    }
    let comments: usize = doc.tasks.iter().map(|t| t.comments.len()).sum();
    if comments > MAX_COMMENTS {
        f.push("tasks", "too_many", format!("an import holds at most {MAX_COMMENTS} comments"));
    }
    for (i, t) in doc.tasks.iter().enumerate() {
        if t.labels.len() > MAX_TASK_LABELS {
            f.push(&format!("tasks[{i}].labels"), "too_many", format!("a task has at most {MAX_TASK_LABELS} labels"));
        }
        if t.checklist.len() > MAX_TASK_CHECKLIST {
            let message = format!("a task has at most {MAX_TASK_CHECKLIST} checklist items");
            f.push(&format!("tasks[{i}].checklist"), "too_many", message);
        }
        if t.comments.len() > MAX_TASK_COMMENTS {
            let message = format!("a task has at most {MAX_TASK_COMMENTS} comments in an import");
            f.push(&format!("tasks[{i}].comments"), "too_many", message);
        }
    }
}

/// Every value of the document, checked before anything is written.
pub fn validate(doc: &ProjectExport) -> AppResult<()> {
    let mut f = Fields::default();
    if doc.format != FORMAT {
        f.push("format", "unsupported", format!("format must be {FORMAT}"));
    }
    f.take(ProjectName::parse(&doc.name).map_err(at("name".into())));
    for (i, l) in doc.labels.iter().enumerate() {
        f.take(LabelName::parse(&l.name).map_err(at(format!("labels[{i}].name"))));
        f.take(LabelColor::parse(&l.color).map_err(at(format!("labels[{i}].color"))));
    }
    if doc.tasks.len() > 10_000 {
        f.push("tasks", "too_many", "an import holds at most 10 000 tasks");
    }
    check_sizes(doc, &mut f);
    if !f.0.is_empty() {
        // Too big: the per-item checks below would only add work and noise.
        return f.finish();
    }
    let label_names: std::collections::HashSet<&str> = doc.labels.iter().map(|l| l.name.as_str()).collect();
    for (i, t) in doc.tasks.iter().enumerate() {
        f.take(TaskTitle::parse(&t.title).map_err(at(format!("tasks[{i}].title"))));
        f.take(TaskDescription::parse(&t.description).map_err(at(format!("tasks[{i}].description"))));
        for name in &t.labels {
            if !label_names.contains(name.as_str()) {
                f.push(&format!("tasks[{i}].labels"), "unknown_label", format!("label {name:?} is not in labels"));
            }
        }
        if let Some(rule) = &t.recurrence {
            f.take(crate::domain::Recurrence::parse(rule).map(drop).map_err(at(format!("tasks[{i}].recurrence"))));
            if t.due_at.is_none() {
                f.push(&format!("tasks[{i}].recurrence"), "due_date_required", "a recurring task needs a due date");
            }
        }
        for (j, item) in t.checklist.iter().enumerate() {
            f.take(crate::domain::bounded_text(&format!("tasks[{i}].checklist[{j}].text"), &item.text, 1, 500));
        }
        for (j, cm) in t.comments.iter().enumerate() {
            f.take(crate::domain::bounded_text(&format!("tasks[{i}].comments[{j}].body"), &cm.body, 1, 10_000));
        }
    }
    super::transfer_links::validate(doc, &mut f);
    f.finish()
}

/// Creates a new project from an export (yours or someone else's): you become its
/// owner. Assignees and comment authors other than you are not members of the new
/// project: tasks stay unassigned and comments are attributed to you, as the report
/// says. Nothing is written when any value is invalid.
#[utoipa::path(post, path = "/projects/import", tag = "projects", request_body = ProjectExport,
    security(("session" = []), ("token" = [])), responses((status = 201, body = ImportReport), WriteErrors))]
pub async fn import_project(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(doc): ApiJson<ProjectExport>,
) -> AppResult<Response> {
    let report = import_document(&state, &principal, doc, ImportReport::default()).await?;
    Ok((StatusCode::CREATED, axum::Json(report)).into_response())
}

/// One of the `max_concurrent_imports` permits, or 503 with `Retry-After` at once: a
/// burst of imports waits on the client side, not in this process's memory.
pub fn import_permit(state: &AppState) -> AppResult<tokio::sync::OwnedSemaphorePermit> {
    state.imports.clone().try_acquire_owned().map_err(|_| AppError::Unavailable("too many imports at once"))
}

/// Writes a document as a new project in one transaction, adding to `report` (which
/// may already list what a converter from another tool left out). Holds an import
/// permit while it runs.
pub async fn import_document(
    state: &AppState,
    principal: &Principal,
    doc: ProjectExport,
    report: ImportReport,
) -> AppResult<ImportReport> {
    principal.require_write()?;
    let _permit = import_permit(state)?;
    write_document(state, principal, doc, report).await
}

/// [`import_document`] for a caller that already holds an import permit.
pub async fn write_document(
    state: &AppState,
    principal: &Principal,
    doc: ProjectExport,
    mut report: ImportReport,
) -> AppResult<ImportReport> {
    principal.require_write()?;
    // Checking every value of a large document is CPU work: off the async workers.
    let (doc, valid) = tokio::task::spawn_blocking(move || {
        let valid = validate(&doc);
        (doc, valid)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    valid?;
    let doc = &doc;
    let me = principal.user.email.to_lowercase();
    let db = &state.db;
    let now = now_millis();
    let ms = |d: &Option<DateTime<Utc>>| d.map(|d| d.timestamp_millis());
    let mut tx = db.begin().await?;
    let pid = repo::projects::insert(db, &mut tx, doc.name.trim(), &doc.description, principal.id(), now).await?;
    report.project_id = pid;
    let mut labels = Vec::new();
    for l in &doc.labels {
        let color = LabelColor::parse(&l.color).map_err(|e| AppError::Unprocessable(vec![e]))?;
        match repo::labels::insert(db, &mut tx, pid, l.name.trim(), color.as_str(), now).await {
            Ok(row) => labels.push((l.name.clone(), row.id)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => report
                .skipped
                .push(Skipped { item: format!("label {:?}", l.name), reason: "a label with this name exists".into() }),
            Err(e) => return Err(e.into()),
        }
    }
    report.labels = labels.len();
    let label_ids: std::collections::HashMap<&str, i64> = labels.iter().map(|(n, id)| (n.as_str(), *id)).collect();
    let mut last_positions: Vec<(TaskStatus, crate::domain::Position)> = Vec::new();
    let mut task_ids = Vec::with_capacity(doc.tasks.len());
    for (i, t) in doc.tasks.iter().enumerate() {
        let assignee = match t.assignee.as_deref() {
            Some(e) if e.to_lowercase() == me => Some(principal.id()),
            Some(e) => {
                report.skipped.push(Skipped {
                    item: format!("tasks[{i}].assignee"),
                    reason: format!("{e} is not a member of the new project: left unassigned"),
                });
                None
            }
            None => None,
        };
        // Positions order a status column; a missing or malformed one goes last.
        let last_in_column = last_positions.iter().find(|(s, _)| *s == t.status).map(|(_, p)| p);
        let position = crate::domain::Position::parse(&t.position)
            .unwrap_or_else(|| crate::domain::Position::between(last_in_column, None));
        let completed_at = match t.status {
            TaskStatus::Done => ms(&t.completed_at).or(Some(now)),
            _ => None,
        };
        let fields = TaskFields {
            title: t.title.trim().to_owned(),
            description: t.description.clone(),
            status: t.status.as_str().to_owned(),
            priority: t.priority.rank(),
            due_at: ms(&t.due_at),
            assignee_id: assignee,
            position: position.as_str().to_owned(),
            completed_at,
        };
        match last_positions.iter_mut().find(|(s, _)| *s == t.status) {
            Some((_, p)) if p.as_str() < position.as_str() => *p = position,
            Some(_) => {}
            None => last_positions.push((t.status, position)),
        }
        let created = ms(&t.created_at).unwrap_or(now);
        let row = repo::tasks::insert(db, &mut tx, pid, &fields, principal.id(), created).await?;
        task_ids.push(row.id);
        if let Some(rule) = t.recurrence.as_deref().and_then(crate::domain::Recurrence::stored) {
            let start = ms(&t.recurrence_start).or(fields.due_at);
            repo::recurrence::set_rule(db, &mut tx, row.id, Some(rule.as_str()), start).await?;
        }
        let mut ids: Vec<i64> = t.labels.iter().filter_map(|n| label_ids.get(n.as_str()).copied()).collect();
        ids.sort_unstable();
        ids.dedup();
        repo::tasks::set_labels(db, &mut tx, row.id, &ids).await?;
        let created_change = repo::activity::Change { field: "created", old: None, new: Some(row.title.clone()) };
        repo::activity::record(db, &mut tx, row.id, principal.id(), &[created_change], now).await?;
        let mut last: Option<crate::domain::Position> = None;
        for item in &t.checklist {
            let p = crate::domain::Position::between(last.as_ref(), None);
            let text = item.text.trim();
            let inserted = repo::checklists::insert(db, &mut tx, row.id, text, p.as_str(), created).await?;
            if item.done {
                repo::checklists::update(db, &mut tx, inserted.id, text, true, created).await?;
            }
            last = Some(p);
            report.checklist_items += 1;
        }
        for (j, cm) in t.comments.iter().enumerate() {
            if cm.author.to_lowercase() != me {
                report.skipped.push(Skipped {
                    item: format!("tasks[{i}].comments[{j}].author"),
                    reason: format!(
                        "{} is not a member of the new project: the comment is attributed to you",
                        cm.author
                    ),
                });
            }
            repo::comments::insert(
                db,
                &mut tx,
                row.id,
                principal.id(),
                cm.body.trim(),
                ms(&cm.created_at).unwrap_or(now),
            )
            .await?;
            report.comments += 1;
        }
        if !t.attachments.is_empty() {
            report.skipped.push(Skipped {
                item: format!("tasks[{i}].attachments"),
                reason: format!("{} file(s): an export holds no file contents; upload them again", t.attachments.len()),
            });
        }
        report.tasks += 1;
    }
    report.relations = super::transfer_links::restore(db, &mut tx, doc, &task_ids, principal.id(), now).await?;
    if doc.archived {
        access::require_owner(access::role_in(db, &mut tx, pid, principal.id()).await?)?;
        repo::projects::update(db, &mut tx, pid, None, None, Some(true), now).await?;
    }
    tx.commit().await?;
    state.metrics.tasks_created.inc_by(report.tasks as u64);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formula_cells_open_as_text() {
        for raw in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")"] {
            assert_eq!(csv_cell(raw), format!("'{raw}"), "{raw:?}");
        }
        for raw in ["", "Plan", "a=b", "1-2", "'quoted", " =x"] {
            assert_eq!(csv_cell(raw), raw, "{raw:?}");
        }
    }
}
