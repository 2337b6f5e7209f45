//! task-manager: a multi-user task manager whose operations are part of the product.
//!
//! One binary serves the REST API, the web UI and the metrics. `startup` builds the
//! application; feature routers live under `api`; storage under `db`.

pub mod api;
pub mod attachments;
pub mod auth;
pub mod cli;
pub mod config;
pub mod connections;
pub mod db;
pub mod domain;
pub mod error;
pub mod extract;
pub mod jobs;
pub mod lifecycle;
pub mod notify;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod web;
pub mod webhooks;

/// Version and commit, as printed by `--version` and exported in `build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_COMMIT: &str = env!("TM_GIT_COMMIT");
