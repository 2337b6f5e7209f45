//! Operational tests: concurrency, graceful shutdown of the real binary, the OpenAPI
//! document against the served routes and real responses, metrics (names, labels,
//! counts, cardinality, documentation), load shedding, secrets in logs, and the command
//! line.

#[path = "../common/mod.rs"]
mod common;

mod abandoned_requests;
mod backup;
mod binary;
mod cli;
mod concurrency;
mod jobs;
mod load_shedding;
mod metrics;
mod openapi;
mod prom;
mod replicas;
mod secrets;
mod shutdown;
mod tools;
