//! Files attached to a task: upload (multipart, streamed to the attachment store),
//! list, download, delete. Members list and download; editors upload and delete;
//! uploads and deletions are in the task's activity.
//!
//! An upload writes its file first, under a fresh key, and its row after, in one
//! transaction; whatever fails on the way (over the size limit, the client gone, the
//! store or the database refusing) leaves neither a row nor a file.

use axum::{
    body::Body,
    extract::{
        multipart::{Field, MultipartRejection},
        DefaultBodyLimit, Multipart, State,
    },
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    checklists::task_for_edit,
    docs::{ReadErrors, WriteErrors},
};
use crate::{
    attachments::{content, AttachmentStore},
    auth::Principal,
    db::repo::{
        self,
        activity::Change,
        attachments::{AttachmentRow, NewAttachment},
    },
    domain::{now_millis, to_rfc3339},
    error::{AppError, AppResult, Problem},
    extract::Path,
    state::AppState,
};

/// The policy of every download: nothing in it may run, load or be framed.
pub const DOWNLOAD_CSP: &str = "default-src 'none'; sandbox; frame-ancestors 'none'";

/// The routes that receive files (API and web form): they get `attachment_upload_timeout`
/// instead of `request_timeout`.
pub const UPLOAD_ROUTES: [&str; 2] = ["/api/v1/tasks/{id}/attachments", "/tasks/{id}/attachments"];

pub fn router() -> OpenApiRouter<AppState> {
    // Uploads are bounded by `attachment_max_bytes` while they stream, not by the
    // API's 1 MiB body limit.
    let upload = OpenApiRouter::new().routes(routes!(upload, list)).layer(DefaultBodyLimit::disable());
    OpenApiRouter::new().routes(routes!(download, delete)).merge(upload)
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub task_id: i64,
    pub filename: String,
    /// Sniffed from the file's bytes; what the client declared is ignored.
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    pub uploader_id: i64,
    pub created_at: DateTime<Utc>,
    /// Where the file downloads from.
    pub download_url: String,
}

impl From<&AttachmentRow> for AttachmentView {
    fn from(a: &AttachmentRow) -> Self {
        AttachmentView {
            id: a.id,
            task_id: a.task_id,
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size_bytes: a.size_bytes,
            sha256: a.sha256.clone(),
            uploader_id: a.uploader_id,
            created_at: to_rfc3339(a.created_at),
            download_url: download_url(a.task_id, a.id),
        }
    }
}

pub fn download_url(task_id: i64, id: i64) -> String {
    format!("/api/v1/tasks/{task_id}/attachments/{id}")
}

/// The multipart form of an upload.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct UploadForm {
    /// The file; its name is kept (without any path), its type is sniffed.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A file's bytes, as downloaded.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(Vec<u8>);

/// Uploads a file (multipart/form-data, one part named `file`). Files over
/// `attachment_max_bytes` (25 MiB by default) are refused with 413 and nothing is
/// kept. `Idempotency-Key` is not honoured here: a retried upload adds a second file.
#[utoipa::path(post, path = "/tasks/{id}/attachments", tag = "tasks",
    request_body(content = UploadForm, content_type = "multipart/form-data"), params(("id" = i64, Path)),
    security(("session" = []), ("token" = [])),
    responses((status = 201, body = AttachmentView),
        (status = 413, description = "The file is over the size limit", body = Problem, content_type = "application/problem+json"),
        WriteErrors))]
pub async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    form: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    principal.require_write()?;
    ensure_editor(&state, id, &principal).await?;
    let mut form = form.map_err(|_| not_multipart())?;
    let field = next_field(&mut form).await?.ok_or_else(missing_file)?;
    if field.name() != Some("file") {
        return Err(AppError::field("file", "unexpected_field", "send one part, named `file`"));
    }
    let row = receive(&state, &principal, id, field).await?;
    let mut res = (StatusCode::CREATED, axum::Json(AttachmentView::from(&row))).into_response();
    if let Ok(location) = HeaderValue::from_str(&download_url(row.task_id, row.id)) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

/// Checks, before any byte is read, that the caller may add files to the task.
pub(crate) async fn ensure_editor(state: &AppState, task_id: i64, principal: &Principal) -> AppResult<()> {
    let mut c = state.db.conn().await?;
    task_for_edit(state, &mut c, task_id, principal).await.map(|_| ())
}

pub(crate) fn not_multipart() -> AppError {
    AppError::BadRequest("multipart_required", "Send the file as multipart/form-data in a part named `file`.".into())
}

fn missing_file() -> AppError {
    AppError::field("file", "required", "a part named `file` is required")
}

pub(crate) async fn next_field<'a>(form: &'a mut Multipart) -> AppResult<Option<Field<'a>>> {
    form.next_field().await.map_err(|_| unreadable())
}

fn unreadable() -> AppError {
    AppError::BadRequest("unreadable_body", "The upload could not be read to its end.".into())
}

