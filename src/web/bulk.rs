//! The list view's bulk form: the ticked tasks get the chosen status, priority,
//! assignee, label or due date, or are deleted, through the bulk API (one transaction).

use axum::extract::State;

use super::{
    extract::{CsrfForm, WebPath, WebResult, WebUser},
    format,
    projects::messages,
    render::redirect,
};
use crate::{
    api::bulk::{self, BulkChanges, BulkEdit},
    domain::{Priority, TaskStatus},
    error::AppError,
    extract::{ApiJson, Path},
    state::AppState,
};

fn parse_form(form: &CsrfForm, user: &WebUser) -> Result<BulkEdit, AppError> {
    let task_ids = form.all("task_ids").iter().filter_map(|v| v.parse().ok()).collect::<Vec<i64>>();
    if task_ids.is_empty() {
        return Err(AppError::field("task_ids", "count", "Tick at least one task first."));
    }
    if form.get("op") == "delete" {
        return Ok(BulkEdit { task_ids, set: None, delete: true });
    }
    let id_of = |key: &str| form.get(key).parse::<i64>().ok();
    let due_at =
        if form.get("clear_due") == "on" {
            Some(None)
        } else {
            match form.get("due_at") {
                raw if raw.is_empty() => None,
                raw => Some(Some(format::parse_local(&raw, user.tz()).ok_or_else(|| {
                    AppError::field("due_at", "invalid", "The due date is not a valid date and time.")
                })?)),
            }
        };
    let set = BulkChanges {
        status: TaskStatus::parse(&form.get("status")),
        priority: Priority::parse(&form.get("priority")),
        due_at,
        assignee_id: match form.get("assignee").as_str() {
            "" => None,
            "none" => Some(None),
            _ => id_of("assignee").map(Some),
        },
        labels: None,
        add_labels: id_of("add_label").map(|l| vec![l]),
        remove_labels: id_of("remove_label").map(|l| vec![l]),
    };
    Ok(BulkEdit { task_ids, set: Some(set), delete: false })
}

pub async fn apply(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    form: CsrfForm,
) -> WebResult {
    let back = form.return_to(&format!("/projects/{id}"));
    let result = match parse_form(&form, &user) {
        Ok(body) => bulk::bulk_edit(State(state.clone()), user.principal.clone(), Path(id), ApiJson(body)).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(done) if !done.0.deleted.is_empty() => Ok(redirect(&back, Some("bulk_deleted"))),
        Ok(_) => Ok(redirect(&back, Some("bulk_updated"))),
        Err(AppError::NotFound) => Err(AppError::NotFound.into()),
        Err(e) => {
            let status = e.status();
            let text = messages(e)?.join(" ");
            Ok(super::render::error_page(status, "The selected tasks were not changed", &text))
        }
    }
}
