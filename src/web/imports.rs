//! Importing a file from the projects page (this product's JSON export, a Todoist CSV
//! or a Trello board JSON) and showing what the import did.
//!
//! The form is multipart (a file upload), so it cannot use [`CsrfForm`]: the same
//! origin check and session token comparison are done here on the multipart fields.
//!
//! [`CsrfForm`]: super::extract::CsrfForm

use axum::{
    extract::{Multipart, State},
    http::{HeaderMap, StatusCode},
};
use serde_json::{json, Value};

use super::{
    extract::{constant_time_eq, same_origin, WebError, WebResult, WebUser},
    render::{page, Nav},
};
use crate::{
    api::{
        import::{import_file, Source},
        transfer::{import_document, ImportReport, ProjectExport},
    },
    auth::Credential,
    error::AppError,
    extract::parse_json,
    state::AppState,
};

/// The fields of the import form.
#[derive(Default)]
struct Upload {
    csrf: String,
    kind: String,
    name: String,
    file: Vec<u8>,
}

async fn read(mut form: Multipart) -> Result<Upload, WebError> {
    let mut up = Upload::default();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(up),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(AppError::PayloadTooLarge.into()),
            Err(_) => return Err(AppError::BadRequest("unreadable_body", "The form could not be read.".into()).into()),
        };
        let name = field.name().unwrap_or("").to_owned();
        let bytes = field.bytes().await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => WebError::App(AppError::PayloadTooLarge),
            _ => WebError::App(AppError::BadRequest("unreadable_body", "The form could not be read.".into())),
        })?;
        let text = || String::from_utf8_lossy(&bytes).trim().to_owned();
        match name.as_str() {
            "_csrf" => up.csrf = text(),
            "kind" => up.kind = text(),
            "name" => up.name = text(),
            "file" => up.file = bytes.to_vec(),
            _ => {}
        }
    }
}

pub async fn upload(State(state): State<AppState>, user: WebUser, headers: HeaderMap, form: Multipart) -> WebResult {
    if !same_origin(&headers, &state) {
        return Err(WebError::Csrf);
    }
    let up = read(form).await?;
    let Credential::Session { csrf_token, .. } = &user.principal.credential else { return Err(WebError::Csrf) };
    if up.csrf.is_empty() || !constant_time_eq(csrf_token.as_bytes(), up.csrf.as_bytes()) {
        return Err(WebError::Csrf);
    }
    let name = Some(up.name.as_str()).filter(|n| !n.is_empty());
    let result = match up.kind.as_str() {
        "todoist" => import_file(&state, &user.principal, Source::Todoist, up.file.into(), name)
            .await
            .map(|r| (r.report, r.columns)),
        "trello" => import_file(&state, &user.principal, Source::Trello, up.file.into(), name)
            .await
            .map(|r| (r.report, r.columns)),
        _ => match parse_json::<ProjectExport>(&up.file) {
            Ok(mut doc) => {
                if let Some(name) = name {
                    doc.name = name.to_owned();
                }
                import_document(&state, &user.principal, doc, ImportReport::default()).await.map(|r| (r, vec![]))
            }
            Err(e) => Err(e),
        },
    };
    let data = match result {
        Ok((report, columns)) => json!({
            "ok": true,
            "project_id": report.project_id,
            "counts": [
                {"what": "Tasks", "n": report.tasks}, {"what": "Labels", "n": report.labels},
                {"what": "Checklist items", "n": report.checklist_items}, {"what": "Comments", "n": report.comments},
            ],
            "skipped": report.skipped.iter().map(|s| json!({"item": s.item, "reason": s.reason})).collect::<Vec<Value>>(),
            "columns": columns.iter().map(|c| json!({
                "source": c.source, "status": crate::web::format::status_label(c.status), "label": c.label,
            })).collect::<Vec<Value>>(),
        }),
        Err(AppError::Unprocessable(errs)) => json!({
            "ok": false,
            "errors": errs.iter().map(|e| if e.field.is_empty() { e.message.clone() } else { format!("{}: {}", e.field, e.message) }).collect::<Vec<String>>(),
        }),
        Err(AppError::BadRequest(_, message)) => json!({"ok": false, "errors": [message]}),
        Err(e) => return Err(e.into()),
    };
    let status = if data["ok"] == json!(true) { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(page(&user.ctx, status, Nav::Projects, "import_report", "Import", data))
}
