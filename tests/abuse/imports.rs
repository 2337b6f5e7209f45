//! Hostile imports: files shaped to make a converter or the writer do quadratic or
//! unbounded work (thousands of labels, label references and checklists in a few
//! MB). Each is refused or completes; while they run, `/healthz/live` and another
//! user's ordinary request keep answering, and a burst beyond the import bound gets
//! 503 with `Retry-After` instead of queueing.

use std::{
    fmt::Write as _,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::{both, common::*};

/// A Todoist CSV whose tasks name `per_task` distinct `@labels` each.
fn todoist_with_labels(tasks: usize, per_task: usize) -> String {
    let mut csv = String::from("TYPE,CONTENT,PRIORITY,INDENT\n");
    for t in 0..tasks {
        let _ = write!(csv, "task,Task {t}");
        for l in 0..per_task {
            let _ = write!(csv, " @l{}", t * per_task + l);
        }
        csv.push_str(",4,1\n");
    }
    csv
}

/// A Trello board with many labels, cards that reference many of them, and many
/// checklists spread over the cards.
fn trello_board(labels: usize, cards: usize, refs_per_card: usize, checklists: usize) -> String {
    let labels_json: Vec<Value> =
        (0..labels).map(|i| json!({"id": format!("lb{i}"), "name": format!("Label {i}"), "color": "green"})).collect();
    let cards_json: Vec<Value> = (0..cards)
        .map(|i| {
            let ids: Vec<String> = (0..refs_per_card).map(|k| format!("lb{}", (i * 7 + k) % labels.max(1))).collect();
            json!({"id": format!("c{i}"), "name": format!("Card {i}"), "idList": "todo", "pos": i, "idLabels": ids})
        })
        .collect();
    let checklists_json: Vec<Value> = (0..checklists)
        .map(|i| {
            json!({"id": format!("cl{i}"), "name": "Steps", "idCard": format!("c{}", i % cards.max(1)), "pos": i,
                "checkItems": [{"id": format!("ci{i}"), "name": "Step", "state": "complete", "pos": 1}]})
        })
        .collect();
    json!({
        "name": "Hostile board",
        "lists": [{"id": "todo", "name": "To do", "pos": 1, "closed": false}],
        "labels": labels_json,
        "cards": cards_json,
        "checklists": checklists_json,
        "actions": [],
    })
    .to_string()
}

/// Probes sent from their own thread and runtime, so a stalled server cannot also
/// stall the prober: `/healthz/live`, and another user's project page.
struct Probes {
    live_ok: usize,
    other_ok: usize,
    failures: Vec<String>,
}

fn probe_until(done: Arc<AtomicBool>, base: String, email: String, project: i64) -> std::thread::JoinHandle<Probes> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            // The client's timeout is the only clock here: a request the server does not
            // answer at all while an import runs counts as a failure.
            let client =
                Client::builder().cookie_store(true).timeout(std::time::Duration::from_secs(30)).build().unwrap();
            let login = json!({"email": email, "password": "correct horse battery"});
            let r = client.post(format!("{base}/api/v1/auth/login")).json(&login).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let mut p = Probes { live_ok: 0, other_ok: 0, failures: vec![] };
            // At least one round after the imports were sent, then until they are answered.
            loop {
                let finished = done.load(Ordering::SeqCst);
                match client.get(format!("{base}/healthz/live")).send().await {
                    Ok(r) if r.status() == StatusCode::OK => p.live_ok += 1,
                    Ok(r) => p.failures.push(format!("live: {}", r.status())),
                    Err(e) => p.failures.push(format!("live: {e}")),
                }
                match client.get(format!("{base}/api/v1/projects/{project}")).send().await {
                    Ok(r) if r.status() == StatusCode::OK => p.other_ok += 1,
                    Ok(r) => p.failures.push(format!("other user: {}", r.status())),
                    Err(e) => p.failures.push(format!("other user: {e}")),
                }
                if finished {
                    return p;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
    })
}

async fn post(client: &Client, url: String, body: String, content_type: &str) -> (StatusCode, Value) {
    let res = client.post(url).header("content-type", content_type).body(body).send().await.unwrap();
    decode(res).await
}

