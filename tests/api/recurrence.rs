//! Recurring tasks: completing an occurrence creates the next one in the same call
//! (labels, assignee, checklist unticked), due at the rule's next date in the
//! assignee's (else the creator's) time zone across daylight-saving changes; series
//! end by COUNT and UNTIL; bad rules write nothing; one successor per occurrence; a
//! recurring subtask's successor stays under its parent.

use reqwest::{Client, Method};
use serde_json::{json, Value};
use task_manager::notify::schedule;

use crate::{both, common::*, helpers::*};

async fn patch(app: &TestApp, c: &Client, id: i64, body: Value) -> (u16, Value) {
    let (s, v) = app.call(c, Method::PATCH, &format!("/api/v1/tasks/{id}"), Some(body)).await;
    (s.as_u16(), v)
}

/// Marks a task done; returns the response body.
async fn complete(app: &TestApp, c: &Client, id: i64) -> Value {
    expect(
        "complete",
        app.call(c, Method::PATCH, &format!("/api/v1/tasks/{id}"), Some(json!({"status": "done"}))).await,
        200,
    )
}

async fn set_zone(app: &TestApp, c: &Client, zone: &str) {
    expect("time zone", app.call(c, Method::PATCH, "/api/v1/me", Some(json!({"time_zone": zone}))).await, 200);
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// Creates a recurring task and returns it.
async fn recurring(app: &TestApp, c: &Client, pid: i64, due: &str, rule: &str) -> Value {
    create_task(app, c, pid, json!({"title": "Water the plants", "due_at": due, "recurrence": rule})).await
}

/// The due dates of a series, completing each occurrence in turn from `first`.
async fn due_dates(app: &TestApp, c: &Client, first: &Value, completions: usize) -> Vec<String> {
    let mut out = vec![first["due_at"].as_str().unwrap().to_owned()];
    let mut current = id(first);
    for _ in 0..completions {
        let done = complete(app, c, current).await;
        let Some(next) = done.get("next_occurrence") else { break };
        out.push(next["due_at"].as_str().unwrap().to_owned());
        current = id(next);
    }
    out
}

both!(weekly_rule_completes_into_a_successor, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, owner_id) = app.user("rita").await;
    let pid = create_project(&app, &owner, "Home").await;
    let garden = create_label(&app, &owner, pid, "garden").await;
    let body = json!({
        "title": "Water the plants", "description": "Both balconies", "priority": "high",
        "due_at": "2026-01-05T09:00:00Z", "assignee_id": owner_id, "labels": [garden],
        "recurrence": "rrule:freq=weekly;interval=2;byday=mo,th",
    });
    let task = create_task(&app, &owner, pid, body).await;
    let tid = id(&task);
    assert_eq!(task["recurrence"], "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", "stored in canonical form");
    assert_eq!(task["recurrence_summary"], "every 2 weeks on Mon, Thu");
    assert_eq!(task["recurrence_start"], "2026-01-05T09:00:00Z");
    assert!(task.get("next_occurrence").is_none(), "only a completing call names one");
    let items = format!("/api/v1/tasks/{tid}/checklist");
    for text in ["Fill the can", "Check the soil"] {
        expect("item", app.call(&owner, Method::POST, &items, Some(json!({"text": text}))).await, 201);
    }
    let first_item = expect("items", app.call(&owner, Method::GET, &items, None).await, 200)[0]["id"].clone();
    expect(
        "tick",
        app.call(&owner, Method::PATCH, &format!("{items}/{first_item}"), Some(json!({"done": true}))).await,
        200,
    );

    let done = complete(&app, &owner, tid).await;
    let next = &done["next_occurrence"];
    assert_eq!(next["due_at"], "2026-01-08T09:00:00Z", "Monday's successor is due Thursday: {done}");
    let nid = id(next);
    assert_eq!(done["next_occurrence_id"], nid);
    let succ = get_task(&app, &owner, nid).await;
    assert_eq!(
        (&succ["title"], &succ["description"], &succ["priority"], &succ["status"]),
        (&json!("Water the plants"), &json!("Both balconies"), &json!("high"), &json!("todo"))
    );
    assert_eq!((&succ["labels"], &succ["assignee_id"]), (&json!([garden]), &json!(owner_id)));
    assert_eq!((&succ["recurrence"], &succ["recurrence_start"]), (&task["recurrence"], &task["recurrence_start"]));
    assert!(succ["next_occurrence_id"].is_null() && succ["completed_at"].is_null());
    let copied =
        expect("items", app.call(&owner, Method::GET, &format!("/api/v1/tasks/{nid}/checklist"), None).await, 200);
    let copied: Vec<(&str, bool)> = copied
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["text"].as_str().unwrap(), i["done"].as_bool().unwrap()))
        .collect();
    assert_eq!(copied, vec![("Fill the can", false), ("Check the soil", false)], "checklist copied, unticked");
    // The one after Thursday is Monday two weeks on.
    let third = complete(&app, &owner, nid).await["next_occurrence"].clone();
    assert_eq!(third["due_at"], "2026-01-19T09:00:00Z");

    let activity =
        expect("activity", app.call(&owner, Method::GET, &format!("/api/v1/tasks/{tid}/activity"), None).await, 200);
    assert!(
        activity
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["field"] == "next_occurrence" && a["new_value"].as_str() == Some(nid.to_string().as_str())),
        "{activity}"
    );
    // The successor is reminded like any task: the reminder keys on its id and due date.
    let before_due = chrono::DateTime::parse_from_rfc3339("2026-01-19T08:00:00Z").unwrap().timestamp_millis();
    assert_eq!(schedule::queue_due_soon(&app.state, before_due).await.unwrap(), 1);
    let reminded: Vec<i64> = sqlx::query_scalar("select task_id from notification where kind = 'due_soon'")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(reminded, vec![id(&third)]);
});

