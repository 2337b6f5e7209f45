//! "Everything I can see": the caller's profile and every project they are a member
//! of, each in the project export's shape. Streamed one project at a time, so memory
//! stays bounded by the largest project rather than by the whole account.

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    docs::ReadErrors,
    transfer::{project_document, ProjectExport},
    views::UserView,
};
use crate::{
    auth::Principal,
    db::repo,
    domain::{now_millis, to_rfc3339},
    error::{AppError, AppResult},
    state::AppState,
};

/// The identifier of the account export format.
pub const FORMAT: &str = "task-manager.account.v1";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_account))
}

/// The document `GET /me/export` streams (described here for the OpenAPI document).
#[derive(Serialize, ToSchema)]
pub struct AccountExport {
    /// `task-manager.account.v1`
    pub format: String,
    pub exported_at: DateTime<Utc>,
    /// The caller's profile (no password, tokens or sessions).
    pub user: UserView,
    /// Every project the caller is a member of, archived ones included.
    pub projects: Vec<ProjectExport>,
}

fn json<T: Serialize>(v: &T) -> Result<Bytes, std::io::Error> {
    serde_json::to_vec(v).map(Bytes::from).map_err(std::io::Error::other)
}

/// Your profile and every project you are a member of, as JSON (a download). Read-only
/// tokens may use it. Each project is read consistently on its own; a failure part-way
/// ends the download early, so the document does not parse rather than being partial.
#[utoipa::path(get, path = "/me/export", tag = "me", security(("session" = []), ("token" = [])),
    responses((status = 200, body = AccountExport), ReadErrors))]
pub async fn export_account(State(state): State<AppState>, principal: Principal) -> AppResult<Response> {
    let user_id = principal.id();
    let ids: Vec<i64> = {
        let mut c = state.db.conn().await?;
        repo::projects::list_for_member(&state.db, &mut c, user_id, true).await?.iter().map(|p| p.id).collect()
    };
    let head = format!(
        "{{\"format\":{},\"exported_at\":{},\"user\":{},\"projects\":[",
        serde_json::to_string(FORMAT).map_err(|e| AppError::Internal(e.into()))?,
        serde_json::to_string(&to_rfc3339(now_millis())).map_err(|e| AppError::Internal(e.into()))?,
        serde_json::to_string(&UserView::from(&principal.user)).map_err(|e| AppError::Internal(e.into()))?,
    );
    let projects = stream::iter(ids.into_iter().enumerate()).then(move |(i, id)| {
        let state = state.clone();
        async move {
            let mut c = state.db.conn().await.map_err(std::io::Error::other)?;
            let doc = project_document(&state.db, &mut c, id, user_id).await.map_err(|e| {
                tracing::error!(error = %e, project_id = id, "account export stopped");
                std::io::Error::other(e.to_string())
            })?;
            let mut chunk = if i == 0 { Vec::new() } else { b",".to_vec() };
            chunk.extend_from_slice(&json(&doc)?);
            Ok::<Bytes, std::io::Error>(Bytes::from(chunk))
        }
    });
    let body = stream::once(async move { Ok::<Bytes, std::io::Error>(Bytes::from(head)) })
        .chain(projects)
        .chain(stream::once(async { Ok::<Bytes, std::io::Error>(Bytes::from_static(b"]}")) }));
    let disposition = format!("attachment; filename=\"task-manager-export-{user_id}.json\"");
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        Body::from_stream(body),
    )
        .into_response())
}
