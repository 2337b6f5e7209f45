//! Who is looking at a page, and the CSRF-checked form of every state-changing POST.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::render::{self, flash_message, Ctx};
use crate::{
    auth::{secret, Credential, Principal},
    error::AppError,
    state::AppState,
};

pub const ANON_CSRF_COOKIE: &str = "tm_csrf";

/// Why a page could not be shown.
pub enum WebError {
    /// Not signed in: go to the sign-in page, then back to `next`.
    SignIn(String),
    /// A state-changing request without the right CSRF token or from another origin.
    Csrf,
    App(AppError),
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        WebError::App(e)
    }
}

impl From<sqlx::Error> for WebError {
    fn from(e: sqlx::Error) -> Self {
        WebError::App(e.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn(next) => {
                let target = if next.is_empty() || next == "/" {
                    "/signin".to_owned()
                } else {
                    format!("/signin?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>())
                };
                axum::response::Redirect::to(&target).into_response()
            }
            WebError::Csrf => render::error_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was not sent from this site or its security token is missing or out of date. \
                 Go back, reload the page and try again.",
            ),
            WebError::App(AppError::Unauthorized) => WebError::SignIn(String::new()).into_response(),
            WebError::App(e) => render::error_response(e),
        }
    }
}

pub type WebResult = Result<Response, WebError>;

pub use crate::auth::cookie_value as cookie;

/// The flash message of the request, with the header that clears it.
fn take_flash(headers: &HeaderMap) -> (Option<&'static str>, Option<HeaderValue>) {
    match cookie(headers, "tm_flash").and_then(flash_message) {
        Some(m) => (Some(m), Some(HeaderValue::from_static("tm_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"))),
        None => (None, None),
    }
}

/// A signed-in browser (session cookie; API tokens do not sign in to the UI).
pub struct WebUser {
    pub principal: Principal,
    pub ctx: Ctx,
}

impl WebUser {
    pub fn id(&self) -> i64 {
        self.principal.id()
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        super::format::tz(&self.principal.user.time_zone)
    }
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let next = if parts.method == axum::http::Method::GET {
            parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default()
        } else {
            String::new()
        };
        let principal = match <Principal as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(p) => p,
            Err(AppError::Unauthorized) => return Err(WebError::SignIn(next)),
            Err(e) => return Err(e.into()),
        };
        let Credential::Session { csrf_token, .. } = &principal.credential else {
            return Err(WebError::SignIn(next));
        };
        let (flash, clear) = take_flash(&parts.headers);
        let u = &principal.user;
        let ctx = Ctx {
            me: Some(json!({"display_name": u.display_name, "email": u.email, "id": u.id})),
            csrf: csrf_token.clone(),
            flash,
            cookies: clear.into_iter().collect(),
        };
        Ok(WebUser { principal, ctx })
    }
}

/// The page context of a visitor who is not signed in: the sign-in and sign-up forms
/// carry a token that must match a cookie (double submit).
pub fn anonymous_ctx(headers: &HeaderMap, secure: bool) -> Ctx {
    let (flash, clear) = take_flash(headers);
    let mut cookies: Vec<HeaderValue> = clear.into_iter().collect();
    let csrf = match cookie(headers, ANON_CSRF_COOKIE) {
        Some(t) if t.len() >= 32 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
            t.to_owned()
        }
        _ => {
            let t = secret::random_token();
            let flag = if secure { "; Secure" } else { "" };
            if let Ok(v) =
                HeaderValue::from_str(&format!("{ANON_CSRF_COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax{flag}"))
            {
                cookies.push(v);
            }
            t
        }
    };
    Ctx { me: None, csrf, flash, cookies }
}

/// A submitted form whose CSRF token and origin were checked, and none of whose
/// fields carries a control character (other than line breaks and tabs).
pub struct CsrfForm {
    pub pairs: Vec<(String, String)>,
    /// The service's public URL, which every return path must stay on.
    pub(crate) public_url: String,
}

impl CsrfForm {
    /// The value of a field, trimmed; empty when absent.
    pub fn get(&self, key: &str) -> String {
        self.raw(key).trim().to_owned()
    }

    /// The value exactly as sent (passwords, Markdown).
    pub fn raw(&self, key: &str) -> String {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.trim().to_owned()).collect()
    }

    /// A local path to return to (never another site).
    pub fn return_to(&self, fallback: &str) -> String {
        safe_next(&self.public_url, &self.get("return")).unwrap_or_else(|| fallback.to_owned())
    }
}

