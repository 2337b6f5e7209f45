//! The task flows without JavaScript: add, edit every field, complete, comment, move
//! on the board, filter and search in the URL, "My tasks", and stale edits.

use crate::{
    both,
    common::TestApp,
    support::{link_starting, Browser},
};

both!(create_edit_complete_comment_and_move, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("paula").await;
    let pid = br.project("Launch").await;
    let page = br.get(&format!("/projects/{pid}/board")).await;
    assert!(page.body.contains("Nothing here."), "empty columns say so");
    let page = br.get(&format!("/projects/{pid}")).await;
    assert!(page.body.contains("No tasks yet."), "empty list says what to do");

    // A label, then a task with every field set.
    br.get(&format!("/projects/{pid}/settings")).await;
    br.post(&format!("/projects/{pid}/labels"), &[("name", "backend"), ("color", "#aa3300")])
        .await
        .redirects_to(&format!("/projects/{pid}/settings"));
    let label_id: i64 = {
        let page = br.get(&format!("/projects/{pid}/settings")).await;
        assert!(page.body.contains("backend"));
        let l = link_starting(&page.body, &format!("/projects/{pid}/labels/")).unwrap_or_default();
        if l.is_empty() {
            let marker = format!("action=\"/projects/{pid}/labels/");
            let start = page.body.find(&marker).unwrap() + marker.len();
            page.body[start..].split('/').next().unwrap().parse().unwrap()
        } else {
            l.split('/').nth(4).unwrap().parse().unwrap()
        }
    };
    let tid = br.task(pid, "Write the release notes").await;
    let me = sqlx::query_scalar::<_, i64>("select id from app_user where email = 'paula@example.com'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
        .to_string();
    let label = label_id.to_string();
    br.get(&format!("/tasks/{tid}")).await;
    let res = br
        .post(
            &format!("/tasks/{tid}"),
            &[
                ("version", "1"),
                ("title", "Write the release notes v2"),
                ("description", "# Notes\n\n* one\n* two"),
                ("status", "in_progress"),
                ("priority", "urgent"),
                ("due_at", "2020-01-02T09:30"),
                ("assignee_id", &me),
                ("labels", &label),
            ],
        )
        .await;
    res.redirects_to(&format!("/tasks/{tid}"));
    let page = br.get(&format!("/tasks/{tid}")).await;
    let body = &page.body;
    assert!(body.contains("Task saved."), "flash after the redirect");
    assert!(body.contains("Write the release notes v2"));
    assert!(body.contains("<h1>Notes</h1>") && body.contains("<li>one</li>"), "Markdown rendered");
    assert!(body.contains("In progress") && body.contains("Urgent") && body.contains("backend"));
    assert!(body.contains("Thu 2 Jan 2020, 09:30") && body.contains("Overdue"), "due date in the zone, overdue");
    assert!(body.contains("changed the status") && body.contains("changed the title"), "activity");

    // Stale version: refused with the submitted values kept, nothing written.
    let res = br
        .post(
            &format!("/tasks/{tid}"),
            &[("version", "1"), ("title", "Stale title"), ("status", "todo"), ("priority", "low")],
        )
        .await;
    assert_eq!(res.status, 409, "{}", res.excerpt());
    assert!(res.body.contains("Someone else changed this task") && res.body.contains("Stale title"));
    // Invalid title: 422 with the message.
    let res = br
        .post(&format!("/tasks/{tid}"), &[("version", "2"), ("title", "  "), ("status", "todo"), ("priority", "low")])
        .await;
    assert_eq!(res.status, 422, "{}", res.excerpt());
    assert!(res.body.contains("role=\"alert\""));

    // My tasks: overdue in my zone.
    let page = br.get("/my-tasks").await;
    let overdue = &page.body[page.body.find("id=\"g-overdue\"").unwrap()..page.body.find("id=\"g-today\"").unwrap()];
    assert!(overdue.contains("Write the release notes v2"), "{}", page.excerpt());

    // Complete it with the status form, comment on it.
    br.get(&format!("/projects/{pid}")).await;
    br.post(&format!("/tasks/{tid}/status"), &[("status", "done"), ("return", &format!("/projects/{pid}"))])
        .await
        .redirects_to(&format!("/projects/{pid}"));
    let page = br.get(&format!("/tasks/{tid}")).await;
    assert!(page.body.contains("<dt>Completed</dt>"), "completed_at shown");
    assert!(!page.body.contains("<strong class=\"overdue\">"), "done is not overdue");
    br.post(&format!("/tasks/{tid}/comments"), &[("body", "Shipped **today**")])
        .await
        .redirects_to(&format!("/tasks/{tid}#comments"));
    let page = br.get(&format!("/tasks/{tid}")).await;
    assert!(page.body.contains("Shipped <strong>today</strong>"));

    // The board's move form: to the top of "To do".
    let other = br.task(pid, "Other").await;
    br.get(&format!("/projects/{pid}/board")).await;
    br.post(&format!("/tasks/{tid}/move"), &[("status", "todo"), ("place", "top")])
        .await
        .redirects_to(&format!("/projects/{pid}/board"));
    let page = br.get(&format!("/projects/{pid}/board")).await;
    let todo = &page.body
        [page.body.find("data-column=\"todo\"").unwrap()..page.body.find("data-column=\"in_progress\"").unwrap()];
    let first = todo.find(&format!("data-task=\"{tid}\"")).unwrap();
    let second = todo.find(&format!("data-task=\"{other}\"")).unwrap();
    assert!(first < second, "moved to the top");

    // Delete.
    br.get(&format!("/tasks/{other}")).await;
    br.post(&format!("/tasks/{other}/delete"), &[]).await.redirects_to(&format!("/projects/{pid}"));
    assert_eq!(br.get(&format!("/tasks/{other}")).await.status, 404);

    // Archive the project and restore it.
    br.get("/projects").await;
    br.post(&format!("/projects/{pid}/archive"), &[("archived", "true")]).await.redirects_to("/projects");
    let page = br.get("/projects").await;
    assert!(page.body.contains("Archived") && page.body.contains("Restore"));
    br.post(&format!("/projects/{pid}/archive"), &[("archived", "false")]).await.redirects_to("/projects");
});

