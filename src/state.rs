//! The state every handler reads through `State<AppState>`.

use std::sync::Arc;

use crate::{config::Config, db::Db, lifecycle::Lifecycle, notify::Notifier, telemetry::metrics::Metrics};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub metrics: Arc<Metrics>,
    pub lifecycle: Lifecycle,
    pub notifier: Arc<Notifier>,
}
