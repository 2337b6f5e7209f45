//! The orphan sweep, run by the hourly cleanup job: whatever a crash or a failed
//! delete left behind is removed, so no file leaks for ever. Idempotent: a second run
//! finds nothing.
//!
//! - rows whose task is gone (the foreign key cascades, so this is a safety net) are
//!   deleted with their files;
//! - files without a row are deleted once they are older than `grace`: a younger one
//!   may belong to an upload whose row is being written right now;
//! - on the local store, staging files of uploads a crash interrupted, as old.

use std::time::{Duration, SystemTime};

use futures::StreamExt;

use crate::{db::repo, state::AppState};

/// Files looked up in the database at once.
const BATCH: usize = 200;

/// What one sweep removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub rows: usize,
    pub files: usize,
}

/// How old a file without a row must be to be deleted: longer than any upload may
/// take (`attachment_upload_timeout` bounds one), with a wide margin.
pub fn grace(upload_timeout: Duration) -> Duration {
    (upload_timeout * 2).max(Duration::from_secs(3600))
}

pub async fn run(state: &AppState) -> anyhow::Result<Swept> {
    let db = &state.db;
    let store = &state.attachments;
    let mut swept = Swept::default();

    let mut tx = db.begin().await?;
    let dangling = repo::attachments::delete_dangling(db, &mut tx).await?;
    tx.commit().await?;
    for key in &dangling {
        store.delete(key).await?;
    }
    swept.rows = dangling.len();

    let cutoff = SystemTime::now() - grace(state.config.attachment_upload_timeout);
    let mut listing = store.list();
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let next = listing.next().await.transpose()?;
        if let Some(meta) = &next {
            if SystemTime::from(meta.last_modified) < cutoff {
                batch.push(meta.location.to_string());
            }
        }
        if batch.len() >= BATCH || (next.is_none() && !batch.is_empty()) {
            let known = {
                let mut c = db.conn().await?;
                repo::attachments::known_keys(db, &mut c, &batch).await?
            };
            for key in batch.drain(..).filter(|k| !known.contains(k)) {
                tracing::info!(key, "deleting an attachment file without a row");
                store.delete(&key).await?;
                swept.files += 1;
            }
        }
        if next.is_none() {
            break;
        }
    }
    if let Some(dir) = store.local_dir() {
        swept.files += remove_stale_staging(dir, cutoff)?;
    }
    state.metrics.attachment_orphans_removed.inc_by((swept.rows + swept.files) as u64);
    Ok(swept)
}

/// Staging files (`<key>#<n>`) older than the cutoff: an upload a crash interrupted.
fn remove_stale_staging(dir: &std::path::Path, cutoff: SystemTime) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        let meta = entry.metadata()?;
        if meta.is_dir() {
            removed += remove_stale_staging(&path, cutoff)?;
            continue;
        }
        let staging = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.rsplit_once('#'))
            .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if staging && meta.modified()? < cutoff {
            tracing::info!(path = %path.display(), "deleting an interrupted upload");
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}