both!(daily_nine_oclock_stays_nine_across_daylight_saving, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("berta").await;
    set_zone(&app, &owner, "Europe/Berlin").await;
    let pid = create_project(&app, &owner, "Berlin").await;
    // Berlin moves to summer time on 29 March 2026: 09:00 is 08:00 UTC before, 07:00 after.
    let spring = recurring(&app, &owner, pid, "2026-03-28T09:00:00+01:00", "FREQ=DAILY").await;
    assert_eq!(
        due_dates(&app, &owner, &spring, 2).await,
        ["2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"]
    );
    // And back on 25 October.
    let autumn = recurring(&app, &owner, pid, "2026-10-24T09:00:00+02:00", "FREQ=DAILY").await;
    assert_eq!(due_dates(&app, &owner, &autumn, 1).await, ["2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z"]);

    // The assignee's zone wins over the creator's: New York changes on 8 March 2026.
    let (_, nina_id) = app.user("nina").await;
    add_member(&app, &owner, pid, "nina", "editor").await;
    sqlx::query("update app_user set time_zone = 'America/New_York' where id = $1")
        .bind(nina_id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let body = json!({"title": "Stand-up notes", "due_at": "2026-03-07T09:00:00-05:00", "assignee_id": nina_id,
                      "recurrence": "FREQ=DAILY"});
    let ny = create_task(&app, &owner, pid, body).await;
    assert_eq!(due_dates(&app, &owner, &ny, 1).await, ["2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z"]);
});

both!(monthly_on_the_last_friday, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("mona").await;
    let pid = create_project(&app, &owner, "Payroll").await;
    let task = recurring(&app, &owner, pid, "2026-01-30T15:00:00Z", "FREQ=MONTHLY;BYDAY=-1FR").await;
    assert_eq!(task["recurrence_summary"], "every month on the last Friday");
    assert_eq!(
        due_dates(&app, &owner, &task, 2).await,
        ["2026-01-30T15:00:00Z", "2026-02-27T15:00:00Z", "2026-03-27T15:00:00Z"]
    );
});