/// Streams one multipart part into the store and records it on the task. The caller
/// has checked that `principal` may edit the task; it is checked again with the row.
pub(crate) async fn receive(
    state: &AppState,
    principal: &Principal,
    task_id: i64,
    mut field: Field<'_>,
) -> AppResult<AttachmentRow> {
    let filename = content::safe_filename(field.file_name().unwrap_or(""));
    let quota = QuotaLeft::of(state, principal.id(), task_id).await?;
    let limit = state.config.attachment_max_bytes;
    let store = &state.attachments;
    let key = AttachmentStore::new_key();
    let failed = |e: AppError| {
        let outcome = if matches!(e, AppError::FileTooLarge(_)) { "too_large" } else { "failed" };
        state.metrics.attachment_uploads.with_label_values(&[outcome]).inc();
        e
    };
    let mut writer = store.create(&key).await.map_err(|e| failed(storage_error(e)))?;
    let mut size: u64 = 0;
    let mut head: Vec<u8> = Vec::with_capacity(content::SNIFF_BYTES);
    let mut hash = Sha256::new();
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(_) => {
                let _ = writer.abort().await;
                return Err(failed(unreadable()));
            }
        };
        size += chunk.len() as u64;
        if size > limit {
            let _ = writer.abort().await;
            discard_rest(&mut field, limit).await;
            return Err(failed(AppError::FileTooLarge(limit)));
        }
        if let Err(e) = quota.check(size) {
            let _ = writer.abort().await;
            discard_rest(&mut field, limit).await;
            return Err(failed(e));
        }
        let wanted = content::SNIFF_BYTES.saturating_sub(head.len()).min(chunk.len());
        head.extend_from_slice(&chunk[..wanted]);
        hash.update(&chunk);
        if let Err(e) = writer.write(&chunk).await {
            let _ = writer.abort().await;
            return Err(failed(storage_error(e)));
        }
    }
    if size == 0 {
        let _ = writer.abort().await;
        return Err(failed(AppError::field("file", "empty", "the file is empty")));
    }
    writer.finish().await.map_err(|e| failed(storage_error(e)))?;
    let stored = StoredFile::new(store, &key);
    let new = NewAttachment {
        task_id,
        uploader_id: principal.id(),
        filename: &filename,
        content_type: &content::sniff(&head),
        size_bytes: size as i64,
        sha256: &hex::encode(hash.finalize()),
        storage_key: &key,
    };
    match record_upload(state, principal, &new).await {
        Ok(row) => {
            stored.keep();
            state.metrics.attachment_uploads.with_label_values(&["stored"]).inc();
            state.metrics.attachment_upload_bytes.inc_by(size);
            Ok(row)
        }
        Err(e) => {
            stored.discard().await;
            Err(failed(e))
        }
    }
}

/// What the uploader and the task's project may still store
/// (`attachment_quota_per_user`, `attachment_quota_per_project`; 0 = no quota).
/// Checked while the file streams, so an upload over quota stops early; two uploads
/// racing each other can both pass, by at most one file each.
struct QuotaLeft {
    user: Option<(u64, u64)>,
    project: Option<(u64, u64)>,
}

impl QuotaLeft {
    async fn of(state: &AppState, uploader: i64, task_id: i64) -> AppResult<Self> {
        let (per_user, per_project) =
            (state.config.attachment_quota_per_user, state.config.attachment_quota_per_project);
        if per_user == 0 && per_project == 0 {
            return Ok(QuotaLeft { user: None, project: None });
        }
        let mut c = state.db.conn().await?;
        let (user_used, project_used) = repo::attachments::usage(&state.db, &mut c, uploader, task_id).await?;
        let left = |quota: u64, used: i64| (quota > 0).then(|| (quota, quota.saturating_sub(used.max(0) as u64)));
        let quota = QuotaLeft { user: left(per_user, user_used), project: left(per_project, project_used) };
        quota.check(1)?;
        Ok(quota)
    }

    /// Refuses once `size` bytes would not fit.
    fn check(&self, size: u64) -> AppResult<()> {
        if let Some((quota, _)) = self.user.filter(|(_, left)| size > *left) {
            return Err(AppError::QuotaExceeded("your account", quota));
        }
        if let Some((quota, _)) = self.project.filter(|(_, left)| size > *left) {
            return Err(AppError::QuotaExceeded("this project", quota));
        }
        Ok(())
    }
}

/// Inserts the row and the activity entry in one transaction.
async fn record_upload(state: &AppState, principal: &Principal, new: &NewAttachment<'_>) -> AppResult<AttachmentRow> {
    let db = &state.db;
    let mut tx = db.begin().await?;
    task_for_edit(state, &mut tx, new.task_id, principal).await?;
    let row = repo::attachments::insert(db, &mut tx, new, now_millis()).await?;
    let change = Change { field: "attachment", old: None, new: Some(row.filename.clone()) };
    repo::activity::record(db, &mut tx, new.task_id, principal.id(), &[change], now_millis()).await?;
    tx.commit().await?;
    Ok(row)
}

