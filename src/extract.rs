//! Request extractors whose rejections use the application's error shape, so a
//! malformed body or query answers with problem+json like every other error.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts},
};
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// Largest request body accepted anywhere in the API.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON body. Syntax errors are 400; a body that parses but has a wrong type, an
/// unknown field or an unknown enum value is 422 with the offending field's path.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.to_ascii_lowercase().ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(unreadable_body)?;
        // Every request body of the API is an object: serde would also fill a struct
        // from an array (`[null, null]`), a form the contract does not allow.
        if !bytes.trim_ascii_start().starts_with(b"{")
            && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok()
        {
            return Err(AppError::Unprocessable(vec![FieldError::new(
                "",
                "invalid_type",
                "the body must be a JSON object",
            )]));
        }
        parse_json(&bytes).map(ApiJson)
    }
}

/// Why a body could not be read: too large (413), or cut off on the way (400).
pub fn unreadable_body(rejection: axum::extract::rejection::BytesRejection) -> AppError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::BadRequest("unreadable_body", "The request body could not be read.".into())
    }
}

/// Parses JSON with the path of the failing field, for precise 422 answers.
///
/// The whole body is checked for syntax first (trailing data included), so a
/// truncated or garbled body is always 400, even when a field error would come
/// first in the stream; after that, every error is about the values (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let document = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(document) => document,
        Err(err) => return Err(AppError::BadRequest("malformed_json", format!("The body is not valid JSON: {err}"))),
    };
    // Every string of every body, keys included, is checked here once, so no field
    // of any endpoint can carry a NUL or another control character into the database.
    reject_controls_in(&document, &mut String::new()).map_err(|e| AppError::Unprocessable(vec![e]))?;
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let field = if path == "." { String::new() } else { path };
        let message = inner.to_string();
        // serde appends " at line L column C"; the field path already says where.
        let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
        let code = if message.starts_with("missing field") {
            "required"
        } else if message.starts_with("unknown field") {
            "unknown_field"
        } else {
            "invalid"
        };
        let field = match (code, message.split('`').nth(1)) {
            ("required" | "unknown_field", Some(name)) if field.is_empty() => name.to_owned(),
            _ => field,
        };
        AppError::Unprocessable(vec![FieldError::new(field, code, message)])
    })
}

fn reject_controls_in(value: &serde_json::Value, path: &mut String) -> Result<(), FieldError> {
    use serde_json::Value;
    let field = |path: &str| if path.is_empty() { ".".to_owned() } else { path.to_owned() };
    match value {
        Value::String(s) => crate::domain::reject_controls(&field(path), s),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let checked = reject_controls_in(item, path);
            path.truncate(len);
            checked
        }),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
            crate::domain::reject_controls(&field(path), key)?;
            let checked = reject_controls_in(item, path);
            path.truncate(len);
            checked
        }),
        _ => Ok(()),
    }
}

/// Path parameters (`/tasks/{id}`). A segment that does not parse (`/tasks/abc`,
/// an id out of range) is a 400 with the problem shape, like every other error.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|rejection| AppError::BadRequest("invalid_path", rejection.body_text()))
    }
}

/// Query parameters as a list of pairs, keeping repeated keys (`status=todo&status=done`).
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        QueryPairs::new(form_urlencoded::parse(q.as_bytes()).into_owned().collect())
    }
}

impl QueryPairs {
    /// The pairs, refusing control characters in names and values (a NUL in `q` would
    /// otherwise reach PostgreSQL, which refuses it).
    pub fn new(pairs: Vec<(String, String)>) -> Result<Self, AppError> {
        let errors: Vec<FieldError> = pairs
            .iter()
            .filter_map(|(k, v)| {
                crate::domain::reject_controls(k, k).and_then(|_| crate::domain::reject_controls(k, v)).err()
            })
            .collect();
        if errors.is_empty() {
            Ok(QueryPairs(pairs))
        } else {
            Err(AppError::Unprocessable(errors))
        }
    }

    /// Values of a key, repeated keys and comma-separated lists both accepted.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_owned()).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .collect()
    }

    pub fn one(&self, key: &str) -> Option<String> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// Rejects parameters the endpoint does not know, so a typo is not silently ignored.
    pub fn only(&self, known: &[&str]) -> Result<(), AppError> {
        let unknown: Vec<FieldError> = self
            .0
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, _)| FieldError::new(k.clone(), "unknown_parameter", format!("unknown query parameter `{k}`")))
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(AppError::Unprocessable(unknown))
        }
    }
}

/// The socket address of the client, when the server was started with connect info.
pub struct PeerAddr(pub Option<std::net::SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        n: Option<u8>,
    }

    #[test]
    fn control_characters_in_any_string_are_422_with_the_field() {
        for (body, field) in [
            (r#"{"title":"a\u0000b"}"#, "title"),
            (r#"{"title":"x","tags":["ok","\u001b[31m"]}"#, "tags[1]"),
            (r#"{"title":"x","nested":{"k":"\u007f"}}"#, "nested.k"),
            (r#"{"title":"x","\u0000":1}"#, "\u{0}"),
            (r#""\u0085""#, "."),
        ] {
            match parse_json::<serde_json::Value>(body.as_bytes()).unwrap_err() {
                AppError::Unprocessable(e) => assert_eq!(e[0].field, field, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(parse_json::<serde_json::Value>(br#"{"d":"line\n\tnext\r\n"}"#).is_ok());
        assert!(QueryPairs::new(vec![("q".into(), "a\0b".into())]).is_err());
        assert!(QueryPairs::new(vec![("q".into(), "plain".into())]).is_ok());
    }

    #[test]
    fn syntax_errors_are_400_and_type_errors_name_the_field() {
        assert_eq!(parse_json::<Body>(b"{").unwrap_err().status(), 400);
        assert_eq!(parse_json::<Body>(br#"{"title":"x"} x"#).unwrap_err().status(), 400);
        assert_eq!(parse_json::<Body>(br#"{"colour": "#).unwrap_err().status(), 400);
        match parse_json::<Body>(br#"{"title":"x","n":"seven"}"#).unwrap_err() {
            AppError::Unprocessable(e) => assert_eq!(e[0].field, "n"),
            other => panic!("{other:?}"),
        }
        match parse_json::<Body>(br#"{"n":1}"#).unwrap_err() {
            AppError::Unprocessable(e) => assert_eq!((e[0].field.as_str(), e[0].code.as_str()), ("title", "required")),
            other => panic!("{other:?}"),
        }
        match parse_json::<Body>(br#"{"title":"x","colour":1}"#).unwrap_err() {
            AppError::Unprocessable(e) => {
                assert_eq!((e[0].field.as_str(), e[0].code.as_str()), ("colour", "unknown_field"))
            }
            other => panic!("{other:?}"),
        }
    }
}
