//! The recurrence picker without JavaScript: a rule set with the task form and shown
//! back, refused choices re-shown with the message and nothing saved, and completing
//! from a list row's status form saying the next occurrence was created.

use crate::{both, common::TestApp, support::Browser};

async fn rule_of(app: &TestApp, id: i64) -> Option<String> {
    sqlx::query_scalar("select recurrence from task where id = $1")
        .bind(id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

both!(picker_sets_refuses_and_completes, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("pia").await;
    let pid = br.project("Chores").await;
    let tid = br.task(pid, "Take out the bins").await;
    let page = br.get(&format!("/tasks/{tid}")).await;
    assert!(page.body.contains("<option value=\"none\" selected>Does not repeat</option>"), "no rule yet");
    let form = format!("/tasks/{tid}");

    // No due date: refused with the reason, the choice kept, nothing saved.
    let res = br
        .post(&form, &[("version", "1"), ("title", "Take out the bins"), ("repeat", "weekly"), ("repeat_days", "TU")])
        .await;
    assert_eq!(res.status, 422, "{}", res.excerpt());
    assert!(res.body.contains("a recurring task needs a due date"), "{}", res.excerpt());
    assert!(res.body.contains("<option value=\"weekly\" selected>"), "the submitted choice is shown again");
    assert_eq!(rule_of(&app, tid).await, None);
    // A malformed custom rule: the same.
    let res = br
        .post(
            &form,
            &[
                ("version", "1"),
                ("title", "Take out the bins"),
                ("due_at", "2030-01-01T19:00"),
                ("repeat", "custom"),
                ("repeat_rule", "FREQ=OFTEN"),
            ],
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.excerpt());
    assert!(res.body.contains("recurrence is not a valid RRULE"), "{}", res.excerpt());
    assert!(res.body.contains("value=\"FREQ&#x3D;OFTEN\""), "the rule is shown again (escaped)");
    assert_eq!(rule_of(&app, tid).await, None);

    // Every Tuesday, from Tuesday 1 January 2030 at 19:00.
    br.post(
        &form,
        &[
            ("version", "1"),
            ("title", "Take out the bins"),
            ("due_at", "2030-01-01T19:00"),
            ("repeat", "weekly"),
            ("repeat_days", "TU"),
        ],
    )
    .await
    .redirects_to(&form);
    assert_eq!(rule_of(&app, tid).await.as_deref(), Some("FREQ=WEEKLY;BYDAY=TU"));
    let page = br.get(&form).await;
    assert!(page.body.contains("every week on Tue"), "summary on the task page");
    assert!(page.body.contains("value=\"TU\" checked"), "the day is ticked again");
    let list = format!("/projects/{pid}");
    let page = br.get(&list).await;
    assert!(page.body.contains("title=\"Repeats every week on Tue\""), "↻ on the list row");

    // Completing from the list row's status form.
    br.post(&format!("/tasks/{tid}/status"), &[("status", "done"), ("return", &list)]).await.redirects_to(&list);
    let page = br.get(&list).await;
    assert!(page.body.contains("Task completed. The next occurrence was created."), "{}", page.excerpt());
    let next: (i64, i64) = sqlx::query_as("select id, due_at from task where status = 'todo'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(next.1, chrono::DateTime::parse_from_rfc3339("2030-01-08T19:00:00Z").unwrap().timestamp_millis());
    let page = br.get(&form).await;
    assert!(page.body.contains(&format!("href=\"/tasks/{}\"", next.0)), "the completed task links to the next");
    assert!(page.body.contains("completed it and created the next occurrence"), "activity");
});