/// Reads (and drops) what the client still sends after the limit, up to as much again
/// (at least 8 MiB), so it gets to read the 413 instead of a reset connection.
async fn discard_rest(field: &mut Field<'_>, limit: u64) {
    let most = limit.max(8 * 1024 * 1024);
    let mut drained: u64 = 0;
    while let Ok(Some(chunk)) = field.chunk().await {
        drained += chunk.len() as u64;
        if drained > most {
            break;
        }
    }
}

fn storage_error(e: object_store::Error) -> AppError {
    tracing::error!(error = %e, "attachment store failed");
    AppError::Unavailable("the attachment store cannot be reached")
}

/// A complete file whose row is not committed yet. If the request is dropped before
/// `keep` (the client went away, the request timed out), the file is deleted.
struct StoredFile {
    store: AttachmentStore,
    key: Option<String>,
}

impl StoredFile {
    fn new(store: &AttachmentStore, key: &str) -> Self {
        StoredFile { store: store.clone(), key: Some(key.to_owned()) }
    }

    fn keep(mut self) {
        self.key = None;
    }

    async fn discard(mut self) {
        if let Some(key) = self.key.take() {
            self.store.delete_all(&[key]).await;
        }
    }
}

impl Drop for StoredFile {
    fn drop(&mut self) {
        if let (Some(key), Ok(rt)) = (self.key.take(), tokio::runtime::Handle::try_current()) {
            let store = self.store.clone();
            rt.spawn(async move { store.delete_all(&[key]).await });
        }
    }
}

/// The task's files, oldest first.
#[utoipa::path(get, path = "/tasks/{id}/attachments", tag = "tasks", params(("id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 200, body = Vec<AttachmentView>), ReadErrors))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<AttachmentView>>> {
    let db = &state.db;
    let mut c = db.conn().await?;
    repo::tasks::get_for_member(db, &mut c, id, principal.id(), false).await?.ok_or(AppError::NotFound)?;
    let rows = repo::attachments::list(db, &mut c, id).await?;
    Ok(axum::Json(rows.iter().map(AttachmentView::from).collect()))
}

/// Downloads a file. It is always served as an attachment under its own name, never
/// shown inline; HTML, SVG and XML come as `application/octet-stream`.
#[utoipa::path(get, path = "/tasks/{id}/attachments/{attachment_id}", tag = "tasks",
    params(("id" = i64, Path), ("attachment_id" = i64, Path)), security(("session" = []), ("token" = [])),
    responses((status = 200, description = "The file's bytes, typed as sniffed at upload (`image/png`, \
        `application/pdf`, `text/plain`, …) except HTML, SVG, XML and JavaScript, which come as \
        `application/octet-stream`", body = FileBytes, content_type = "*/*",
        headers(("content-disposition" = String), ("content-length" = u64))), ReadErrors))]
pub async fn download(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, attachment_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let row = {
        let db = &state.db;
        let mut c = db.conn().await?;
        repo::tasks::get_for_member(db, &mut c, id, principal.id(), false).await?.ok_or(AppError::NotFound)?;
        repo::attachments::get(db, &mut c, id, attachment_id).await?.ok_or(AppError::NotFound)?
    };
    let (size, stream) = match state.attachments.open(&row.storage_key).await {
        Ok(opened) => opened,
        Err(e) => {
            state.metrics.attachment_downloads.with_label_values(&["failed"]).inc();
            return Err(storage_error(e));
        }
    };
    state.metrics.attachment_downloads.with_label_values(&["served"]).inc();
    state.metrics.attachment_download_bytes.inc_by(size);
    let served = content::served_type(&row.content_type);
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_str(served).unwrap_or(HeaderValue::from_static("application/octet-stream")),
        ),
        (header::CONTENT_LENGTH, HeaderValue::from(size)),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&content::disposition(&row.filename)).map_err(anyhow::Error::from)?,
        ),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOWNLOAD_CSP)),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache")),
        (header::HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("same-origin")),
    ];
    Ok((headers, Body::from_stream(stream)).into_response())
}

/// Deletes a file: its row now, its bytes right after.
#[utoipa::path(delete, path = "/tasks/{id}/attachments/{attachment_id}", tag = "tasks",
    params(("id" = i64, Path), ("attachment_id" = i64, Path)),
    security(("session" = []), ("token" = [])), responses((status = 204, description = "Deleted"), WriteErrors))]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, attachment_id)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    principal.require_write()?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    task_for_edit(&state, &mut tx, id, &principal).await?;
    let row = repo::attachments::get(db, &mut tx, id, attachment_id).await?.ok_or(AppError::NotFound)?;
    repo::attachments::delete(db, &mut tx, row.id).await?;
    let change = Change { field: "attachment", old: Some(row.filename), new: None };
    repo::activity::record(db, &mut tx, id, principal.id(), &[change], now_millis()).await?;
    tx.commit().await?;
    state.attachments.delete_all(&[row.storage_key]).await;
    Ok(StatusCode::NO_CONTENT)
}