both!(count_and_until_end_the_series, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("cora").await;
    let pid = create_project(&app, &owner, "Series").await;
    let counted = recurring(&app, &owner, pid, "2026-01-01T09:00:00Z", "FREQ=DAILY;COUNT=3").await;
    assert_eq!(counted["recurrence_summary"], "daily, 3 times");
    // Three occurrences in all; completing the third creates nothing.
    assert_eq!(
        due_dates(&app, &owner, &counted, 5).await,
        ["2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z", "2026-01-03T09:00:00Z"]
    );
    assert_eq!(app.count("task").await, 3);

    let until = recurring(&app, &owner, pid, "2026-02-01T09:00:00Z", "FREQ=WEEKLY;UNTIL=20260215").await;
    assert_eq!(until["recurrence_summary"], "every week until 2026-02-15");
    assert_eq!(
        due_dates(&app, &owner, &until, 5).await,
        ["2026-02-01T09:00:00Z", "2026-02-08T09:00:00Z", "2026-02-15T09:00:00Z"]
    );
    assert_eq!(app.count("task").await, 6);
    let open: i64 = sqlx::query_scalar("select count(*) from task where status <> 'done'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(open, 0, "every occurrence done, no successor after the last");
});

both!(bad_rules_are_refused_and_write_nothing, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("bea").await;
    let pid = create_project(&app, &owner, "Refusals").await;
    let plain = id(&create_task(&app, &owner, pid, json!({"title": "No due date"})).await);
    let rec = id(&recurring(&app, &owner, pid, "2026-05-04T09:00:00Z", "FREQ=DAILY").await);
    let before = snapshot(&app).await;
    let path = format!("/api/v1/projects/{pid}/tasks");
    let due = "2026-05-04T09:00:00Z";
    let cases = [
        (json!({"title": "t", "due_at": due, "recurrence": "FREQ=SOMETIMES"}), "recurrence", "invalid"),
        (json!({"title": "t", "due_at": due, "recurrence": "FREQ=WEEKLY;BYDAY=XX"}), "recurrence", "invalid"),
        (json!({"title": "t", "due_at": due, "recurrence": "FREQ=HOURLY"}), "recurrence", "unsupported"),
        (json!({"title": "t", "due_at": due, "recurrence": "FREQ=DAILY;INTERVAL=5000"}), "recurrence", "unsupported"),
        (
            json!({"title": "t", "due_at": due, "recurrence": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}),
            "recurrence",
            "never_occurs",
        ),
        (json!({"title": "t", "due_at": due, "recurrence": "FREQ=DAILY;UNTIL=20200101"}), "recurrence", "invalid"),
        (json!({"title": "t", "recurrence": "FREQ=DAILY"}), "recurrence", "due_date_required"),
    ];
    for (body, field, code) in cases {
        let (s, v) = app.call(&owner, Method::POST, &path, Some(body.clone())).await;
        assert_eq!(s, 422, "{body}: {v}");
        assert_problem_shape(s, &v);
        assert_eq!(
            (v["errors"][0]["field"].as_str(), v["errors"][0]["code"].as_str()),
            (Some(field), Some(code)),
            "{v}"
        );
    }
    let (s, v) = patch(&app, &owner, plain, json!({"recurrence": "FREQ=DAILY"})).await;
    assert_eq!((s, v["errors"][0]["code"].as_str()), (422, Some("due_date_required")), "{v}");
    let (s, v) = patch(&app, &owner, rec, json!({"due_at": null})).await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (422, Some("due_at")), "{v}");
    let (s, v) = patch(&app, &owner, rec, json!({"recurrence": "FREQ=MINUTELY", "status": "done"})).await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (422, Some("recurrence")), "{v}");
    let (s, _) = patch(&app, &owner, rec, json!({"recurrence": 7})).await;
    assert!(s == 400 || s == 422, "{s}");
    assert_unchanged(&before, &snapshot(&app).await, "refused recurrence");
});

