//! E-mail notifications end to end: the outbox written with the change, scans and the
//! sender driven step by step (no timers), delivery to a real SMTP server process
//! (aiosmtpd), settings, unsubscribe links and an SMTP outage.

use reqwest::{Client, Method};
use serde_json::{json, Value};
use task_manager::{
    config::SmtpTls,
    domain::now_millis,
    notify::{outbox::deliver_due, schedule},
};

use crate::{
    both,
    common::{smtp::SmtpSink, *},
    helpers::*,
};

pub async fn app_with_smtp(b: Backend, sink: &SmtpSink) -> TestApp {
    let port = sink.port;
    TestApp::spawn_with(b, move |c| {
        c.smtp_host = Some("127.0.0.1".into());
        c.smtp_port = Some(port);
        c.smtp_tls = SmtpTls::None;
        c.smtp_from = "Tasks <tasks@example.com>".into();
        c.public_url = "http://tm.example.test".into();
        c.notify_retry_base = std::time::Duration::from_millis(1);
        c.notify_retry_max = std::time::Duration::from_millis(5);
        c.notify_max_attempts = 3;
    })
    .await
}

/// Alice owns a project where Bob is an editor.
async fn team(app: &TestApp) -> (Client, Client, i64, i64) {
    let (alice, _) = app.user("alice").await;
    let (bob, bob_id) = app.user("bob").await;
    let pid = create_project(app, &alice, "Launch").await;
    add_member(app, &alice, pid, "bob", "editor").await;
    (alice, bob, bob_id, pid)
}

async fn status_counts(app: &TestApp) -> Vec<(String, String, i64)> {
    sqlx::query_as("select kind, status, count(*) from notification group by kind, status order by kind, status")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap()
}

fn in_minutes(m: i64) -> String {
    chrono::DateTime::from_timestamp_millis(now_millis() + m * 60_000).unwrap().to_rfc3339()
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines().find(|l| l.starts_with(series)).and_then(|l| l.rsplit(' ').next()?.parse().ok()).unwrap_or(-1.0)
}

both!(assignment_and_comment_emails_reach_the_smtp_server, |b| async move {
    let sink = SmtpSink::start().await;
    let app = app_with_smtp(b, &sink).await;
    let (alice, bob, bob_id, pid) = team(&app).await;
    let task = create_task(
        &app,
        &alice,
        pid,
        json!({"title": "Write <the> launch post", "assignee_id": bob_id, "due_at": in_minutes(3 * 24 * 60)}),
    )
    .await;
    let tid = task["id"].as_i64().unwrap();
    // Assigning yourself sends nothing.
    create_task(&app, &bob, pid, json!({"title": "Mine", "assignee_id": bob_id})).await;
    // Bob comments: Alice (the creator) hears of it, Bob (the author) does not.
    let (s, _) = app
        .call(&bob, Method::POST, &format!("/api/v1/tasks/{tid}/comments"), Some(json!({"body": "On it <b>now</b>"})))
        .await;
    assert_eq!(s, 201);
    assert_eq!(deliver_due(&app.state).await.unwrap(), 2);
    let mails = sink.wait_for(2).await;
    assert_eq!(mails.len(), 2, "{mails:#?}");

    let assigned = mails.iter().find(|m| m.envelope_to == "bob@example.com").expect("bob was told");
    assert_eq!(assigned.subject, "alice assigned you \"Write <the> launch post\"");
    assert!(assigned.to.contains("bob@example.com"));
    assert!(assigned.text.contains("Write <the> launch post") && assigned.text.contains("Launch"));
    assert!(assigned.html.contains("Write &lt;the&gt; launch post"), "HTML escapes: {}", assigned.html);
    let link = format!("http://tm.example.test/tasks/{tid}");
    assert!(assigned.text.contains(&link) && assigned.html.contains(&link));
    let unsubscribe = format!("http://tm.example.test/unsubscribe/{bob_id}.assigned.");
    assert!(assigned.list_unsubscribe.starts_with(&format!("<{unsubscribe}")), "{}", assigned.list_unsubscribe);
    assert_eq!(assigned.list_unsubscribe_post, "List-Unsubscribe=One-Click");
    assert!(assigned.text.contains(&unsubscribe) && assigned.html.contains(&unsubscribe));

    let comment = mails.iter().find(|m| m.envelope_to == "alice@example.com").expect("alice was told");
    assert_eq!(comment.subject, "bob commented on \"Write <the> launch post\"");
    assert!(comment.text.contains("On it <b>now</b>"));
    assert!(comment.html.contains("On it &lt;b&gt;now&lt;/b&gt;") && !comment.html.contains("<b>now"));

    // Sent once: nothing is left to deliver.
    assert_eq!(deliver_due(&app.state).await.unwrap(), 0);
    assert_eq!(sink.messages().len(), 2);
    let m = app.metrics().await;
    assert_eq!(metric(&m, "task_manager_emails_total{kind=\"assigned\",outcome=\"sent\"}"), 1.0);
    assert_eq!(metric(&m, "task_manager_emails_total{kind=\"comment\",outcome=\"sent\"}"), 1.0);
    assert_eq!(metric(&m, "task_manager_email_send_duration_seconds_count"), 2.0);
});

