//! Checklist forms on the task page: add, tick or untick, remove; each goes through
//! the checklist API and back to the task page.

use axum::extract::State;

use super::{
    extract::{CsrfForm, WebPath, WebResult, WebUser},
    render::{error_response, redirect},
};
use crate::{
    api::checklists::{self, AddItem, UpdateItem},
    db::repo,
    error::AppError,
    extract::{ApiJson, Path},
    state::AppState,
};

fn back(id: i64) -> String {
    format!("/tasks/{id}#checklist")
}

pub async fn add(State(state): State<AppState>, user: WebUser, WebPath(id): WebPath<i64>, form: CsrfForm) -> WebResult {
    let body = AddItem { text: form.get("text") };
    match checklists::add_item(State(state), user.principal, Path(id), ApiJson(body)).await {
        Ok(_) => Ok(redirect(&back(id), Some("checklist_saved"))),
        Err(e @ AppError::Unprocessable(_)) => Ok(error_response(e)),
        Err(e) => Err(e.into()),
    }
}

pub async fn toggle(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((id, item)): WebPath<(i64, i64)>,
    _form: CsrfForm,
) -> WebResult {
    let done = {
        let mut c = state.db.conn().await?;
        repo::checklists::get(&state.db, &mut c, id, item).await?.ok_or(AppError::NotFound)?.done == 1
    };
    let body = UpdateItem { text: None, done: Some(!done) };
    let _saved = checklists::update_item(State(state), user.principal, Path((id, item)), ApiJson(body)).await?;
    Ok(redirect(&back(id), Some("checklist_saved")))
}

pub async fn delete(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((id, item)): WebPath<(i64, i64)>,
    _form: CsrfForm,
) -> WebResult {
    checklists::delete_item(State(state), user.principal, Path((id, item))).await?;
    Ok(redirect(&back(id), Some("checklist_saved")))
}
