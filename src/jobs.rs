//! Scheduled jobs (tokio-cron-scheduler). Each schedule is a cron string from the
//! configuration; an empty string disables the job. Every run is measured (runs by
//! outcome, duration, last success).
//!
//! Both jobs here are safe on several replicas without coordination: the gauges are
//! read-only and the cleanup deletes only rows that are expired for everyone.

use std::{future::Future, pin::Pin, sync::Arc, time::Instant};

use tokio_cron_scheduler::{Job, JobScheduler};
use tracing::Instrument;

use crate::{db::repo, domain::now_millis, state::AppState};

type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;
type JobFn = fn(AppState) -> JobFuture;

pub async fn start(state: AppState) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new().await?;
    let jobs: [(&str, String, JobFn); 2] = [
        ("metrics_refresh", state.config.schedule_metrics_refresh.clone(), |s| Box::pin(refresh_gauges(s))),
        ("cleanup", state.config.schedule_cleanup.clone(), |s| Box::pin(cleanup(s))),
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
pub async fn run_measured(name: &'static str, state: AppState, job: impl Future<Output = anyhow::Result<()>>) {
    let span = tracing::info_span!("job", otel.name = name, job = name);
    let start = Instant::now();
    let result = job.instrument(span).await;
    let m = Arc::clone(&state.metrics);
    m.job_duration.with_label_values(&[name]).observe(start.elapsed().as_secs_f64());
    match result {
        Ok(()) => {
            m.job_runs.with_label_values(&[name, "ok"]).inc();
            m.job_last_success.with_label_values(&[name]).set(now_millis() / 1000);
        }
        Err(e) => {
            m.job_runs.with_label_values(&[name, "error"]).inc();
            tracing::error!(job = name, error = %e, "job failed");
        }
    }
}

/// Refreshes the open and overdue task gauges with one indexed count.
pub async fn refresh_gauges(state: AppState) -> anyhow::Result<()> {
    let mut c = state.db.conn().await?;
    let (open, overdue) = repo::tasks::open_and_overdue(&state.db, &mut c, now_millis()).await?;
    state.metrics.tasks_open.set(open);
    state.metrics.tasks_overdue.set(overdue);
    Ok(())
}

/// Deletes expired sessions, idempotency keys, old sign-in failures and long-expired
/// tokens.
pub async fn cleanup(state: AppState) -> anyhow::Result<()> {
    let mut tx = state.db.begin().await?;
    let removed = repo::idempotency::cleanup(&state.db, &mut tx, now_millis()).await?;
    tx.commit().await?;
    tracing::info!(removed, "cleanup done");
    Ok(())
}
