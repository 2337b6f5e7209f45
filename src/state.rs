//! The state every handler reads through `State<AppState>`.

use std::sync::Arc;

use crate::{
    attachments::AttachmentStore, auth::TokenCache, config::Config, db::Db, lifecycle::Lifecycle, notify::Notifier,
    telemetry::metrics::Metrics,
};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub metrics: Arc<Metrics>,
    pub lifecycle: Lifecycle,
    pub notifier: Arc<Notifier>,
    /// API tokens recently resolved; every change to an account or its tokens must
    /// call `forget_user` after committing.
    pub tokens: Arc<TokenCache>,
    /// One permit per request being served (`max_concurrent_requests`); a request that
    /// finds none left is shed with 503.
    pub capacity: Arc<tokio::sync::Semaphore>,
    /// One permit per import being converted or written (`max_concurrent_imports`).
    pub imports: Arc<tokio::sync::Semaphore>,
    /// argon2id hashing, bounded to `password_hashing_concurrency` at once.
    pub passwords: Arc<crate::auth::password::Hasher>,
    /// Where attachment files are kept (a local directory or S3).
    pub attachments: AttachmentStore,
}
