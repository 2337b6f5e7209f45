//! Imports from Todoist (CSV) and Trello (board JSON), and the export of everything a
//! user can see. The fixtures in `tests/fixtures/` have the shape of real exports.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{both, common::*, helpers::*};

const TODOIST: &str = include_str!("../fixtures/todoist-project.csv");
const TRELLO: &str = include_str!("../fixtures/trello-board.json");

fn task<'a>(doc: &'a Value, title: &str) -> &'a Value {
    doc["tasks"].as_array().unwrap().iter().find(|t| t["title"] == title).unwrap_or_else(|| panic!("no {title}: {doc}"))
}

/// Tasks, labels, checklist items and comments in a report.
fn counts(r: &Value) -> [i64; 4] {
    ["tasks", "labels", "checklist_items", "comments"].map(|k| r[k].as_i64().unwrap_or(-1))
}

fn skipped(report: &Value) -> Vec<String> {
    report["skipped"].as_array().unwrap().iter().map(|s| s["item"].as_str().unwrap().to_owned()).collect()
}

both!(a_todoist_export_imports_with_a_report, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("dana").await;
    let path = "/api/v1/projects/import/todoist?name=Passport%20and%20house";
    let res = send_raw(&app, &owner, Method::POST, path, TODOIST, Some("text/csv")).await;
    assert_eq!(res.status, 201, "{}", res.body);
    let r = &res.body;
    assert_eq!(counts(r), [4, 4, 2, 1], "{r}");
    assert_eq!(skipped(r), ["line 9, RESPONSIBLE", "line 12, DATE"]);
    assert!(r["skipped"][1]["reason"].as_str().unwrap().contains("\"every day\" is not a calendar date"));
    assert_eq!(
        r["columns"],
        json!([
            {"source": "section \"In progress\"", "status": "in_progress", "label": null, "by": "name"},
            {"source": "section \"Garden\"", "status": "todo", "label": "Garden", "by": "label"}
        ])
    );

    let pid = r["project_id"].as_i64().unwrap();
    let (_, doc) = app.call(&owner, Method::GET, &format!("/api/v1/projects/{pid}/export"), None).await;
    assert_eq!(doc["name"], "Passport and house");
    let passport = task(&doc, "Renew passport");
    assert_eq!((&passport["priority"], &passport["status"]), (&json!("urgent"), &json!("todo")));
    assert_eq!(passport["labels"], json!(["errands"]));
    assert_eq!(passport["due_at"], "2026-03-10T22:59:00Z", "end of the day in Europe/Paris");
    assert_eq!(passport["description"], "Photos first");
    assert_eq!(
        passport["checklist"],
        json!([{"text": "Book photo booth", "done": false}, {"text": "Find old passport", "done": false}])
    );
    assert_eq!(passport["comments"][0]["body"], "Dana wrote in Todoist:\n\nThe booth at the station takes cards");
    assert_eq!(passport["comments"][0]["created_at"], "2026-02-01T09:15:00Z");
    let fence = task(&doc, "Paint the fence");
    assert_eq!((&fence["priority"], &fence["status"]), (&json!("high"), &json!("in_progress")));
    assert_eq!((&fence["labels"], &fence["assignee"]), (&json!(["home", "weekend"]), &Value::Null));
    assert_eq!(fence["due_at"], "2026-04-04T08:00:00Z");
    let ferns = task(&doc, "Water the ferns");
    assert_eq!(
        (&ferns["priority"], &ferns["due_at"], &ferns["labels"]),
        (&json!("medium"), &Value::Null, &json!(["Garden", "home"]))
    );
    assert_eq!(task(&doc, "Order seeds")["priority"], "low");
});

