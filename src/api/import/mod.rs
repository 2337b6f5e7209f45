//! Imports from other task managers: a Todoist project CSV and a Trello board JSON.
//! Each converter turns the other tool's file into this product's project document
//! and notes what it left out or changed; the document is then written exactly like a
//! JSON import (one transaction, all or nothing), so both share every rule and limit.

mod columns;
mod todoist;
mod trello;

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use columns::ColumnMapping;

use super::{
    docs::WriteErrors,
    transfer::{self, ImportReport, ProjectExport, Skipped, TaskExport, IMPORT_MAX_BYTES},
};
use crate::{
    auth::Principal,
    domain::ProjectName,
    error::{AppError, AppResult, FieldError},
    extract::QueryPairs,
    state::AppState,
};

/// The most tasks one import may create (the JSON import's limit too).
pub const MAX_TASKS: usize = 10_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_todoist))
        .routes(routes!(import_trello))
        .layer(DefaultBodyLimit::max(IMPORT_MAX_BYTES))
}

/// The other tool's file as a document, with what was left out and how columns mapped.
pub struct Conversion {
    pub doc: ProjectExport,
    pub skipped: Vec<Skipped>,
    pub columns: Vec<ColumnMapping>,
}

impl Conversion {
    /// The new project's document, named `name`, from what a converter gathered.
    fn new(
        name: String,
        labels: columns::Labels,
        tasks: Vec<TaskExport>,
        skipped: Vec<Skipped>,
        columns: Vec<ColumnMapping>,
    ) -> Self {
        let doc = ProjectExport {
            relations: vec![],
            format: transfer::FORMAT.into(),
            exported_at: None,
            name,
            description: String::new(),
            archived: false,
            labels: labels.list,
            tasks,
        };
        Conversion { doc, skipped, columns }
    }
}

/// What an import from another tool did.
#[derive(Serialize, ToSchema)]
pub struct ToolImportReport {
    #[serde(flatten)]
    pub report: ImportReport,
    /// Which status (and label) each of the other tool's columns became.
    pub columns: Vec<ColumnMapping>,
}

/// The formats the importers read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Todoist,
    Trello,
}

/// Converts a file and writes it as a new project owned by the caller. The conversion
/// is CPU work on a blocking thread, and holds one of the import permits
/// ([`transfer::import_permit`]) until the project is written.
pub async fn import_file(
    state: &AppState,
    principal: &Principal,
    source: Source,
    bytes: Bytes,
    name: Option<&str>,
) -> AppResult<ToolImportReport> {
    principal.require_write()?;
    let _permit = transfer::import_permit(state)?;
    let me = &principal.user;
    let tz = crate::web::format::tz(&me.time_zone);
    let email = me.email.clone();
    let converted = tokio::task::spawn_blocking(move || match source {
        Source::Todoist => todoist::convert(&bytes, &email, tz),
        Source::Trello => trello::convert(&bytes, &email),
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    let mut conv = converted?;
    if let Some(name) = name {
        conv.doc.name = name.to_owned();
    }
    ProjectName::parse(&conv.doc.name).map_err(|e| AppError::Unprocessable(vec![e]))?;
    let report = ImportReport { skipped: conv.skipped, ..ImportReport::default() };
    let report = transfer::write_document(state, principal, conv.doc, report).await?;
    Ok(ToolImportReport { report, columns: conv.columns })
}

/// A 422 about one place in the imported file.
pub fn malformed(place: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError::Unprocessable(vec![FieldError::new(place, "malformed", message)])
}

/// The imported file: the raw body, up to [`IMPORT_MAX_BYTES`].
pub struct ImportFile(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ImportFile {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state).await.map(ImportFile).map_err(crate::extract::unreadable_body)
    }
}

async fn respond(
    state: AppState,
    principal: Principal,
    q: QueryPairs,
    source: Source,
    body: Bytes,
) -> AppResult<Response> {
    // A read-only caller is refused before the file is looked at.
    principal.require_write()?;
    q.only(&["name"])?;
    let report = import_file(&state, &principal, source, body, q.one("name").as_deref()).await?;
    Ok((StatusCode::CREATED, axum::Json(report)).into_response())
}

/// Creates a project from a Todoist project export (CSV: TYPE, CONTENT, DESCRIPTION,
/// PRIORITY, INDENT, AUTHOR, RESPONSIBLE, DATE, DATE_LANG, TIMEZONE, …). Sections become
/// statuses or labels, `@words` labels, sub-tasks checklist items, notes comments; the
/// report lists what was left out (recurring or relative dates, assignees) and why.
#[utoipa::path(post, path = "/projects/import/todoist", tag = "projects",
    params(("name" = Option<String>, Query, description = "The new project's name (default: Todoist import)")),
    request_body(content = String, content_type = "text/csv"),
    security(("session" = []), ("token" = [])), responses((status = 201, body = ToolImportReport), WriteErrors))]
pub async fn import_todoist(
    State(state): State<AppState>,
    principal: Principal,
    q: QueryPairs,
    ImportFile(body): ImportFile,
) -> AppResult<Response> {
    respond(state, principal, q, Source::Todoist, body).await
}

/// Creates a project from a Trello board export (JSON). Lists become statuses (by name,
/// else by their place on the board), labels labels, checklists checklist items and
/// comments comments; archived lists and cards are skipped, as the report says.
#[utoipa::path(post, path = "/projects/import/trello", tag = "projects",
    params(("name" = Option<String>, Query, description = "The new project's name (default: the board's)")),
    request_body(content = Object, content_type = "application/json", description = "A Trello board export"),
    security(("session" = []), ("token" = [])), responses((status = 201, body = ToolImportReport), WriteErrors))]
pub async fn import_trello(
    State(state): State<AppState>,
    principal: Principal,
    q: QueryPairs,
    ImportFile(body): ImportFile,
) -> AppResult<Response> {
    respond(state, principal, q, Source::Trello, body).await
}
