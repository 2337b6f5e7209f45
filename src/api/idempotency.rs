//! `Idempotency-Key` on creating endpoints (POST). The first request with a key runs
//! and its response is stored for 24 hours; a retry with the same key and body gets
//! the stored response without a second row; the same key with another body gets 422.
//!
//! Concurrent requests with one key: the first claims the key (a unique row), the
//! others wait for its response and replay it. A claim whose request died (process
//! killed mid-request) is taken over once it is older than the request timeout plus a
//! second: no request runs longer than the timeout (the admission layer drops it), so
//! an older claim has no live holder, and the second covers clock skew between
//! replicas. A holder that died between committing its write and storing its answer
//! is the one case in which the retry writes a second time.
//!
//! A key is bound to the credential that used it: the fingerprint names sessions, or
//! the API token and its scope, so the same key sent with another token is a
//! different request (422), never a replay of an answer that credential may not see.
//! Only answers that depend on the request alone are kept (2xx, 400, 413, 422); an
//! answer that depends on who asks or on the moment (401, 403, 404, 409, 412, 429,
//! 5xx) releases the key, so it does not poison later retries. An answer carrying a
//! secret (a new API token, a new webhook's signing key) is never stored: a retry
//! gets 409 `secret_not_replayed`, since the secret is shown once only.

use std::time::Duration;

use axum::{
    body::{to_bytes, Body},
    extract::{FromRequestParts, Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    auth::{secret::sha256_hex, Credential, Principal},
    db::repo,
    domain::now_millis,
    error::AppError,
    extract::MAX_BODY_BYTES,
    state::AppState,
};

const TTL_MS: i64 = 24 * 3600 * 1000;
/// Added to the request timeout before a claim counts as abandoned.
const CLOCK_SKEW_MS: i64 = 1000;
const WAIT: Duration = Duration::from_millis(25);
const MAX_WAIT: Duration = Duration::from_secs(10);

pub const HEADER: &str = "idempotency-key";

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Uploads stream and are far larger than a stored request may be: not replayed.
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/"));
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) || multipart {
        return next.run(req).await;
    }
    match handle(state, req, next).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(state: AppState, req: Request, next: Next) -> Result<Response, AppError> {
    let key = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").trim().to_owned();
    if key.is_empty() || key.len() > 255 {
        return Err(AppError::BadRequest(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible characters.".into(),
        ));
    }
    let (mut parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| AppError::PayloadTooLarge)?;
    // Keys belong to an account; an anonymous request (sign-up, sign-in) runs as is.
    let principal = match Principal::from_request_parts(&mut parts, &state).await {
        Ok(p) => p,
        Err(AppError::Unauthorized) => return Ok(next.run(Request::from_parts(parts, Body::from(bytes))).await),
        Err(e) => return Err(e),
    };
    let credential = match &principal.credential {
        Credential::Session { .. } => "session".to_owned(),
        Credential::Token { id, read_only } => format!("token {id} {}", if *read_only { "read" } else { "read_write" }),
    };
    let mut fingerprint = format!("{credential}\n{} {}\n", parts.method, parts.uri.path()).into_bytes();
    fingerprint.extend_from_slice(&bytes);
    let hash = sha256_hex(&fingerprint);
    let db = &state.db;
    let user = principal.id();
    let started = tokio::time::Instant::now();
    let abandoned_after = i64::try_from(state.config.request_timeout.as_millis()).unwrap_or(i64::MAX) + CLOCK_SKEW_MS;
    loop {
        let now = now_millis();
        let mut tx = db.begin().await?;
        let claimed = repo::idempotency::claim(db, &mut tx, user, &key, &hash, now, now + TTL_MS).await?;
        let existing = if claimed { None } else { repo::idempotency::get(db, &mut tx, user, &key, now).await? };
        tx.commit().await?;
        if claimed {
            return run_and_store(&state, user, &key, Request::from_parts(parts, Body::from(bytes)), next).await;
        }
        let Some(row) = existing else { continue };
        if row.request_hash != hash {
            return Err(AppError::IdempotencyMismatch);
        }
        if let (Some(status), Some(body)) = (row.status_code, row.response_body) {
            return Ok(replay(status, body, row.etag));
        }
        if row.created_at < now - abandoned_after {
            let mut tx = db.begin().await?;
            repo::idempotency::release(db, &mut tx, user, &key).await?;
            tx.commit().await?;
            continue;
        }
        if started.elapsed() > MAX_WAIT {
            return Err(AppError::Conflict(
                "request_in_progress",
                "A request with this Idempotency-Key is still being processed.".into(),
            ));
        }
        tokio::time::sleep(WAIT).await;
    }
}

/// Whether an answer depends only on the request, so replaying it is right.
fn is_replayable(status: StatusCode) -> bool {
    status.is_success()
        || matches!(status, StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNPROCESSABLE_ENTITY)
}

/// Whether a JSON answer carries a secret shown once only (`secret` at the top level).
fn carries_secret(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.get("secret").is_some())
}

/// Runs the request and stores its answer when it may be replayed; otherwise the key
/// is released so the client can retry.
async fn run_and_store(state: &AppState, user: i64, key: &str, req: Request, next: Next) -> Result<Response, AppError> {
    let response = next.run(req).await;
    let (parts, body) = response.into_parts();
    let bytes =
        to_bytes(body, usize::MAX).await.map_err(|e| AppError::Internal(anyhow::anyhow!("buffering response: {e}")))?;
    let db = &state.db;
    let mut tx = db.begin().await?;
    if !is_replayable(parts.status) {
        repo::idempotency::release(db, &mut tx, user, key).await?;
    } else if parts.status.is_success() && carries_secret(&bytes) {
        let refusal = secret_not_replayed().into_response();
        let body = to_bytes(refusal.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("buffering response: {e}")))?;
        let status = i64::from(StatusCode::CONFLICT.as_u16());
        repo::idempotency::complete(db, &mut tx, user, key, status, &String::from_utf8_lossy(&body), None).await?;
    } else {
        let etag = parts.headers.get(header::ETAG).and_then(|v| v.to_str().ok());
        let status = i64::from(parts.status.as_u16());
        repo::idempotency::complete(db, &mut tx, user, key, status, &String::from_utf8_lossy(&bytes), etag).await?;
    }
    tx.commit().await?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

fn secret_not_replayed() -> AppError {
    AppError::Conflict(
        "secret_not_replayed",
        "A request with this Idempotency-Key already created this resource; its secret was shown once and is not \
         kept. Delete the resource and create another if the secret was lost."
            .into(),
    )
}

fn replay(status: i64, body: String, etag: Option<String>) -> Response {
    let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
    let content_type = if status.is_client_error() { "application/problem+json" } else { "application/json" };
    let mut res = (status, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        res.headers_mut().insert(header::ETAG, etag);
    }
    res
}
