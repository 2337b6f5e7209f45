//! Resource-abuse suite: hostile load against the real binary on loopback, asserting
//! counts and memory (never durations), and that `/healthz/live` and another user's
//! ordinary requests are still answered during the attack.

#[path = "../common/mod.rs"]
mod common;

mod auth;
