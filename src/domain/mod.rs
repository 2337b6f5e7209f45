//! Domain values with rules. Each has a parsing constructor, so a handler cannot hold
//! an invalid one; the unit tests at the bottom of each file pin the rules.

mod position;
mod project;
mod recurrence;
mod task;
mod text;
mod user;

pub use position::Position;
pub use project::{LabelColor, LabelName, ProjectDescription, ProjectName, Role};
pub use recurrence::Recurrence;
pub use task::{Priority, TaskDescription, TaskStatus, TaskTitle};
pub use text::{bounded_text, is_forbidden_control, reject_controls};
pub use user::{DisplayName, Email, Password, TimeZone};

/// Milliseconds since the Unix epoch, the storage form of every timestamp (identical
/// ordering and arithmetic on SQLite and PostgreSQL).
pub type Millis = i64;

pub fn now_millis() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

pub fn to_rfc3339(ms: Millis) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