/// The path on this site that a `next` or `return` value leads to, or `None`.
///
/// The value is resolved against `public_url` the way a browser resolves it and must
/// keep the same origin. Control characters, whitespace and backslashes are refused
/// before that: browsers drop tabs and newlines and read `\` as `/`, so `/\t/evil.example`
/// is `//evil.example` to them, another site. Every redirect to a caller-chosen path
/// goes through here.
pub fn safe_next(public_url: &str, raw: &str) -> Option<String> {
    if !raw.starts_with('/') || raw.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
        return None;
    }
    let base = url::Url::parse(public_url).ok()?;
    let resolved = base.join(raw).ok()?;
    (resolved.origin() == base.origin()).then(|| resolved[url::Position::BeforePath..].to_owned())
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A browser's `Origin` (or, without it, `Referer`) must be this site.
pub(super) fn same_origin(headers: &HeaderMap, state: &AppState) -> bool {
    let public = state.config.public_url.trim_end_matches('/');
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let matches = |origin: &str| {
        origin == public || origin.split_once("://").map(|(_, h)| !host.is_empty() && h == host).unwrap_or(false)
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin.to_str().map(matches).unwrap_or(false);
    }
    if let Some(referer) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) {
        let origin: String = match referer.split_once("://") {
            Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or("")),
            None => return false,
        };
        return matches(&origin);
    }
    true
}

impl FromRequest<AppState> for CsrfForm {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        if !same_origin(&parts.headers, state) {
            return Err(WebError::Csrf);
        }
        let expected = match <Principal as FromRequestParts<AppState>>::from_request_parts(&mut parts, state).await {
            Ok(Principal { credential: Credential::Session { csrf_token, .. }, .. }) => Some(csrf_token),
            Ok(_) => None,
            Err(AppError::Unauthorized) => cookie(&parts.headers, ANON_CSRF_COOKIE).map(str::to_owned),
            Err(AppError::Forbidden(_)) => return Err(WebError::Csrf),
            Err(e) => return Err(e.into()),
        };
        let req = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                WebError::App(AppError::PayloadTooLarge)
            } else {
                WebError::App(AppError::BadRequest("unreadable_body", "The form could not be read.".into()))
            }
        })?;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        let public_url = state.config.public_url.clone();
        let sent = pairs.iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v.as_str()).unwrap_or("");
        match expected {
            Some(token) if !sent.is_empty() && constant_time_eq(token.as_bytes(), sent.as_bytes()) => {
                let errors: Vec<_> = pairs
                    .iter()
                    .filter_map(|(k, v)| {
                        crate::domain::reject_controls(k, k).and_then(|_| crate::domain::reject_controls(k, v)).err()
                    })
                    .collect();
                if !errors.is_empty() {
                    return Err(WebError::App(AppError::Unprocessable(errors)));
                }
                Ok(CsrfForm { pairs, public_url })
            }
            _ => Err(WebError::Csrf),
        }
    }
}

/// The checks of a form that is not URL-encoded (a multipart upload): same origin, and
/// the token it sent is the session's.
pub fn check_form_token(headers: &HeaderMap, state: &AppState, expected: &str, sent: &str) -> Result<(), WebError> {
    if same_origin(headers, state) && !sent.is_empty() && constant_time_eq(expected.as_bytes(), sent.as_bytes()) {
        Ok(())
    } else {
        Err(WebError::Csrf)
    }
}

/// A path parameter; one that does not parse is a 404 page.
pub struct WebPath<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for WebPath<T> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| WebPath(v))
            .map_err(|_| WebError::App(AppError::NotFound))
    }
}

/// The JSON body of a shared handler's response.
pub async fn json_of(res: Response) -> Result<serde_json::Value, WebError> {
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .map_err(|e| WebError::App(AppError::Internal(anyhow::anyhow!("reading a response: {e}"))))?;
    serde_json::from_slice(&bytes).map_err(|e| WebError::App(AppError::Internal(e.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_followed() {
        let public = "https://tasks.example.com";
        assert_eq!(safe_next(public, "/projects/1"), Some("/projects/1".into()));
        assert_eq!(safe_next(public, "/projects/1?status=todo#t"), Some("/projects/1?status=todo#t".into()));
        assert_eq!(safe_next(public, "/a/../projects"), Some("/projects".into()));
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\0",
            "/ /evil.example",
            "/\u{a0}/evil.example",
            "/\u{2028}/evil.example",
            "/\u{7f}",
            "/\u{85}x",
            "\\/evil.example",
            "evil.example",
            "https://tasks.example.com.evil.example/",
            "javascript:alert(1)",
            "/%0a/evil.example/..",
            "",
        ] {
            let resolved = safe_next(public, hostile);
            assert!(
                resolved.as_deref().is_none_or(|p| p.starts_with('/') && !p.starts_with("//")),
                "{hostile:?} -> {resolved:?}"
            );
            assert!(resolved.is_none() || hostile.starts_with("/%0a"), "{hostile:?} -> {resolved:?}");
        }
        assert!(
            constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"a", b"ab")
        );
    }
}
