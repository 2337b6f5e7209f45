//! The one application error type and its one response shape: RFC 9457
//! `application/problem+json` with a stable machine-readable `code`.
//!
//! Database errors are mapped to HTTP meaning here and nowhere else. 5xx causes are
//! logged with the request's trace id; clients only ever see a generic message.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field in a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field (`title`, `labels[2]`) or query parameter name.
    pub field: String,
    /// Stable code, e.g. `too_long`, `required`, `invalid`.
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`about:blank` semantics are not used: each code has one).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`.
    pub code: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The request's trace id, to quote to an operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("malformed request: {1}")]
    BadRequest(&'static str, String),
    #[error("authentication required")]
    Unauthorized,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("conflict: {1}")]
    Conflict(&'static str, String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("request body too large")]
    PayloadTooLarge,
    /// An uploaded file over the configured limit (in bytes).
    #[error("file too large")]
    FileTooLarge(u64),
    /// An upload that would take its uploader or its project over their storage quota.
    #[error("attachment quota exceeded")]
    QuotaExceeded(&'static str, u64),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("validation failed")]
    Unprocessable(Vec<FieldError>),
    #[error("idempotency key reused with a different request")]
    IdempotencyMismatch,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

/// PostgreSQL errors that say the server cannot serve right now rather than that the
/// statement is wrong: during a failover the old primary shuts down (class 57: admin
/// shutdown, "cannot connect now"), connections break (class 08), a standby not yet
/// promoted refuses writes (25006, read-only transaction) and a server out of
/// connections says so (class 53). A client may retry them, so they are 503s.
fn server_unavailable(sqlstate: &str) -> bool {
    matches!(sqlstate.get(..2), Some("08" | "53" | "57")) || sqlstate == "25006"
}

impl AppError {
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        AppError::Unprocessable(vec![FieldError::new(field, code, message)])
    }

    /// Maps database failures to what they mean for the client. Constraint violations
    /// are the client's doing (a duplicate, a dangling reference); a pool timeout means
    /// the database is out of reach for now.
    fn classify_db(err: &sqlx::Error) -> Option<AppError> {
        match err {
            sqlx::Error::RowNotFound => Some(AppError::NotFound),
            sqlx::Error::PoolTimedOut => Some(AppError::Unavailable("database connection not available")),
            sqlx::Error::PoolClosed => Some(AppError::Unavailable("shutting down")),
            sqlx::Error::Database(db) => {
                if db.is_unique_violation() {
                    Some(AppError::Conflict("already_exists", "a resource with these values already exists".into()))
                } else if db.is_foreign_key_violation() {
                    Some(AppError::field("", "invalid_reference", "a referenced resource does not exist"))
                } else if db.is_check_violation() {
                    Some(AppError::field("", "invalid", "a value is out of range"))
                } else if db.code().is_some_and(|c| server_unavailable(&c)) {
                    Some(AppError::Unavailable("database not reachable"))
                } else {
                    None
                }
            }
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
                Some(AppError::Unavailable("database not reachable"))
            }
            _ => None,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        use AppError::*;
        match self {
            BadRequest(code, msg) => (StatusCode::BAD_REQUEST, code, msg.clone()),
            Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Sign in or send a valid API token.".into()),
            Forbidden(msg) => (StatusCode::FORBIDDEN, "forbidden", msg.clone()),
            NotFound => {
                (StatusCode::NOT_FOUND, "not_found", "The resource does not exist or you cannot see it.".into())
            }
            Conflict(code, msg) => (StatusCode::CONFLICT, code, msg.clone()),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This method is not allowed on this resource.".into(),
            ),
            PreconditionFailed => (
                StatusCode::PRECONDITION_FAILED,
                "stale_version",
                "The resource changed since you read it; fetch it again and retry.".into(),
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is larger than this endpoint accepts (1 MiB; 10 MiB for imports).".into(),
            ),
            FileTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "file_too_large",
                format!("The file exceeds the limit of {limit} bytes ({:.1} MiB).", *limit as f64 / 1048576.0),
            ),
            QuotaExceeded(whose, quota) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "quota_exceeded",
                format!(
                    "This file would take {whose} over its attachment quota of {quota} bytes ({:.1} MiB); \
                     delete attachments that are no longer needed.",
                    *quota as f64 / 1048576.0
                ),
            ),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as application/json.".into(),
            ),
            Unprocessable(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "Some values are invalid.".into())
            }
            IdempotencyMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request.".into(),
            ),
            TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests", "Too many attempts; retry later.".into())
            }
            Unavailable(why) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable", format!("Temporarily unavailable: {why}."))
            }
            Database(e) => match Self::classify_db(e) {
                Some(mapped) => mapped.parts(),
                None => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "An unexpected error occurred.".into()),
            },
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "An unexpected error occurred.".into()),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.parts().0
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, detail) = self.parts();
        let trace_id = crate::telemetry::current_trace_id();
        if status.is_server_error() {
            tracing::error!(error = %self, cause = ?self, "request failed");
        }
        let errors = match &self {
            AppError::Unprocessable(errs) => errs.clone(),
            AppError::Database(e) => match Self::classify_db(e) {
                Some(AppError::Unprocessable(errs)) => errs,
                _ => vec![],
            },
            _ => vec![],
        };
        let problem = Problem {
            kind: format!("https://task-manager.dev/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            code: code.to_owned(),
            detail,
            errors,
            trace_id,
        };
        let mut res = (status, axum::Json(problem)).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        let retry_after = match &self {
            AppError::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::server_unavailable;

    #[test]
    fn failover_sqlstates_are_unavailable_and_statement_errors_are_not() {
        for code in ["57P01", "57P03", "08006", "08001", "53300", "25006"] {
            assert!(server_unavailable(code), "{code}");
        }
        // Syntax error, undefined table, serialization failure, numeric overflow.
        for code in ["42601", "42P01", "40001", "22003", "2", ""] {
            assert!(!server_unavailable(code), "{code}");
        }
    }
}
