//! Scheduled jobs on several replicas: a job whose lock another replica holds is
//! skipped (PostgreSQL), and runs once the lock is free.

use task_manager::jobs::{cleanup, Ran};

use crate::common::*;

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
