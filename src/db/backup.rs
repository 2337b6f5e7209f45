//! Online backups of the SQLite database (`VACUUM INTO`): a consistent copy taken
//! while the service keeps serving, written under a temporary name and renamed, so a
//! file named `task-manager-*.db` in the backup directory is always complete.
//! PostgreSQL is backed up by its own tooling (RDS automated backups).

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{op, Backend, Db};

const PREFIX: &str = "task-manager-";
const SUFFIX: &str = ".db";

/// Writes a new backup into `dir` and deletes all but the newest `keep`. Returns its path.
pub async fn run(db: &Db, dir: &Path, keep: usize) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ");
    let path = dir.join(format!("{PREFIX}{stamp}{SUFFIX}"));
    write(db, &path).await?;
    prune(dir, keep.max(1))?;
    Ok(path)
}

/// Writes a consistent copy of the database to `path` (which must not exist).
pub async fn write(db: &Db, path: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(db.backend == Backend::Sqlite, "backups are for SQLite; back PostgreSQL up with its own tools");
    anyhow::ensure!(!path.exists(), "{} exists already", path.display());
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let target = partial.to_str().context("backup path is not UTF-8")?.to_owned();
    let mut c = db.conn().await?;
    let sql = "vacuum into $1";
    db.observe(op::BACKUP, sql, sqlx::query(sql).bind(&target).execute(&mut *c)).await.context("vacuum into")?;
    drop(c);
    std::fs::rename(&partial, path).with_context(|| format!("renaming the backup to {}", path.display()))?;
    Ok(())
}

/// Deletes the oldest backups beyond `keep` (names sort by time).
fn prune(dir: &Path, keep: usize) -> anyhow::Result<()> {
    let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(keep);
    for old in &backups[..excess] {
        std::fs::remove_file(old).with_context(|| format!("deleting {}", old.display()))?;
        tracing::info!(path = %old.display(), "old backup deleted");
    }
    Ok(())
}
