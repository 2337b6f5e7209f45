//! The stylesheet and the script, built into the binary and served under names that
//! carry a hash of their content, so browsers may keep them for a year.

use std::sync::LazyLock;

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use crate::auth::secret::sha256_hex;

pub struct Asset {
    /// The fingerprinted name, e.g. `app.1a2b3c4d5e6f.css`.
    pub name: String,
    pub body: &'static str,
    pub content_type: &'static str,
}

fn asset(stem: &str, ext: &str, body: &'static str, content_type: &'static str) -> Asset {
    let hash = sha256_hex(body.as_bytes());
    Asset { name: format!("{stem}.{}.{ext}", &hash[..12]), body, content_type }
}

pub static CSS: LazyLock<Asset> =
    LazyLock::new(|| asset("app", "css", include_str!("assets/app.css"), "text/css; charset=utf-8"));
pub static JS: LazyLock<Asset> =
    LazyLock::new(|| asset("app", "js", include_str!("assets/app.js"), "text/javascript; charset=utf-8"));

/// `/assets/{file}`: only the current fingerprinted names exist.
pub async fn serve(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    for a in [&*CSS, &*JS] {
        if a.name == file {
            return (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static(a.content_type)),
                    (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
                ],
                a.body,
            )
                .into_response();
        }
    }
    (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], "not found")
        .into_response()
}
