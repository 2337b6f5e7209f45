//! Tests of the web UI: HTTP-level tests of the pages, forms, CSRF protection and
//! escaping on SQLite and PostgreSQL, and end-to-end tests driving a real headless
//! Chromium (installed when missing).
//!
//! One test binary (`cargo test --test web`).

#[path = "../common/mod.rs"]
mod common;

mod browser;
mod bulk;
mod support;

mod account;
mod attachments;
mod csrf;
mod imports;
mod pages;
mod recurrence;
mod relations;
mod tasks;
mod webhooks;
