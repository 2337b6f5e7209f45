//! The OpenAPI document's frame (info, security schemes, shared error responses).
//! Paths and schemas come from the handlers' annotations.

use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    IntoResponses, Modify, OpenApi,
};

use crate::error::Problem;

#[derive(OpenApi)]
#[openapi(
    info(title = "task-manager API", description = "Accounts, projects and tasks. Errors are RFC 9457 problem+json with a stable `code`."),
    modifiers(&Security),
    components(schemas(crate::error::FieldError)),
    tags(
        (name = "auth"), (name = "me"), (name = "projects"), (name = "members"), (name = "labels"),
        (name = "tasks"), (name = "comments"), (name = "webhooks"), (name = "admin"), (name = "health")
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Errors any authenticated read may answer.
#[allow(dead_code)]
#[derive(IntoResponses)]
pub enum ReadErrors {
    #[response(
        status = 400,
        description = "Malformed request (bad query value or cursor)",
        content_type = "application/problem+json"
    )]
    BadRequest(Problem),
    #[response(
        status = 401,
        description = "Not signed in, or the token is revoked or expired",
        content_type = "application/problem+json"
    )]
    Unauthorized(Problem),
    #[response(
        status = 404,
        description = "No such resource, or not visible to the caller",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    #[response(status = 422, description = "Invalid parameter values", content_type = "application/problem+json")]
    Unprocessable(Problem),
    #[response(
        status = 503,
        description = "Database unavailable; retry after `Retry-After`",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// Errors any write may answer.
#[allow(dead_code)]
#[derive(IntoResponses)]
pub enum WriteErrors {
    #[response(status = 400, description = "Malformed JSON", content_type = "application/problem+json")]
    BadRequest(Problem),
    #[response(
        status = 401,
        description = "Not signed in, or the token is revoked or expired",
        content_type = "application/problem+json"
    )]
    Unauthorized(Problem),
    #[response(
        status = 403,
        description = "The caller's role or token scope does not allow this",
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
    #[response(
        status = 404,
        description = "No such resource, or not visible to the caller",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    #[response(status = 409, description = "Conflicts with existing data", content_type = "application/problem+json")]
    Conflict(Problem),
    #[response(
        status = 412,
        description = "`If-Match` names a stale version",
        content_type = "application/problem+json"
    )]
    PreconditionFailed(Problem),
    #[response(status = 413, description = "Body larger than 1 MiB", content_type = "application/problem+json")]
    TooLarge(Problem),
    #[response(status = 415, description = "Body is not JSON", content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    #[response(
        status = 422,
        description = "Invalid values, with field errors; or an Idempotency-Key reused with another body",
        content_type = "application/problem+json"
    )]
    Unprocessable(Problem),
    #[response(
        status = 503,
        description = "Database unavailable; retry after `Retry-After`",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}
