//! The resource-abuse suite: hostile load against the real application on loopback,
//! asserting counts and memory (never durations), and that `/healthz/live` and another
//! user's ordinary requests are still answered during the attack.
//!
//! One test binary (`cargo test --test abuse`); every module covers one kind of abuse.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod imports;
mod server;
