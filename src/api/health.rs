//! Liveness (the process answers) and readiness (the replica's own state: started, with
//! its migrations applied at start, and not shutting down). Neither touches the database:
//! a database outage is shared by every replica, so readiness failing on it would take
//! every target out of the load balancer at once (see `lifecycle.rs`).

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

/// Readiness: send traffic here. Answers from the replica's own state only; a database
/// outage shows as 503s on the requests that need it, not here.
#[utoipa::path(get, path = "/healthz/ready", tag = "health",
    responses((status = 200, body = Health), (status = 503, description = "Not ready: `starting` or `shutting_down`", body = Health)))]
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let verdict = if state.lifecycle.is_shutting_down() {
        Err("shutting_down")
    } else if !state.lifecycle.is_started() {
        Err("starting")
    } else {
        Ok(())
    };
    state.metrics.ready.set(i64::from(verdict.is_ok()));
    match verdict {
        Ok(()) => (StatusCode::OK, Json(Health { status: "ok".into() })),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: why.into() })),
    }
}
