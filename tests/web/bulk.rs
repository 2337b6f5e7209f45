//! The list view's bulk form without JavaScript: tick tasks, change them, delete them.

use crate::{both, common::TestApp, support::Browser};

both!(bulk_form_changes_and_deletes_the_ticked_tasks, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("bo").await;
    let pid = br.project("Chores").await;
    let a = br.task(pid, "Dishes").await;
    let b2 = br.task(pid, "Laundry").await;
    let c = br.task(pid, "Plants").await;
    let list = format!("/projects/{pid}");
    let page = br.get(&list).await;
    assert!(page.body.contains(&format!("name=\"task_ids\" value=\"{a}\" form=\"bulk-form\"")));
    assert!(page.body.contains("Apply to selected") && page.body.contains("Delete selected"));

    let (sa, sb) = (a.to_string(), b2.to_string());
    br.post(
        &format!("/projects/{pid}/bulk"),
        &[
            ("task_ids", &sa),
            ("task_ids", &sb),
            ("op", "update"),
            ("status", "done"),
            ("priority", "high"),
            ("return", &list),
        ],
    )
    .await
    .redirects_to(&list);
    let rows: Vec<(i64, String, i64)> = sqlx::query_as("select id, status, priority from task order by id")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(rows, vec![(a, "done".into(), 2), (b2, "done".into(), 2), (c, "todo".into(), 1)]);

    // Nothing ticked: an error page, nothing changed.
    let res = br.post(&format!("/projects/{pid}/bulk"), &[("op", "delete"), ("return", &list)]).await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("Tick at least one task first."));

    br.post(
        &format!("/projects/{pid}/bulk"),
        &[("task_ids", &sa), ("task_ids", &sb), ("op", "delete"), ("return", &list)],
    )
    .await
    .redirects_to(&list);
    let left: Vec<i64> = sqlx::query_scalar("select id from task").fetch_all(app.state.db.pool()).await.unwrap();
    assert_eq!(left, vec![c]);
});
