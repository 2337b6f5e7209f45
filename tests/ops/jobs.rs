//! Scheduled jobs on several replicas: a job whose lock another replica holds is
//! skipped (PostgreSQL), and runs once the lock is free. A job that has not run yet is
//! stale from the process start.

use std::time::Duration;

use task_manager::{
    domain::now_millis,
    jobs::{cleanup, Ran},
};

use crate::{common::*, prom};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_is_skipped_while_another_replica_holds_its_lock() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let other = app.state.db.job_lock("cleanup").await.unwrap().expect("the lock is free");
    assert_eq!(cleanup(app.state.clone()).await.unwrap(), Ran::Skipped);
    drop(other);
    assert_eq!(cleanup(app.state.clone()).await.unwrap(), Ran::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_one_process_always_runs_its_jobs() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(cleanup(app.state.clone()).await.unwrap(), Ran::Done);
    assert_eq!(cleanup(app.state.clone()).await.unwrap(), Ran::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_never_ran_is_stale_from_the_process_start() {
    let before = now_millis() / 1000;
    // Once a year: it does not run during the test.
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.schedule_cleanup = "0 0 0 1 1 *".into()).await;
    let after = now_millis() / 1000;
    let last_success = |s: &[prom::Sample], job: &str| {
        prom::value(s, "task_manager_job_last_success_timestamp_seconds", &[("job", job)])
    };
    let mut scrape = Vec::new();
    for _ in 0..200 {
        scrape = prom::parse(&app.metrics().await);
        if last_success(&scrape, "cleanup").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let since = last_success(&scrape, "cleanup").expect("the cleanup job has a last success from the start");
    assert!((before as f64..=after as f64).contains(&since), "{before} <= {since} <= {after}");
    let ok = prom::value(&scrape, "task_manager_job_runs_total", &[("job", "cleanup"), ("outcome", "ok")]);
    assert_eq!(ok, Some(0.0), "it never ran");
    assert_eq!(last_success(&scrape, "digest"), None, "a disabled job has no staleness to watch");
}
