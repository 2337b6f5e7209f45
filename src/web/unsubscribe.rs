//! The unsubscribe page behind every e-mail's link. The signed token is the
//! credential (no sign-in): GET shows what the link turns off, POST turns it off. Mail
//! clients that support RFC 8058 POST `List-Unsubscribe=One-Click` to the same URL,
//! and link scanners that only GET change nothing.

use axum::{extract::State, http::StatusCode};
use serde_json::json;

use super::{
    extract::{WebPath, WebResult},
    render::{error_page, page, Ctx, Nav},
};
use crate::{db::repo, domain::now_millis, state::AppState};

pub async fn show(State(state): State<AppState>, WebPath(token): WebPath<String>) -> WebResult {
    respond(&state, &token, false).await
}

pub async fn confirm(State(state): State<AppState>, WebPath(token): WebPath<String>) -> WebResult {
    respond(&state, &token, true).await
}

async fn respond(state: &AppState, token: &str, unsubscribe: bool) -> WebResult {
    let invalid = || error_page(StatusCode::NOT_FOUND, "Link not valid", "This unsubscribe link is not valid.");
    let Some((user_id, kind)) = state.notifier.links.verify(token) else { return Ok(invalid()) };
    let db = &state.db;
    let mut tx = db.begin().await?;
    let Some(user) = repo::users::by_id(db, &mut tx, user_id).await? else { return Ok(invalid()) };
    if unsubscribe {
        repo::notifications::disable_kind(db, &mut tx, user_id, kind.as_str(), now_millis()).await?;
        tracing::info!(user_id, kind = kind.as_str(), "unsubscribed by e-mail link");
    }
    tx.commit().await?;
    let data = json!({"done": unsubscribe, "email": user.email, "reason": kind.describe(), "token": token});
    Ok(page(&Ctx::default(), StatusCode::OK, Nav::None, "unsubscribe", "Unsubscribe", data))
}
