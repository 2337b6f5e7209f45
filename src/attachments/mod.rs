//! Files attached to tasks: where their bytes live, what type they really are, and the
//! sweep that removes files nothing refers to any more. The rows that describe them
//! are in `db::repo::attachments`; the HTTP surface in `api::attachments`.

pub mod content;
pub mod store;
pub mod sweep;

pub use store::AttachmentStore;
