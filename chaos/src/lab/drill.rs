//! Which drill runs, as the metric the dashboards and rules read:
//! `task_manager_chaos_drill_active{experiment}` is 1 while a drill runs and 0 after it
//! ended. The supervisor serves it at `GET /metrics` and the lab's Prometheus scrapes it
//! (job `chaos`, `namespace="lab"` like the replicas), so drill annotations and panels
//! have data; the runner marks the start and end with `PUT` and `DELETE /drill/{name}`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::Router;

pub const METRIC: &str = "task_manager_chaos_drill_active";

/// Drills seen since the lab came up, by experiment id: whether each runs now. Ended
/// drills stay at 0 so a query sees the fall from 1, not a vanished series.
#[derive(Clone, Default)]
pub struct Drills(Arc<Mutex<BTreeMap<String, bool>>>);

impl Drills {
    /// Marks `experiment` running; false when the name is not an experiment id.
    pub fn begin(&self, experiment: &str) -> bool {
        if !is_experiment_id(experiment) {
            return false;
        }
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(experiment.to_owned(), true);
        true
    }

    pub fn end(&self, experiment: &str) {
        if let Some(active) = self.0.lock().unwrap_or_else(|e| e.into_inner()).get_mut(experiment) {
            *active = false;
        }
    }

    /// The Prometheus text exposition of the drill gauge.
    pub fn render(&self) -> String {
        let mut out = format!("# HELP {METRIC} 1 while the chaos drill runs.\n# TYPE {METRIC} gauge\n");
        for (experiment, active) in self.0.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            out.push_str(&format!("{METRIC}{{experiment=\"{experiment}\"}} {}\n", u8::from(*active)));
        }
        out
    }
}

/// Experiment ids are file stems like `05-database-failover`: a fixed, label-safe
/// alphabet, so nothing needs escaping and no caller can invent arbitrary series.
fn is_experiment_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `GET /metrics`, `PUT /drill/{name}`, `DELETE /drill/{name}`.
pub fn router(drills: Drills) -> Router {
    Router::new().route("/metrics", get(metrics)).route("/drill/{name}", put(begin).delete(end)).with_state(drills)
}

async fn metrics(State(drills): State<Drills>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], drills.render())
}

async fn begin(State(drills): State<Drills>, Path(name): Path<String>) -> StatusCode {
    if drills.begin(&name) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

async fn end(State(drills): State<Drills>, Path(name): Path<String>) -> StatusCode {
    drills.end(&name);
    StatusCode::NO_CONTENT
}
