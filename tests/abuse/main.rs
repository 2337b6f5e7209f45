//! The resource-abuse suite: what one client (or a crowd of them) can do to a
//! replica's connections, memory and neighbours, on loopback and bounded in time.
//!
//! One test binary (`cargo test --test abuse`).

#[path = "../common/mod.rs"]
mod common;

mod server;
