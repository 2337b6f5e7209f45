//! HTTP-level tests of the whole API surface, each on SQLite and on PostgreSQL.
//!
//! One test binary (`cargo test --test api`); every module covers one area of the API.

#[path = "../common/mod.rs"]
mod common;

mod helpers;

mod access_matrix;
mod admin;
mod attachments;
mod auth;
mod bad_input;
mod bulk;
mod checklists;
mod comments;
mod control_characters;
mod hardening;
mod idempotency;
mod imports;
mod labels;
mod listing;
mod members;
mod notifications;
mod projects;
mod recurrence;
mod relations;
mod subtasks;
mod tasks;
mod token_cache;
mod tokens;
mod transfer;
mod webhooks;