both!(filters_search_sort_and_pages_live_in_the_url, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("quinn").await;
    let pid = br.project("Search").await;
    for i in 0..5 {
        br.task(pid, &format!("alpha {i}")).await;
    }
    let beta = br.task(pid, "beta one").await;
    br.get(&format!("/projects/{pid}")).await;
    br.post(&format!("/tasks/{beta}/status"), &[("status", "blocked")]).await;

    let page = br.get(&format!("/projects/{pid}?q=ALPHA&sort=created_at&order=desc&limit=2")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("alpha 4") && page.body.contains("alpha 3") && !page.body.contains("alpha 2"));
    assert!(page.body.contains("value=\"ALPHA\""), "the search box keeps the query");
    let next = link_starting(&page.body, &format!("/projects/{pid}?")).unwrap();
    let next = next[next.find("/projects").unwrap()..].to_owned();
    let page2 = br.get(&next).await;
    assert!(
        page2.body.contains("alpha 2") && page2.body.contains("alpha 1") && !page2.body.contains("alpha 4"),
        "{next}"
    );
    assert!(page2.body.contains("First page"));

    let page = br.get(&format!("/projects/{pid}?status=blocked")).await;
    assert!(page.body.contains("beta one") && !page.body.contains("alpha 0"));
    assert!(page.body.contains("value=\"blocked\" checked"), "the filter form shows the filter");
    let page = br.get(&format!("/projects/{pid}?q=nothing-matches")).await;
    assert!(page.body.contains("No task matches these filters."));
    let page = br.get(&format!("/projects/{pid}?sort=size")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("These filters are not valid"), "{}", page.excerpt());
    let page = br.get(&format!("/projects/{pid}?overdue=false&priority=medium&assignee=none&label=")).await;
    assert!(page.body.contains("alpha 0"), "{}", page.excerpt());
    let page = br.get(&format!("/projects/{pid}?due_before=2999-01-01")).await;
    assert!(page.body.contains("No task matches these filters."), "no task has a due date");
});

both!(checklist_on_the_task_page_and_progress_in_the_list, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("chad").await;
    let pid = br.project("Trip").await;
    let tid = br.task(pid, "Pack bags").await;
    let page = br.get(&format!("/tasks/{tid}")).await;
    assert!(page.body.contains("No checklist items."));
    for text in ["Passport", "Tickets"] {
        br.post(&format!("/tasks/{tid}/checklist"), &[("text", text)])
            .await
            .redirects_to(&format!("/tasks/{tid}#checklist"));
        br.get(&format!("/tasks/{tid}")).await;
    }
    let item: i64 = sqlx::query_scalar("select id from checklist_item where text = 'Passport'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    br.post(&format!("/tasks/{tid}/checklist/{item}/toggle"), &[])
        .await
        .redirects_to(&format!("/tasks/{tid}#checklist"));
    let page = br.get(&format!("/tasks/{tid}")).await;
    assert!(page.body.contains("<span class=\"muted\">1/2</span>"), "{}", page.excerpt());
    assert!(page.body.contains("<span class=\"is-done\">Passport</span>"));
    assert!(page.body.contains("changed the checklist"));
    let list = br.get(&format!("/projects/{pid}")).await;
    assert!(list.body.contains("title=\"Checklist items done\">1/2</span>"));
    let board = br.get(&format!("/projects/{pid}/board")).await;
    assert!(board.body.contains("title=\"Checklist items done\">1/2</span>"));
    let res = br.post(&format!("/tasks/{tid}/checklist"), &[("text", "")]).await;
    assert_eq!(res.status, 422);
    br.get(&format!("/tasks/{tid}")).await;
    br.post(&format!("/tasks/{tid}/checklist/{item}/delete"), &[])
        .await
        .redirects_to(&format!("/tasks/{tid}#checklist"));
    assert_eq!(app.count("checklist_item").await, 1);
});