both!(completing_twice_creates_one_successor, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("dora").await;
    let pid = create_project(&app, &owner, "Twice").await;
    let tid = id(&recurring(&app, &owner, pid, "2026-06-01T09:00:00Z", "FREQ=DAILY").await);
    // A stale If-Match completes nothing.
    let stale = send(
        &app,
        &owner,
        Method::PATCH,
        &format!("/api/v1/tasks/{tid}"),
        Some(json!({"status": "done"})),
        &[("If-Match", "\"9\"")],
    )
    .await;
    assert_eq!(stale.status, 412);
    assert_eq!(app.count("task").await, 1);
    let first = complete(&app, &owner, tid).await;
    let nid = id(&first["next_occurrence"]);
    let (s, reopened) = patch(&app, &owner, tid, json!({"status": "todo"})).await;
    assert_eq!((s, &reopened["next_occurrence_id"]), (200, &json!(nid)), "the link survives reopening");
    let again = complete(&app, &owner, tid).await;
    assert!(again.get("next_occurrence").is_none(), "no second successor: {again}");
    // Through the board's move too.
    patch(&app, &owner, tid, json!({"status": "todo"})).await;
    let moved = expect(
        "move",
        app.call(&owner, Method::POST, &format!("/api/v1/tasks/{tid}/move"), Some(json!({"status": "done"}))).await,
        200,
    );
    assert!(moved.get("next_occurrence").is_none());
    assert_eq!(app.count("task").await, 2);
});

both!(changing_and_removing_the_rule, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("ella").await;
    let pid = create_project(&app, &owner, "Rules").await;
    let tid = id(&recurring(&app, &owner, pid, "2026-06-01T09:00:00Z", "FREQ=DAILY").await);
    // Moving one occurrence keeps the series' start; a new rule starts at the due date.
    let (_, moved) = patch(&app, &owner, tid, json!({"due_at": "2026-06-03T09:00:00Z"})).await;
    assert_eq!(moved["recurrence_start"], "2026-06-01T09:00:00Z");
    let (s, changed) = patch(&app, &owner, tid, json!({"recurrence": "FREQ=WEEKLY;BYDAY=FR"})).await;
    assert_eq!((s, &changed["recurrence_start"]), (200, &json!("2026-06-03T09:00:00Z")), "{changed}");
    assert_eq!(changed["recurrence_summary"], "every week on Fri");
    assert_eq!(changed["version"], 3, "a rule change is a new version");
    let (_, cleared) = patch(&app, &owner, tid, json!({"recurrence": null})).await;
    assert!(cleared["recurrence"].is_null() && cleared["recurrence_summary"].is_null());
    assert!(complete(&app, &owner, tid).await.get("next_occurrence").is_none());
    let activity =
        expect("activity", app.call(&owner, Method::GET, &format!("/api/v1/tasks/{tid}/activity"), None).await, 200);
    let rule_changes = activity.as_array().unwrap().iter().filter(|a| a["field"] == "recurrence").count();
    assert_eq!(rule_changes, 2);
    assert_eq!(app.count("task").await, 1);
});

both!(bulk_completion_creates_successors, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("fay").await;
    let pid = create_project(&app, &owner, "Bulk").await;
    let a = id(&recurring(&app, &owner, pid, "2026-06-01T09:00:00Z", "FREQ=DAILY").await);
    let b2 = id(&recurring(&app, &owner, pid, "2026-06-01T09:00:00Z", "FREQ=WEEKLY").await);
    let plain = id(&create_task(&app, &owner, pid, json!({"title": "Once"})).await);
    let body = json!({"task_ids": [a, b2, plain], "set": {"status": "done"}});
    let r = expect(
        "bulk",
        app.call(&owner, Method::POST, &format!("/api/v1/projects/{pid}/tasks/bulk"), Some(body)).await,
        200,
    );
    let next: Vec<(i64, Option<&str>)> = r["updated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (id(t), t.get("next_occurrence").and_then(|n| n["due_at"].as_str())))
        .collect();
    assert_eq!(next, vec![(a, Some("2026-06-02T09:00:00Z")), (b2, Some("2026-06-08T09:00:00Z")), (plain, None)]);
    assert_eq!(app.count("task").await, 5);
    // A bulk change that would leave a recurring task without a due date is refused whole.
    let before = snapshot(&app).await;
    let open: Vec<i64> = sqlx::query_scalar("select id from task where status = 'todo' order by id")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    let body = json!({"task_ids": open, "set": {"due_at": null}});
    let (s, v) = app.call(&owner, Method::POST, &format!("/api/v1/projects/{pid}/tasks/bulk"), Some(body)).await;
    assert_eq!(s, 422, "{v}");
    assert_unchanged(&before, &snapshot(&app).await, "refused bulk");
});

