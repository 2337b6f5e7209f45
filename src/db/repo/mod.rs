//! SQL, one file per table family. Functions take the `Db` (for `observe`) and a
//! connection or transaction, so callers decide what runs in one transaction.

pub mod activity;
pub mod attachments;
pub mod checklists;
pub mod comments;
pub mod idempotency;
pub mod labels;
pub mod members;
pub mod notifications;
pub mod projects;
pub mod recurrence;
pub mod relations;
pub mod sessions;
pub mod subtasks;
pub mod tasks;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod webhooks;

pub use sqlx::AnyConnection as Connection;
