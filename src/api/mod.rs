//! The HTTP surface: one router built from the feature routers, with the layers every
//! request passes through added once at the root. The OpenAPI document is generated
//! from the same routers, so it covers exactly what is served.

pub(crate) mod access;
pub(crate) mod account_export;
mod admin;
pub(crate) mod attachments;
pub mod auth;
pub(crate) mod bulk;
pub(crate) mod checklists;
pub(crate) mod comments;
pub mod docs;
mod health;
mod idempotency;
pub(crate) mod import;
pub(crate) mod labels;
pub(crate) mod me;
pub(crate) mod members;
pub(crate) mod notifications;
pub(crate) mod projects;
pub(crate) mod recurrence;
pub(crate) mod relations;
pub(crate) mod subtasks;
pub(crate) mod task_input;
pub(crate) mod task_list;
pub(crate) mod tasks;
pub(crate) mod transfer;
pub(crate) mod transfer_links;
pub mod views;
pub(crate) mod webhooks;

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{header, HeaderValue},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use tower_http::{catch_panic::CatchPanicLayer, set_header::SetResponseHeaderLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{error::AppError, extract::MAX_BODY_BYTES, state::AppState, telemetry};

/// The OpenAPI document of every route, as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

fn routes() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .merge(auth::router())
        .merge(me::router())
        .merge(notifications::router())
        .merge(admin::router())
        .merge(projects::router())
        .merge(transfer::router())
        .merge(import::router())
        .merge(account_export::router())
        .merge(members::router())
        .merge(labels::router())
        .merge(tasks::router())
        .merge(task_list::router())
        .merge(bulk::router())
        .merge(comments::router())
        .merge(checklists::router())
        .merge(relations::router())
        .merge(attachments::router())
        .merge(webhooks::router());
    OpenApiRouter::with_openapi(docs::ApiDoc::openapi()).nest("/api/v1", api).merge(health::router())
}

/// The application's router. `/metrics` is added here unless it has its own listener.
pub fn router(state: AppState) -> Router {
    let (routes, mut doc) = routes().split_for_parts();
    doc.info.version = crate::VERSION.to_owned();
    let doc = Arc::new(doc);
    let mut app = routes
        .route("/api/v1/openapi.json", get(move || async move { axum::Json(doc.as_ref().clone()) }))
        .route_layer(middleware::from_fn_with_state(state.clone(), idempotency::layer));
    if state.config.metrics_listen.is_none() {
        app = app.route("/metrics", get(metrics));
    }
    let app = app.merge(crate::web::router());
    let timeouts = Timeouts { request: state.config.request_timeout, upload: state.config.attachment_upload_timeout };
    let capacity = state.capacity.clone();
    let hsts = state.config.cookie_secure;
    app.fallback(not_found)
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(middleware::from_fn(move |req: Request, next: Next| admit(capacity.clone(), timeouts, req, next)))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_| AppError::Internal(anyhow::anyhow!("handler panicked")).into_response()))
        .layer(middleware::from_fn_with_state(state.clone(), telemetry::http::observe))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(middleware::from_fn(move |req: Request, next: Next| response_headers(hsts, req, next)))
        .with_state(state)
}

/// Headers of every answer, errors of the outer layers included: `Cache-Control:
/// no-store` on the API (its answers carry private data that no shared or browser
/// cache should keep) unless a handler chose its own (attachment downloads), and
/// HSTS once the service is served over HTTPS (`cookie_secure`), so a browser never
/// again tries plain HTTP, where the session cookie would not be sent but a forged
/// page could be.
async fn response_headers(hsts: bool, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    if api && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    res
}

/// The router of the separate metrics listener.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(state)
}

async fn metrics(State(state): State<AppState>) -> Response {
    state.db.record_pool_gauges();
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))],
        state.metrics.render(),
    )
        .into_response()
}

/// 404 for a path no route matches: the UI's page for a browser outside the API,
/// problem+json for everyone else.
async fn not_found(req: Request) -> Response {
    let browser =
        req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if browser && !req.uri().path().starts_with("/api/") {
        let mut page = crate::web::error_response(AppError::NotFound);
        page.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(crate::web::CSP));
        page
    } else {
        AppError::NotFound.into_response()
    }
}

/// The bounds of `admit`: every request, and file uploads, which stream far longer.
#[derive(Clone, Copy)]
struct Timeouts {
    request: Duration,
    upload: Duration,
}

/// Answers 503 at once when `max_concurrent_requests` are already being served, and
/// 503 instead of letting a request run past the configured bound (for an upload
/// route, `attachment_upload_timeout`). Health checks are never shed, so an overloaded
/// replica is not restarted for it. (One middleware for both: each layer costs every
/// request a little.)
async fn admit(capacity: Arc<tokio::sync::Semaphore>, timeouts: Timeouts, req: Request, next: Next) -> Response {
    let _permit = if req.uri().path().starts_with("/healthz/") {
        None
    } else {
        match capacity.try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => return AppError::Unavailable("the server is at capacity").into_response(),
        }
    };
    // Runs after routing, so the matched route template is known.
    let upload = req.method() == axum::http::Method::POST
        && req.extensions().get::<MatchedPath>().is_some_and(|m| attachments::UPLOAD_ROUTES.contains(&m.as_str()));
    let limit = if upload { timeouts.upload } else { timeouts.request };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => AppError::Unavailable("the request took too long").into_response(),
    }
}
