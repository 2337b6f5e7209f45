//! The resource-abuse suite: hostile requests against the real application, on
//! loopback only, each asserting that the service keeps answering everyone else.
//!
//! One test binary (`cargo test --test abuse`); every module covers one kind of abuse.

#[path = "../common/mod.rs"]
mod common;

mod imports;
