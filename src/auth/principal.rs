//! The `Principal` extractor: resolves the session cookie or the bearer token once per
//! request (cached in the request's extensions) and refuses disabled accounts and
//! revoked or expired tokens. Bearer tokens are looked up through the short-lived
//! `TokenCache` (see there for when changes take effect).

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, Method},
};

use super::secret::sha256_hex;
use crate::{
    db::repo::{self, users::UserRow},
    domain::now_millis,
    error::AppError,
    state::AppState,
};

pub const SESSION_COOKIE: &str = "tm_session";

#[derive(Debug, Clone)]
pub enum Credential {
    Session { token_hash: String, csrf_token: String },
    Token { id: i64, read_only: bool },
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub user: UserRow,
    pub credential: Credential,
}

impl Principal {
    pub fn id(&self) -> i64 {
        self.user.id
    }

    /// Read-only tokens may not change anything.
    pub fn require_write(&self) -> Result<(), AppError> {
        match self.credential {
            Credential::Token { read_only: true, .. } => {
                Err(AppError::Forbidden("This API token is read-only.".into()))
            }
            _ => Ok(()),
        }
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.user.is_admin != 0 {
            Ok(())
        } else {
            Err(AppError::Forbidden("Administrators only.".into()))
        }
    }
}

/// The value of a request cookie.
pub fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn resolve(parts: &Parts, state: &AppState) -> Result<Principal, AppError> {
    let now = now_millis();
    let db = &state.db;
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let (user, credential) = if let Some(token) = bearer {
        let secret_hash = sha256_hex(token.as_bytes());
        let (user, row) = match state.tokens.get(&secret_hash) {
            Some(hit) => hit,
            None => {
                let generation = state.tokens.generation();
                let mut c = db.conn().await?;
                let (user, row) =
                    repo::users::by_token(db, &mut c, &secret_hash).await?.ok_or(AppError::Unauthorized)?;
                state.tokens.store(generation, &secret_hash, &user, &row);
                (user, row)
            }
        };
        // The same checks whether the row is fresh from the database or cached.
        if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
            return Err(AppError::Unauthorized);
        }
        if row.last_used_at.is_none_or(|t| t < now - TOUCH_EVERY_MS) {
            state.tokens.note_use(&secret_hash, now);
            touch_later(state, row.id, now);
        }
        (user, Credential::Token { id: row.id, read_only: row.scope == "read" })
    } else if let Some(cookie) = cookie_value(&parts.headers, SESSION_COOKIE) {
        let token_hash = sha256_hex(cookie.as_bytes());
        let mut c = db.conn().await?;
        let (user, csrf_token) =
            repo::users::by_session(db, &mut c, &token_hash, now).await?.ok_or(AppError::Unauthorized)?;
        if parts.method != Method::GET && parts.method != Method::HEAD {
            check_origin(parts, state)?;
        }
        (user, Credential::Session { token_hash, csrf_token })
    } else {
        return Err(AppError::Unauthorized);
    };
    if user.disabled != 0 {
        return Err(AppError::Unauthorized);
    }
    Ok(Principal { user, credential })
}

/// A token's "last used" time is kept to the minute, written off the request path
/// through the writer, so reads stay reads.
const TOUCH_EVERY_MS: i64 = 60_000;

fn touch_later(state: &AppState, id: i64, now: i64) {
    let db = state.db.clone();
    tokio::spawn(async move {
        let result = async {
            let mut tx = db.begin().await?;
            repo::tokens::touch(&db, &mut tx, id, now).await?;
            tx.commit().await?;
            Ok::<_, AppError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "recording token use failed");
        }
    });
}

/// Cookie-authenticated writes must come from our own origin (or a non-browser
/// client that sends no `Origin`): a cross-site page cannot act as the user.
fn check_origin(parts: &Parts, state: &AppState) -> Result<(), AppError> {
    let Some(origin) = parts.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let public = state.config.public_url.trim_end_matches('/');
    let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let same_host = origin.split_once("://").map(|(_, h)| h == host).unwrap_or(false);
    if origin == public || same_host {
        Ok(())
    } else {
        Err(AppError::Forbidden("Cross-origin request refused.".into()))
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let p = resolve(parts, state).await?;
        parts.extensions.insert(p.clone());
        Ok(p)
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        match <Principal as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(p) => Ok(Some(p)),
            Err(AppError::Unauthorized) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
