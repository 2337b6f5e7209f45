//! Liveness (the process answers; never touches the database) and readiness (the
//! database answers and its migrations are applied; 503 once shutdown has begun).

use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(live)).routes(routes!(ready))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or why the replica is not ready.
    pub status: String,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz/live", tag = "health", responses((status = 200, body = Health)))]
pub async fn live() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// Readiness: send traffic here.
#[utoipa::path(get, path = "/healthz/ready", tag = "health",
    responses((status = 200, body = Health), (status = 503, description = "Not ready", body = Health)))]
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let verdict = if state.lifecycle.is_shutting_down() {
        Err("shutting_down")
    } else {
        match tokio::time::timeout(state.config.db_acquire_timeout, state.db.migrations_applied()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err("migrations_pending"),
            _ => Err("database_unreachable"),
        }
    };
    state.metrics.ready.set(i64::from(verdict.is_ok()));
    match verdict {
        Ok(()) => (StatusCode::OK, Json(Health { status: "ok".into() })),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: why.into() })),
    }
}