both!(hostile_imports_are_refused_or_complete_and_others_keep_being_served, |b| async move {
    let app = TestApp::spawn(b).await;
    let (attacker, _) = app.user("mallory").await;
    let (other, _) = app.user("olive").await;
    let (s, project) = app.call(&other, Method::POST, "/api/v1/projects", Some(json!({"name": "Daily work"}))).await;
    assert_eq!(s, 201, "{project}");
    let before_projects = app.count("project").await;

    // About 3 MB each: label lookups and checklist matching used to grow with the
    // product of the counts.
    let todoist = todoist_with_labels(400, 120);
    let trello = trello_board(20_000, 2_000, 100, 5_000);
    assert!(todoist.len() > 300_000 && trello.len() > 2_000_000, "{} {}", todoist.len(), trello.len());

    let done = Arc::new(AtomicBool::new(false));
    let imports = {
        let (c1, c2) = (attacker.clone(), attacker.clone());
        let u1 = app.url("/api/v1/projects/import/todoist");
        let u2 = app.url("/api/v1/projects/import/trello");
        let (t1, t2) = (todoist.clone(), trello.clone());
        let done = done.clone();
        tokio::spawn(async move {
            let answers = tokio::join!(post(&c1, u1, t1, "text/csv"), post(&c2, u2, t2, "application/json"));
            done.store(true, Ordering::SeqCst);
            answers
        })
    };
    let prober = probe_until(done, app.url(""), "olive@example.com".into(), project["id"].as_i64().unwrap());
    let ((s1, r1), (s2, r2)) = imports.await.unwrap();
    let probes = tokio::task::spawn_blocking(move || prober.join().unwrap()).await.unwrap();

    // Refused for what they are (too many labels), or turned away by the bound.
    for (s, r) in [(s1, &r1), (s2, &r2)] {
        assert!(s == 422 || s == 503, "{s}: {r}");
        if s == 422 {
            assert!(r["errors"].as_array().unwrap().iter().any(|e| e["code"] == "too_many"), "{r}");
        }
    }
    assert_eq!(app.count("project").await, before_projects, "a refused import writes nothing");
    assert!(probes.failures.is_empty(), "requests went unanswered during the imports: {:?}", probes.failures);
    assert!(probes.live_ok >= 1 && probes.other_ok >= 1, "{} {}", probes.live_ok, probes.other_ok);

    // A large board within the bounds completes.
    let board = trello_board(200, 2_000, 20, 3_000);
    let (s, r) = post(&attacker, app.url("/api/v1/projects/import/trello"), board, "application/json").await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(
        (r["tasks"].as_i64(), r["labels"].as_i64(), r["checklist_items"].as_i64()),
        (Some(2000), Some(200), Some(3000))
    );
});

both!(imports_beyond_the_bound_get_503_with_retry_after, |b| async move {
    let app = TestApp::spawn_with(b, |c| c.max_concurrent_imports = 1).await;
    let (user, _) = app.user("burst").await;
    // Another import holds the only permit.
    let held = app.state.imports.clone().acquire_owned().await.unwrap();
    let before = app.count("project").await;
    let doc = json!({"format": "task-manager.project.v1", "name": "Later", "description": "", "archived": false,
        "labels": [], "tasks": [], "relations": []});
    for (path, body, ct) in [
        ("/api/v1/projects/import", doc.to_string(), "application/json"),
        ("/api/v1/projects/import/trello", trello_board(1, 1, 1, 1), "application/json"),
        ("/api/v1/projects/import/todoist", todoist_with_labels(1, 1), "text/csv"),
    ] {
        let res = user.post(app.url(path)).header("content-type", ct).body(body).send().await.unwrap();
        let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        let (s, p) = decode(res).await;
        assert_eq!(s, 503, "{path}: {p}");
        assert_problem_shape(s, &p);
        assert_eq!(retry.as_deref(), Some("1"), "{path}");
    }
    assert_eq!(app.count("project").await, before);
    drop(held);
    let (s, r) = app.call(&user, Method::POST, "/api/v1/projects/import", Some(doc)).await;
    assert_eq!(s, 201, "{r}");
});
