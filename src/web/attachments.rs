//! The attachments section of the task page: the list with sizes and types, the
//! upload form (multipart, its first part the CSRF token) and the delete buttons.
//! Downloads link straight to the API, which serves every file as an attachment.

use axum::{
    extract::{multipart::MultipartRejection, Multipart, State},
    http::HeaderMap,
};
use serde_json::{json, Value};

use super::{
    extract::{check_form_token, CsrfForm, WebError, WebPath, WebResult, WebUser},
    render::{error_response, redirect},
};
use crate::{
    api::attachments::{self as api, download_url, ensure_editor, next_field, not_multipart, receive},
    db::repo::attachments::AttachmentRow,
    error::AppError,
    extract::Path,
    state::AppState,
};

fn back(id: i64) -> String {
    format!("/tasks/{id}#attachments")
}

/// The list as the task template shows it.
pub fn section(rows: &[AttachmentRow]) -> Value {
    rows.iter()
        .map(|a| {
            json!({
                "id": a.id, "filename": a.filename, "content_type": a.content_type,
                "size": human_size(a.size_bytes), "url": download_url(a.task_id, a.id),
            })
        })
        .collect()
}

/// `1.5 MiB`, `320 KiB`, `12 bytes`.
pub fn human_size(bytes: i64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.0} KiB", b / KIB)
    } else if bytes == 1 {
        "1 byte".into()
    } else {
        format!("{bytes} bytes")
    }
}

/// `POST /tasks/{id}/attachments`: the token part is checked before a byte of the
/// file is read, and the file goes through the API's upload.
pub async fn upload(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<i64>,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> WebResult {
    let mut form = form.map_err(|_| WebError::App(not_multipart()))?;
    let token = match next_field(&mut form).await? {
        Some(field) if field.name() == Some("_csrf") => short_text(field).await,
        _ => return Err(WebError::Csrf),
    };
    check_form_token(&headers, &state, &user.ctx.csrf, &token)?;
    ensure_editor(&state, id, &user.principal).await?;
    let field = match next_field(&mut form).await? {
        Some(field) if field.name() == Some("file") => field,
        _ => return Ok(error_response(AppError::field("file", "required", "Choose a file to upload."))),
    };
    match receive(&state, &user.principal, id, field).await {
        Ok(_) => Ok(redirect(&back(id), Some("attachment_added"))),
        Err(e @ (AppError::Unprocessable(_) | AppError::FileTooLarge(_))) => Ok(error_response(e)),
        Err(e) => Err(e.into()),
    }
}

/// A small text part (the token); anything longer than a token is not one.
async fn short_text(mut field: axum::extract::multipart::Field<'_>) -> String {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = field.chunk().await {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > 256 {
            return String::new();
        }
    }
    String::from_utf8(bytes).unwrap_or_default()
}

pub async fn delete(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((id, attachment)): WebPath<(i64, i64)>,
    _form: CsrfForm,
) -> WebResult {
    api::delete(State(state), user.principal, Path((id, attachment))).await?;
    Ok(redirect(&back(id), Some("attachment_deleted")))
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(900), "900 bytes");
        assert_eq!(human_size(2048), "2 KiB");
        assert_eq!(human_size(10 * 1024 * 1024 + 512 * 1024), "10.5 MiB");
    }
}