both!(viewers_cannot_set_a_rule, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("gus").await;
    let (viewer, _) = app.user("vic").await;
    let (outsider, _) = app.user("otto").await;
    let pid = create_project(&app, &owner, "Guarded").await;
    add_member(&app, &owner, pid, "vic", "viewer").await;
    let tid = id(&create_task(&app, &owner, pid, json!({"title": "T", "due_at": "2026-06-01T09:00:00Z"})).await);
    let before = snapshot(&app).await;
    let rule = json!({"recurrence": "FREQ=DAILY"});
    assert_eq!(patch(&app, &viewer, tid, rule.clone()).await.0, 403);
    assert_eq!(patch(&app, &outsider, tid, rule.clone()).await.0, 404);
    let create = json!({"title": "x", "due_at": "2026-06-01T09:00:00Z", "recurrence": "FREQ=DAILY"});
    let (s, _) = app.call(&viewer, Method::POST, &format!("/api/v1/projects/{pid}/tasks"), Some(create)).await;
    assert_eq!(s, 403);
    assert_unchanged(&before, &snapshot(&app).await, "refused rule");
    assert_eq!(get_task(&app, &viewer, tid).await["recurrence"], Value::Null);
});

both!(a_recurring_subtask_completed_with_its_parent_recurs_under_it, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("ines").await;
    let pid = create_project(&app, &owner, "Office").await;
    let parent = id(&create_task(&app, &owner, pid, json!({"title": "Run the office"})).await);
    let body = json!({"title": "Water the plants", "due_at": "2026-03-02T09:00:00Z", "recurrence": "FREQ=WEEKLY",
                      "parent_id": parent});
    let sub = id(&create_task(&app, &owner, pid, body).await);

    let (s, done) = patch(&app, &owner, parent, json!({"status": "done", "complete_subtasks": true})).await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["completed_subtasks"], json!([sub]));
    let sub_done = get_task(&app, &owner, sub).await;
    assert_eq!(sub_done["status"], "done");
    let next = sub_done["next_occurrence_id"].as_i64().expect("the subtask's next occurrence");
    let succ = get_task(&app, &owner, next).await;
    assert_eq!(succ["parent_id"], parent, "{succ}");
    assert_eq!((succ["status"].as_str(), succ["due_at"].as_str()), (Some("todo"), Some("2026-03-09T09:00:00Z")));
    assert_eq!(succ["recurrence"], "FREQ=WEEKLY");
    // The parent's response already lists the new open subtask.
    let mut listed: Vec<(i64, &str)> = done["subtasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_i64().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, vec![(sub, "done"), (next, "todo")], "{done}");
    let activity =
        expect("activity", app.call(&owner, Method::GET, &format!("/api/v1/tasks/{parent}/activity"), None).await, 200);
    let joined = next.to_string();
    assert!(
        activity.as_array().unwrap().iter().any(|a| a["field"] == "subtasks" && a["new_value"] == joined.as_str()),
        "{activity}"
    );

    // Completed on its own, the next occurrence stays under the parent too.
    let again = complete(&app, &owner, next).await;
    let third = get_task(&app, &owner, id(&again["next_occurrence"])).await;
    assert_eq!((third["parent_id"].as_i64(), third["due_at"].as_str()), (Some(parent), Some("2026-03-16T09:00:00Z")));
});
