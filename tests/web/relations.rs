//! Subtasks and relations without JavaScript: the task page's forms, the badges in the
//! list and on the board, and the page that asks before completing a parent.

use crate::{both, common::TestApp, support::Browser};

both!(subtask_parent_and_relation_forms, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("lena").await;
    let pid = br.project("Move house").await;
    let parent = br.task(pid, "Move out").await;
    let other = br.task(pid, "Sign the lease").await;

    br.get(&format!("/tasks/{parent}")).await;
    br.post(&format!("/tasks/{parent}/subtasks"), &[("title", "Book a van")])
        .await
        .redirects_to(&format!("/tasks/{parent}#links"));
    let page = br.get(&format!("/tasks/{parent}")).await;
    assert!(page.body.contains("Book a van</a>"), "{}", page.excerpt());
    assert!(page.body.contains("changed the subtasks"));
    let child: i64 = sqlx::query_scalar("select id from task where title = 'Book a van'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let page = br.get(&format!("/tasks/{child}")).await;
    assert!(page.body.contains(&format!("Subtask of <a href=\"/tasks/{parent}\">#{parent} Move out</a>")));

    // Relations: added by task number, listed under their kind on both pages, removed.
    br.post(&format!("/tasks/{other}/relations"), &[("kind", "blocks"), ("task_id", &format!("#{parent}"))])
        .await
        .redirects_to(&format!("/tasks/{other}#links"));
    let page = br.get(&format!("/tasks/{parent}")).await;
    assert!(page.body.contains("<h3>Is blocked by</h3>"), "{}", page.excerpt());
    assert!(page.body.contains(&format!("#{other} Sign the lease</a>")));
    let page = br.get(&format!("/tasks/{other}")).await;
    assert!(page.body.contains("<h3>Blocks</h3>"));
    let res =
        br.post(&format!("/tasks/{other}/relations"), &[("kind", "blocks"), ("task_id", &parent.to_string())]).await;
    assert_eq!(res.status, 409, "the same relation twice");
    let relation: i64 =
        sqlx::query_scalar("select id from task_relation").fetch_one(app.state.db.pool()).await.unwrap();
    br.get(&format!("/tasks/{other}")).await;
    br.post(&format!("/tasks/{other}/relations/{relation}/delete"), &[])
        .await
        .redirects_to(&format!("/tasks/{other}#links"));
    assert_eq!(app.count("task_relation").await, 0);

    // The parent form: a task of the project, or empty to clear.
    br.get(&format!("/tasks/{other}")).await;
    br.post(&format!("/tasks/{other}/parent"), &[("parent_id", &parent.to_string())])
        .await
        .redirects_to(&format!("/tasks/{other}#links"));
    let list = br.get(&format!("/projects/{pid}")).await;
    assert!(list.body.contains("title=\"Subtasks done\">⤷ 0/2</span>"), "{}", list.excerpt());
    assert!(list.body.contains(&format!("⤴ #{parent}</a>")));
    let res = br.post(&format!("/tasks/{other}/parent"), &[("parent_id", &other.to_string())]).await;
    assert_eq!(res.status, 422);
    br.get(&format!("/tasks/{other}")).await;
    br.post(&format!("/tasks/{other}/parent"), &[("parent_id", "")])
        .await
        .redirects_to(&format!("/tasks/{other}#links"));
    let parent_of: Option<i64> = sqlx::query_scalar(&format!("select parent_id from task where id = {other}"))
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(parent_of, None);
});

both!(completing_a_parent_from_the_board_or_list_asks_first, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("omar").await;
    let pid = br.project("Garden").await;
    let parent = br.task(pid, "Plant trees").await;
    br.get(&format!("/tasks/{parent}")).await;
    br.post(&format!("/tasks/{parent}/subtasks"), &[("title", "Dig holes")]).await;
    let status = |id: i64| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, String>(&format!("select status from task where id = {id}"))
                .fetch_one(app.state.db.pool())
                .await
                .unwrap()
        }
    };
    let child: i64 = sqlx::query_scalar("select id from task where title = 'Dig holes'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();

    // The board's move form: the answer page, nothing changed yet.
    br.get(&format!("/projects/{pid}/board")).await;
    let page = br.post(&format!("/tasks/{parent}/move"), &[("status", "done"), ("place", "bottom")]).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("1 subtask is still open"), "{}", page.excerpt());
    assert!(page.body.contains(&format!("action=\"/tasks/{parent}/status\"")));
    assert_eq!(status(parent).await, "todo");
    // "Complete only this task".
    br.post(&format!("/tasks/{parent}/status"), &[("status", "done"), ("subtasks", "leave")]).await;
    assert_eq!((status(parent).await.as_str(), status(child).await.as_str()), ("done", "todo"));

    // The list's status form, then the same page on its own (as the board's script uses it).
    br.get(&format!("/projects/{pid}")).await;
    br.post(&format!("/tasks/{parent}/status"), &[("status", "todo")]).await;
    let page = br.post(&format!("/tasks/{parent}/status"), &[("status", "done"), ("return", "/projects/x")]).await;
    assert!(page.body.contains("Complete them too"), "{}", page.excerpt());
    let page = br.get(&format!("/tasks/{parent}/complete?return=/projects/{pid}/board")).await;
    assert!(page.body.contains(&format!("href=\"/projects/{pid}/board\">Cancel</a>")), "{}", page.excerpt());
    br.post(&format!("/tasks/{parent}/status"), &[("status", "done"), ("subtasks", "complete")]).await;
    assert_eq!((status(parent).await.as_str(), status(child).await.as_str()), ("done", "done"));
    // With nothing open there is nothing to ask.
    br.get(&format!("/tasks/{parent}/complete")).await.redirects_to(&format!("/tasks/{parent}"));
});
