//! Scheduled jobs (tokio-cron-scheduler). Each schedule is a cron string from the
//! configuration; an empty string disables the job. Every run is measured (runs by
//! outcome, duration, last success).
//!
//! Every job is safe on several replicas: the gauges are per replica and read-only,
//! the outbox sender claims rows (`FOR UPDATE SKIP LOCKED`), and the cleanup and the
//! reminder and digest scans run under a PostgreSQL advisory lock (one replica per
//! run; the others count a `skipped` run), the scans on top of their exactly-once
//! deduplication keys. The backup runs on SQLite only,
//! which serves a single process.

use std::{future::Future, pin::Pin, sync::Arc, time::Instant};

use tokio_cron_scheduler::{Job, JobScheduler};
use tracing::Instrument;

use crate::{
    db::{repo, Backend},
    domain::now_millis,
    notify,
    state::AppState,
};

/// What a job run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    Done,
    /// Another replica holds the job's lock.
    Skipped,
}

type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<Ran>> + Send>>;
type JobFn = fn(AppState) -> JobFuture;

pub async fn start(state: AppState) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new().await?;
    let c = &state.config;
    let backup_schedule = if state.db.backend == Backend::Sqlite { c.schedule_backup.clone() } else { String::new() };
    let jobs: [(&str, String, JobFn); 6] = [
        ("metrics_refresh", c.schedule_metrics_refresh.clone(), |s| Box::pin(refresh_gauges(s))),
        ("cleanup", c.schedule_cleanup.clone(), |s| Box::pin(cleanup(s))),
        ("outbox", c.schedule_outbox.clone(), |s| Box::pin(deliver(s))),
        ("due_soon", c.schedule_due_soon.clone(), |s| Box::pin(due_soon(s))),
        ("digest", c.schedule_digest.clone(), |s| Box::pin(digest(s))),
        ("backup", backup_schedule, |s| Box::pin(backup(s))),
    ];
    for (name, schedule, run) in jobs {
        if schedule.trim().is_empty() {
            tracing::info!(job = name, "job disabled (empty schedule)");
            continue;
        }
        state.metrics.declare_job(name);
        let state = state.clone();
        let job = Job::new_async(schedule.as_str(), move |_id, _lock| {
            let state = state.clone();
            Box::pin(async move { run_measured(name, state.clone(), run(state)).await })
        })
        .map_err(|e| anyhow::anyhow!("schedule of job {name} ({schedule}): {e}"))?;
        scheduler.add(job).await?;
    }
    scheduler.start().await?;
    Ok(scheduler)
}

pub async fn stop(mut scheduler: JobScheduler) {
    let _ = scheduler.shutdown().await;
}

/// Runs one job, recording its outcome, duration and last success.
pub async fn run_measured(name: &'static str, state: AppState, job: impl Future<Output = anyhow::Result<Ran>>) {
    let span = tracing::info_span!("job", otel.name = name, job = name);
    let start = Instant::now();
    let result = job.instrument(span).await;
    let m = Arc::clone(&state.metrics);
    m.job_duration.with_label_values(&[name]).observe(start.elapsed().as_secs_f64());
    match result {
        Ok(Ran::Skipped) => {
            m.job_runs.with_label_values(&[name, "skipped"]).inc();
        }
        Ok(Ran::Done) => {
            m.job_runs.with_label_values(&[name, "ok"]).inc();
            m.job_last_success.with_label_values(&[name]).set(now_millis() / 1000);
        }
        Err(e) => {
            m.job_runs.with_label_values(&[name, "error"]).inc();
            tracing::error!(job = name, error = %e, "job failed");
        }
    }
}

/// Refreshes the task and outbox gauges with indexed counts.
pub async fn refresh_gauges(state: AppState) -> anyhow::Result<Ran> {
    let now = now_millis();
    let mut c = state.db.conn().await?;
    let (open, overdue) = repo::tasks::open_and_overdue(&state.db, &mut c, now).await?;
    state.metrics.tasks_open.set(open);
    state.metrics.tasks_overdue.set(overdue);
    let (pending, oldest_ms, dead) = repo::notifications::outbox_stats(&state.db, &mut c, now).await?;
    state.metrics.outbox_pending.set(pending);
    state.metrics.outbox_oldest_age.set(oldest_ms / 1000);
    state.metrics.notifications_dead.set(dead);
    Ok(Ran::Done)
}

/// Delivers the e-mails and webhook calls that are due.
pub async fn deliver(state: AppState) -> anyhow::Result<Ran> {
    let handled = notify::outbox::deliver_due(&state).await?;
    if handled > 0 {
        tracing::info!(handled, "outbox delivered");
    }
    let calls = crate::webhooks::deliver::deliver_due(&state).await?;
    if calls > 0 {
        tracing::info!(calls, "webhooks delivered");
    }
    Ok(Ran::Done)
}

/// Queues the due-soon reminders whose time has come and counts those unsent past
/// their objective (one replica at a time).
pub async fn due_soon(state: AppState) -> anyhow::Result<Ran> {
    let Some(_lock) = state.db.job_lock("due_soon").await? else { return Ok(Ran::Skipped) };
    let queued = notify::schedule::queue_due_soon(&state, now_millis()).await?;
    if queued > 0 {
        tracing::info!(queued, "due-soon reminders queued");
    }
    let missed = notify::schedule::count_missed_reminders(&state, now_millis()).await?;
    if missed > 0 {
        tracing::warn!(missed, "due-soon reminders still unsent past their objective");
    }
    Ok(Ran::Done)
}

/// Queues the daily digests whose local time has come (one replica at a time).
pub async fn digest(state: AppState) -> anyhow::Result<Ran> {
    let Some(_lock) = state.db.job_lock("digest").await? else { return Ok(Ran::Skipped) };
    let queued = notify::schedule::queue_digests(&state, now_millis()).await?;
    if queued > 0 {
        tracing::info!(queued, "digests queued");
    }
    Ok(Ran::Done)
}

/// Writes an online backup of the SQLite database and keeps the newest ones.
pub async fn backup(state: AppState) -> anyhow::Result<Ran> {
    let path = crate::db::backup::run(&state.db, &state.config.backup_dir, state.config.backup_keep).await?;
    tracing::info!(path = %path.display(), "backup written");
    Ok(Ran::Done)
}

/// Deletes expired sessions, idempotency keys, old sign-in failures and long-expired
/// tokens, and sweeps attachment files that nothing refers to.
pub async fn cleanup(state: AppState) -> anyhow::Result<Ran> {
    let Some(_lock) = state.db.job_lock("cleanup").await? else { return Ok(Ran::Skipped) };
    let mut tx = state.db.begin().await?;
    let removed = repo::idempotency::cleanup(&state.db, &mut tx, now_millis()).await?;
    tx.commit().await?;
    let swept = crate::attachments::sweep::run(&state).await?;
    tracing::info!(removed, orphan_rows = swept.rows, orphan_files = swept.files, "cleanup done");
    Ok(Ran::Done)
}
