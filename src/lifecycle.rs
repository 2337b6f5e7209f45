//! Process lifecycle: the shutdown signal and the replica's own state that readiness
//! reports: started (migrations were applied before the listener opened) and not
//! shutting down, so the load balancer stops sending before the listener closes.
//!
//! Readiness deliberately leaves out shared dependencies such as the database: when the
//! database fails over, every replica would turn unready at once and the load balancer
//! would lose every target. Requests that need the database answer 503 with Retry-After
//! instead (see `error.rs`), and the rest (liveness, static pages) keeps working.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

#[derive(Clone, Default)]
pub struct Lifecycle {
    started: Arc<AtomicBool>,
    shutting_down: Arc<AtomicBool>,
}

impl Lifecycle {
    /// The server is serving; the state it serves was opened with migrations applied.
    pub fn mark_started(&self) {
        self.started.store(true, Ordering::SeqCst);
    }

    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