both!(a_trello_board_imports_with_a_report, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("lena").await;
    let res =
        send_raw(&app, &owner, Method::POST, "/api/v1/projects/import/trello", TRELLO, Some("application/json")).await;
    assert_eq!(res.status, 201, "{}", res.body);
    let r = &res.body;
    assert_eq!(counts(r), [3, 4, 2, 2], "{r}");
    assert_eq!(skipped(r), ["lists[3]", "cards[3]", "cards[4]", "cards[1].attachments"]);
    assert!(r["skipped"][1]["reason"].as_str().unwrap().contains("\"Old banner\" is archived"));
    let by: Vec<(&str, &str, &str)> = r["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["source"].as_str().unwrap(), c["status"].as_str().unwrap(), c["by"].as_str().unwrap()))
        .collect();
    assert_eq!(
        by,
        [
            ("list \"To Do\"", "todo", "name"),
            ("list \"This sprint\"", "in_progress", "order"),
            ("list \"Done ✔\"", "done", "name")
        ]
    );

    let pid = r["project_id"].as_i64().unwrap();
    let (_, doc) = app.call(&owner, Method::GET, &format!("/api/v1/projects/{pid}/export"), None).await;
    assert_eq!(doc["name"], "Website relaunch");
    let colours: Vec<(String, String)> = doc["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["name"].as_str().unwrap().to_owned(), l["color"].as_str().unwrap().to_owned()))
        .collect();
    assert!(
        colours.contains(&("Design".into(), "#c377e0".into())) && colours.contains(&("Bug".into(), "#eb5a46".into())),
        "{colours:?}"
    );
    let palette = task(&doc, "New colour palette");
    assert_eq!(palette["status"], "in_progress");
    assert_eq!(palette["labels"], json!(["Design", "This sprint"]));
    assert_eq!(palette["due_at"], "2026-05-04T16:00:00Z");
    assert_eq!(palette["description"], "Use the **brand** colours.");
    assert_eq!(
        palette["checklist"],
        json!([{"text": "Draft three options", "done": true}, {"text": "Review with marketing", "done": false}])
    );
    let comments: Vec<&str> =
        palette["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(
        comments,
        [
            "Lena Park wrote on Trello:\n\nFirst drafts are in the shared folder.",
            "Ravi Shah wrote on Trello:\n\nMarketing likes option B."
        ]
    );
    assert_eq!(palette["comments"][0]["author"], "lena@example.com", "the importing user is the author");
    assert_eq!(task(&doc, "Broken link in footer")["labels"], json!(["Bug", "green"]));
    assert_eq!(task(&doc, "Launch announcement")["status"], "done");
    assert!(doc["tasks"].as_array().unwrap().iter().all(|t| t["title"] != "Old banner" && t["title"] != "Flash intro"));
});

both!(malformed_and_oversized_imports_write_nothing, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("mo").await;
    let (reader, _) = app.user("rita").await;
    let (_, ro) = create_token(&app, &reader, "read").await;
    let before = snapshot(&app).await;
    let todoist = "/api/v1/projects/import/todoist";
    let trello = "/api/v1/projects/import/trello";
    let header = "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE\n";
    let cases: Vec<(&str, String, &str)> = vec![
        (todoist, format!("{header}task,Fine,,4,1,,,,,\ntask,Bad,,9,1,,,,,\n"), "line 3, PRIORITY"),
        (todoist, format!("{header}task,Fine,,4,1,,,,,\ntask,Short row\n"), "line 3"),
        (todoist, format!("{header}task,A,,4,x,,,,,\n"), "line 2, INDENT"),
        (todoist, format!("{header}chore,A,,4,1,,,,,\n"), "line 2, TYPE"),
        (todoist, "Title,Due\nA,2026-01-01\n".into(), "line 1"),
        (trello, "{\"name\": \"B\",\n \"cards\": [\n".into(), "line 3, column 0"),
        (trello, r#"{"name": "B", "cards": [{"id": "c1", "name": "A", "idList": 7}]}"#.into(), "cards[0].idList"),
    ];
    for (path, body, place) in cases {
        let res = send_raw(&app, &owner, Method::POST, path, body.clone(), Some("text/csv")).await;
        assert_eq!(res.status, 422, "{path} {body}: {}", res.body);
        assert_eq!(res.fields(), [place], "{path} {body}: {}", res.body);
    }
    // The whole document is checked before anything is written: the second task is bad.
    let res = send_raw(
        &app,
        &owner,
        Method::POST,
        todoist,
        format!("{header}task,Fine,,4,1,,,,,\ntask,Bad,,0,1,,,,,\n"),
        None,
    )
    .await;
    assert_eq!(res.status, 422);
    // Just over 10 MiB: the server stops reading at the limit, so only a little is unsent.
    let row = "task,Filler,,4,1,,,,,\n";
    let big = format!("{header}{}", row.repeat(10 * 1024 * 1024 / row.len() + 1));
    let res = send_raw(&app, &owner, Method::POST, todoist, big, Some("text/csv")).await;
    assert_eq!(res.status, 413, "{}", res.body);
    assert!(res.body["detail"].as_str().unwrap().contains("10 MiB for imports"), "{}", res.body);
    let res = send_raw(&app, &owner, Method::POST, &format!("{todoist}?colour=red"), TODOIST, Some("text/csv")).await;
    assert_eq!((res.status.as_u16(), res.fields()), (422, vec!["colour".to_string()]));
    let res = send_raw(&app, &bearer(&ro), Method::POST, trello, TRELLO, Some("application/json")).await;
    assert_eq!(res.status, 403, "a read-only token cannot import");
    assert_unchanged(&before, &snapshot(&app).await, "refused imports");
    assert_eq!(app.count("task").await, 0);
});

both!(me_export_holds_exactly_my_projects, |b| async move {
    let app = TestApp::spawn(b).await;
    let (ann, _) = app.user("ann").await;
    let (ben, _) = app.user("ben").await;
    let (_, _) = app.user("cy").await;
    let mine = create_project(&app, &ann, "Ann's own").await;
    let shared = create_project(&app, &ben, "Ben shares").await;
    let private = create_project(&app, &ben, "Ben's private").await;
    add_member(&app, &ben, shared, "ann", "viewer").await;
    create_task(&app, &ann, mine, json!({"title": "Mine"})).await;
    create_task(&app, &ben, shared, json!({"title": "Shared work"})).await;
    create_task(&app, &ben, private, json!({"title": "Secret"})).await;
    app.call(&ann, Method::PATCH, &format!("/api/v1/projects/{mine}"), Some(json!({"archived": true}))).await;

    let (_, ro) = create_token(&app, &ann, "read").await;
    let res = bearer(&ro).get(app.url("/api/v1/me/export")).send().await.unwrap();
    assert_eq!(res.status(), 200, "a read-only token may export");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let doc: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(doc["format"], "task-manager.account.v1");
    assert_eq!(doc["user"]["email"], "ann@example.com");
    assert!(doc["user"].get("password_hash").is_none());
    let mut names: Vec<&str> =
        doc["projects"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["Ann's own", "Ben shares"], "archived included, other people's private projects not");
    let text = doc.to_string();
    assert!(text.contains("Shared work") && text.contains("Mine") && !text.contains("Secret"));
    let own = doc["projects"].as_array().unwrap().iter().find(|p| p["name"] == "Ann's own").unwrap();
    assert_eq!(own["format"], "task-manager.project.v1");
    assert_eq!(own["archived"], true);

    // Cy sees no project; anonymous callers are refused.
    let (cy, _) = app.user("cy2").await;
    let (s, doc) = app.call(&cy, Method::GET, "/api/v1/me/export", None).await;
    assert_eq!((s.as_u16(), doc["projects"].clone()), (200, json!([])));
    assert_eq!(app.client().get(app.url("/api/v1/me/export")).send().await.unwrap().status(), 401);
});