both!(due_soon_is_sent_once_rearmed_by_a_new_due_date_and_cancelled_by_completion, |b| async move {
    let sink = SmtpSink::start().await;
    let app = app_with_smtp(b, &sink).await;
    let (alice, _bob, bob_id, pid) = team(&app).await;
    let t1 =
        create_task(&app, &alice, pid, json!({"title": "Renew cert", "assignee_id": bob_id, "due_at": in_minutes(60)}))
            .await["id"]
            .as_i64()
            .unwrap();
    let t2 = create_task(
        &app,
        &alice,
        pid,
        json!({"title": "Pay invoice", "assignee_id": bob_id, "due_at": in_minutes(90)}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    // Due in 3 days: outside the default 24 h lead.
    create_task(&app, &alice, pid, json!({"title": "Later", "assignee_id": bob_id, "due_at": in_minutes(3 * 24 * 60)}))
        .await;
    deliver_due(&app.state).await.unwrap();
    let assigned = sink.wait_for(3).await.len();
    assert_eq!(assigned, 3, "three assignment mails");

    let now = now_millis();
    assert_eq!(schedule::queue_due_soon(&app.state, now).await.unwrap(), 2);
    assert_eq!(schedule::queue_due_soon(&app.state, now + 1000).await.unwrap(), 0, "once per task and due date");
    // Completing t2 before the sender runs cancels its reminder.
    let (s, _) = app.call(&alice, Method::PATCH, &format!("/api/v1/tasks/{t2}"), Some(json!({"status": "done"}))).await;
    assert_eq!(s, 200);
    assert_eq!(deliver_due(&app.state).await.unwrap(), 1);
    let mails = sink.wait_for(assigned + 1).await;
    let reminder = &mails[assigned];
    assert!(reminder.subject.starts_with("Due ") && reminder.subject.contains("Renew cert"), "{}", reminder.subject);
    assert!(reminder.list_unsubscribe.contains(&format!("/unsubscribe/{bob_id}.due_soon.")));
    assert!(reminder.text.contains(&format!("http://tm.example.test/tasks/{t1}")));

    // A new due date re-arms the reminder.
    let (s, _) =
        app.call(&alice, Method::PATCH, &format!("/api/v1/tasks/{t1}"), Some(json!({"due_at": in_minutes(120)}))).await;
    assert_eq!(s, 200);
    assert_eq!(schedule::queue_due_soon(&app.state, now_millis()).await.unwrap(), 1);
    deliver_due(&app.state).await.unwrap();
    sink.wait_for(assigned + 2).await;
    let counts = status_counts(&app).await;
    assert!(counts.contains(&("due_soon".into(), "sent".into(), 2)), "{counts:?}");
    assert!(counts.contains(&("due_soon".into(), "cancelled".into(), 1)), "{counts:?}");
    let m = app.metrics().await;
    assert_eq!(metric(&m, "task_manager_reminder_delay_seconds_count"), 2.0);
    assert_eq!(metric(&m, "task_manager_reminder_delay_seconds_bucket{le=\"120\"}"), 2.0);
});

both!(the_unsubscribe_link_stops_that_kind_for_that_user_only, |b| async move {
    let sink = SmtpSink::start().await;
    let app = app_with_smtp(b, &sink).await;
    let (alice, bob, bob_id, pid) = team(&app).await;
    let (_carol, carol_id) = app.user("carol").await;
    add_member(&app, &alice, pid, "carol", "editor").await;
    let task = |title: &str, who: i64| json!({"title": title, "assignee_id": who, "due_at": in_minutes(30)});
    create_task(&app, &alice, pid, task("First for bob", bob_id)).await;
    create_task(&app, &alice, pid, task("First for carol", carol_id)).await;
    schedule::queue_due_soon(&app.state, now_millis()).await.unwrap();
    deliver_due(&app.state).await.unwrap();
    let mails = sink.wait_for(4).await;
    let reminder = mails
        .iter()
        .find(|m| m.envelope_to == "bob@example.com" && m.list_unsubscribe.contains(".due_soon."))
        .expect("bob's reminder");
    let url = reminder.list_unsubscribe.trim_matches(['<', '>']).replace("http://tm.example.test", "");

    // A tampered signature is refused; GET (a link scanner) changes nothing.
    let web = app.client();
    let tampered = format!("{}x", &url[..url.len() - 1]);
    assert_eq!(web.post(app.url(&tampered)).send().await.unwrap().status(), 404);
    let page = web.get(app.url(&url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Stop these e-mails?"));
    let settings: Vec<(i64, i64, i64)> = sqlx::query_as("select user_id, due_soon, assigned from notification_setting")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert!(settings.is_empty(), "GET unsubscribed: {settings:?}");
    // The one-click POST of RFC 8058, without any session.
    let done = web
        .post(app.url(&url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("You are unsubscribed"));

    // Bob gets no more reminders but still assignment mails; Carol still gets both.
    let before = sink.messages().len();
    create_task(&app, &alice, pid, task("Second for bob", bob_id)).await;
    create_task(&app, &alice, pid, task("Second for carol", carol_id)).await;
    schedule::queue_due_soon(&app.state, now_millis()).await.unwrap();
    deliver_due(&app.state).await.unwrap();
    let mails = sink.wait_for(before + 3).await;
    let new: Vec<_> = mails[before..].iter().map(|m| (m.envelope_to.clone(), m.subject.clone())).collect();
    assert_eq!(new.len(), 3, "{new:?}");
    assert!(new.iter().any(|(to, s)| to == "bob@example.com" && s.contains("assigned you")), "{new:?}");
    assert!(!new.iter().any(|(to, s)| to == "bob@example.com" && s.starts_with("Due ")), "{new:?}");
    assert_eq!(new.iter().filter(|(to, _)| to == "carol@example.com").count(), 2, "{new:?}");
    let (s, me) = app.call(&bob, Method::GET, "/api/v1/me/notifications", None).await;
    assert_eq!(s, 200);
    assert_eq!(me["due_soon"], false);
    assert_eq!(me["assigned"], true);
});

both!(an_smtp_outage_loses_nothing_and_counts_the_retries, |b| async move {
    let mut sink = SmtpSink::start().await;
    let app = app_with_smtp(b, &sink).await;
    let (alice, _bob, bob_id, pid) = team(&app).await;
    sink.stop();
    for i in 0..3 {
        create_task(&app, &alice, pid, json!({"title": format!("During the outage {i}"), "assignee_id": bob_id})).await;
    }
    // Two failed rounds (max attempts is 3): still pending, failures counted.
    for _ in 0..2 {
        assert_eq!(deliver_due(&app.state).await.unwrap(), 3);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let counts = status_counts(&app).await;
    assert_eq!(counts, vec![("assigned".into(), "pending".into(), 3)]);
    let m = app.metrics().await;
    assert_eq!(metric(&m, "task_manager_emails_total{kind=\"assigned\",outcome=\"failed\"}"), 6.0);
    assert_eq!(metric(&m, "task_manager_emails_total{kind=\"assigned\",outcome=\"sent\"}"), 0.0);
    let error: Option<String> =
        sqlx::query_scalar("select last_error from notification limit 1").fetch_one(app.state.db.pool()).await.unwrap();
    assert!(error.is_some_and(|e| !e.is_empty()));

    sink.restart().await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(deliver_due(&app.state).await.unwrap(), 3);
    let mails = sink.wait_for(3).await;
    let mut titles: Vec<_> = mails.iter().map(|m| m.subject.clone()).collect();
    titles.sort();
    assert_eq!(titles.len(), 3);
    for i in 0..3 {
        assert!(titles[i].contains(&format!("During the outage {i}")), "{titles:?}");
    }
    assert_eq!(status_counts(&app).await, vec![("assigned".into(), "sent".into(), 3)]);
    let m = app.metrics().await;
    assert_eq!(metric(&m, "task_manager_emails_total{kind=\"assigned\",outcome=\"sent\"}"), 3.0);
});

both!(after_every_attempt_fails_a_notification_is_dead, |b| async move {
    let mut sink = SmtpSink::start().await;
    let app = app_with_smtp(b, &sink).await;
    let (alice, _bob, bob_id, pid) = team(&app).await;
    sink.stop();
    create_task(&app, &alice, pid, json!({"title": "Never delivered", "assignee_id": bob_id})).await;
    for _ in 0..3 {
        deliver_due(&app.state).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status_counts(&app).await, vec![("assigned".into(), "dead".into(), 1)]);
    task_manager::jobs::refresh_gauges(app.state.clone()).await.unwrap();
    let m = app.metrics().await;
    assert_eq!(metric(&m, "task_manager_notifications_dead "), 1.0);
    assert_eq!(metric(&m, "task_manager_outbox_pending "), 0.0);
});

/// `task_manager_reminders_total` by outcome.
fn reminders(text: &str, outcome: &str) -> f64 {
    metric(text, &format!("task_manager_reminders_total{{outcome=\"{outcome}\"}}"))
}

both!(during_an_smtp_outage_reminders_count_as_missed_at_their_deadline, |b| async move {
    let mut sink = SmtpSink::start().await;
    let app = app_with_smtp(b, &sink).await;
    let (alice, _bob, bob_id, pid) = team(&app).await;
    let task = |title: &str| json!({"title": title, "assignee_id": bob_id, "due_at": in_minutes(60)});
    create_task(&app, &alice, pid, task("Before the outage")).await;
    assert_eq!(schedule::queue_due_soon(&app.state, now_millis()).await.unwrap(), 1);
    deliver_due(&app.state).await.unwrap();
    sink.wait_for(2).await;
    let m = app.metrics().await;
    assert_eq!(reminders(&m, "on_time"), 1.0);

    sink.stop();
    create_task(&app, &alice, pid, task("During the outage 1")).await;
    create_task(&app, &alice, pid, task("During the outage 2")).await;
    assert_eq!(schedule::queue_due_soon(&app.state, now_millis()).await.unwrap(), 2);
    deliver_due(&app.state).await.unwrap();
    // Failed once, due to be retried: not yet late, and the delay histogram sees nothing.
    assert_eq!(schedule::count_missed_reminders(&app.state, now_millis() + 60_000).await.unwrap(), 0);
    let m = app.metrics().await;
    assert_eq!(reminders(&m, "missed"), 0.0);
    assert_eq!(metric(&m, "task_manager_reminder_delay_seconds_count"), 1.0);

    // The deadline passes with the relay still down: both count as missed, once.
    let past_deadline = now_millis() + task_manager::notify::REMINDER_OBJECTIVE_MS + 1_000;
    assert_eq!(schedule::count_missed_reminders(&app.state, past_deadline).await.unwrap(), 2);
    assert_eq!(schedule::count_missed_reminders(&app.state, past_deadline + 60_000).await.unwrap(), 0);
    assert_eq!(reminders(&app.metrics().await, "missed"), 2.0);

    // A reminder given up before its deadline counts as dead; the two already counted
    // as missed die too, and are not counted again.
    create_task(&app, &alice, pid, task("Given up")).await;
    assert_eq!(schedule::queue_due_soon(&app.state, now_millis()).await.unwrap(), 1);
    for _ in 0..3 {
        deliver_due(&app.state).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(status_counts(&app).await.contains(&("due_soon".into(), "dead".into(), 3)));
    let m = app.metrics().await;
    assert_eq!(
        ["on_time", "late", "missed", "dead", "undeliverable"].map(|o| reminders(&m, o)),
        [1.0, 0.0, 2.0, 1.0, 0.0]
    );
});

both!(without_smtp_notifications_are_recorded_as_undeliverable, |b| async move {
    let app = TestApp::spawn(b).await;
    let (alice, _bob, bob_id, pid) = team(&app).await;
    create_task(&app, &alice, pid, json!({"title": "Nowhere to send", "assignee_id": bob_id})).await;
    task_manager::jobs::refresh_gauges(app.state.clone()).await.unwrap();
    assert_eq!(metric(&app.metrics().await, "task_manager_outbox_pending "), 1.0);
    assert_eq!(deliver_due(&app.state).await.unwrap(), 1);
    assert_eq!(status_counts(&app).await, vec![("assigned".into(), "undeliverable".into(), 1)]);
    let m = app.metrics().await;
    assert_eq!(metric(&m, "task_manager_emails_total{kind=\"assigned\",outcome=\"undeliverable\"}"), 1.0);

    // A reminder with nowhere to go is a failed reminder in the SLI.
    let due = chrono::DateTime::from_timestamp_millis(now_millis() + 3_600_000).unwrap().to_rfc3339();
    create_task(&app, &alice, pid, json!({"title": "Due soon", "assignee_id": bob_id, "due_at": due})).await;
    assert_eq!(schedule::queue_due_soon(&app.state, now_millis()).await.unwrap(), 1);
    deliver_due(&app.state).await.unwrap();
    assert_eq!(reminders(&app.metrics().await, "undeliverable"), 1.0);
});

both!(the_daily_digest_lists_overdue_and_due_today_once_per_local_day, |b| async move {
    let sink = SmtpSink::start().await;
    let app = app_with_smtp(b, &sink).await;
    let (dana, dana_id) = app.user("dana").await;
    let pid = create_project(&app, &dana, "Home").await;
    // Digest at 00:00 local: its time has always come. No reminders, to count digests only.
    let (s, v) = app
        .call(
            &dana,
            Method::PATCH,
            "/api/v1/me/notifications",
            Some(json!({"digest_time": "00:00", "due_soon": false})),
        )
        .await;
    assert_eq!((s.as_u16(), v["digest_time"].as_str()), (200, Some("00:00")));
    create_task(
        &app,
        &dana,
        pid,
        json!({"title": "Overdue chore", "assignee_id": dana_id, "due_at": in_minutes(-120)}),
    )
    .await;
    create_task(
        &app,
        &dana,
        pid,
        json!({"title": "Next month", "assignee_id": dana_id, "due_at": in_minutes(40 * 24 * 60)}),
    )
    .await;
    let now = now_millis();
    assert_eq!(schedule::queue_digests(&app.state, now).await.unwrap(), 1);
    assert_eq!(schedule::queue_digests(&app.state, now + 60_000).await.unwrap(), 0, "one digest per local day");
    deliver_due(&app.state).await.unwrap();
    let mails = sink.wait_for(1).await;
    let digest = &mails[0];
    assert!(
        digest.subject.starts_with("Your tasks for ") && digest.subject.contains("1 overdue"),
        "{}",
        digest.subject
    );
    assert!(digest.text.contains("Overdue chore") && !digest.text.contains("Next month"));
    assert!(digest.html.contains("Overdue chore"));
    assert!(digest.list_unsubscribe.contains(&format!("/unsubscribe/{dana_id}.digest.")));
});

both!(notification_settings_validate_and_refuse_bad_values_without_writing, |b| async move {
    let app = TestApp::spawn(b).await;
    let (c, _) = app.user("erin").await;
    let (s, v) = app.call(&c, Method::GET, "/api/v1/me/notifications", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!({"assigned": true, "due_soon": true, "digest": true, "comment": true,
               "reminder_lead_minutes": 1440, "digest_time": "08:00"})
    );
    for (body, field) in [
        (json!({"reminder_lead_minutes": 1}), "reminder_lead_minutes"),
        (json!({"reminder_lead_minutes": 20000}), "reminder_lead_minutes"),
        (json!({"digest_time": "25:00"}), "digest_time"),
        (json!({"digest_time": "8am", "comment": false}), "digest_time"),
    ] {
        let (s, v) = app.call(&c, Method::PATCH, "/api/v1/me/notifications", Some(body.clone())).await;
        assert_eq!(s, 422, "{body}");
        assert_eq!(field_names(&v), vec![field.to_string()], "{v}");
    }
    for body in [json!({"digest": "yes"}), json!({"unknown": true}), Value::String("x".into())] {
        let (s, _) = app.call(&c, Method::PATCH, "/api/v1/me/notifications", Some(body)).await;
        assert!(s == 400 || s == 422, "{s}");
    }
    assert_eq!(app.count("notification_setting").await, 0, "refused changes wrote nothing");
    let (s, v) = app
        .call(
            &c,
            Method::PATCH,
            "/api/v1/me/notifications",
            Some(json!({"comment": false, "reminder_lead_minutes": 60})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["comment"].as_bool(), v["reminder_lead_minutes"].as_i64(), v["assigned"].as_bool()),
        (Some(false), Some(60), Some(true))
    );
});
