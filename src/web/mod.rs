//! The web UI: server-rendered pages (handlebars in strict mode, templates built into
//! the binary), plain CSS and one small ES module, served by the same binary as the
//! API and built on the same handlers, repository functions and domain types.
//!
//! Every flow works without JavaScript (HTML forms, POST-redirect-GET); with it, the
//! common actions call the JSON API in place. Every state-changing POST carries the
//! session's CSRF token and passes an Origin check ([`extract::CsrfForm`]). None of
//! these routes is part of the OpenAPI document.

mod account;
mod assets;
mod attachments;
mod bulk;
mod checklists;
mod extract;
pub(crate) mod format;
mod imports;
mod markdown;
mod projects;
mod recurrence;
mod relations;
mod render;
mod session;
mod tasks;
mod unsubscribe;
mod webhooks;

use axum::{
    extract::{DefaultBodyLimit, Request},
    http::{header, HeaderValue},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Router,
};

use crate::{auth::Principal, state::AppState};

pub use render::{error_page, error_response};

/// The import form's file may be as large as an API import, plus the form's other fields.
const IMPORT_FORM_MAX_BYTES: usize = crate::api::transfer::IMPORT_MAX_BYTES + 64 * 1024;

/// The Content-Security-Policy of every UI response: no inline script or style, no
/// other origin, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The UI's routes, merged into the application router (outside the OpenAPI document).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/signin", get(session::signin_page).post(session::signin))
        .route("/signup", get(session::signup_page).post(session::signup))
        .route("/signout", post(session::signout))
        .route("/projects", get(projects::index).post(projects::create))
        .route("/projects/import", post(imports::upload).layer(DefaultBodyLimit::max(IMPORT_FORM_MAX_BYTES)))
        .route("/projects/{id}", get(tasks::list_view))
        .route("/projects/{id}/board", get(tasks::board))
        .route("/projects/{id}/archive", post(projects::archive))
        .route("/projects/{id}/settings", get(projects::settings).post(projects::update))
        .route("/projects/{id}/members", post(projects::add_member))
        .route("/projects/{id}/members/{user_id}", post(projects::change_member))
        .route("/projects/{id}/members/{user_id}/remove", post(projects::remove_member))
        .route("/projects/{id}/labels", post(projects::add_label))
        .route("/projects/{id}/labels/{label_id}/delete", post(projects::delete_label))
        .route("/projects/{id}/webhooks", post(webhooks::create))
        .route("/projects/{id}/webhooks/{webhook_id}", get(webhooks::show))
        .route("/projects/{id}/webhooks/{webhook_id}/delete", post(webhooks::delete))
        .route("/projects/{id}/webhooks/{webhook_id}/confirm", post(webhooks::confirm))
        .route("/projects/{id}/tasks", post(tasks::create))
        .route("/projects/{id}/bulk", post(bulk::apply))
        .route("/tasks/{id}", get(tasks::show).post(tasks::update))
        .route("/tasks/{id}/status", post(tasks::set_status))
        .route("/tasks/{id}/move", post(tasks::move_to))
        .route("/tasks/{id}/comments", post(tasks::comment))
        .route("/tasks/{id}/checklist", post(checklists::add))
        .route("/tasks/{id}/checklist/{item_id}/toggle", post(checklists::toggle))
        .route("/tasks/{id}/checklist/{item_id}/delete", post(checklists::delete))
        .route("/tasks/{id}/attachments", post(attachments::upload).layer(DefaultBodyLimit::disable()))
        .route("/tasks/{id}/attachments/{attachment_id}/delete", post(attachments::delete))
        .route("/tasks/{id}/delete", post(tasks::delete))
        .route("/tasks/{id}/subtasks", post(relations::add_subtask))
        .route("/tasks/{id}/parent", post(relations::set_parent))
        .route("/tasks/{id}/relations", post(relations::add_relation))
        .route("/tasks/{id}/relations/{relation_id}/delete", post(relations::delete_relation))
        .route("/tasks/{id}/complete", get(relations::complete_page))
        .route("/my-tasks", get(tasks::mine))
        .route("/account", get(account::show))
        .route("/account/profile", post(account::profile))
        .route("/account/notifications", post(account::notifications))
        .route("/account/password", post(account::password))
        .route("/account/tokens", post(account::create_token))
        .route("/account/tokens/{id}/revoke", post(account::revoke_token))
        .route("/preview", post(tasks::preview))
        .route("/unsubscribe/{token}", get(unsubscribe::show).post(unsubscribe::confirm))
        .route("/assets/{file}", get(assets::serve))
        .layer(middleware::from_fn(security_headers))
}

async fn home(principal: Option<Principal>) -> Response {
    match principal {
        Some(_) => Redirect::to("/projects").into_response(),
        None => Redirect::to("/signin").into_response(),
    }
}

/// Security headers on every UI response; pages (unlike assets) are never cached.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
