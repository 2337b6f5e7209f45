//! The import form (a multipart upload with the session's CSRF token) and the export
//! links, without JavaScript.

use crate::{
    both,
    common::TestApp,
    support::{Browser, Page},
};

const BOUNDARY: &str = "----task-manager-test-boundary";

/// A multipart form body with text fields and one file.
fn multipart(fields: &[(&str, &str)], file: &str) -> String {
    let mut body = String::new();
    for (k, v) in fields {
        body.push_str(&format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"));
    }
    body.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"export.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{file}\r\n--{BOUNDARY}--\r\n"
    ));
    body
}

async fn upload(br: &Browser<'_>, fields: &[(&str, &str)], file: &str) -> Page {
    let res = br
        .client
        .post(br.app.url("/projects/import"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .header("origin", format!("http://{}", br.app.addr))
        .body(multipart(fields, file))
        .send()
        .await
        .unwrap();
    Page::from(res).await
}

both!(the_import_form_needs_the_token_and_shows_the_report, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("ida").await;
    let page = br.get("/projects").await;
    assert!(page.body.contains("enctype=\"multipart/form-data\"") && page.body.contains("Todoist project (CSV)"));
    let account = br.get("/account").await;
    assert!(account.body.contains("href=\"/api/v1/me/export\""), "the account page links the full export");
    let pid = br.project("Linked").await;
    let settings = br.get(&format!("/projects/{pid}/settings")).await;
    assert!(settings.body.contains(&format!("href=\"/api/v1/projects/{pid}/export\"")));
    assert!(settings.body.contains(&format!("href=\"/api/v1/projects/{pid}/tasks.csv\"")));
    let projects = app.count("project").await;

    let csv = "TYPE,CONTENT,PRIORITY,INDENT\r\ntask,Call the plumber @home,1,1\r\ntask,Fix the tap,4,2\r\n";
    let refused = upload(&br, &[("kind", "todoist")], csv).await;
    assert_eq!(refused.status, 403, "no CSRF token");
    let token = br.csrf.clone();
    let refused = upload(&br, &[("_csrf", "wrong"), ("kind", "todoist")], csv).await;
    assert_eq!(refused.status, 403, "a wrong CSRF token");

    let bad =
        upload(&br, &[("_csrf", &token), ("kind", "todoist")], "TYPE,CONTENT,PRIORITY,INDENT\r\ntask,A,9,1\r\n").await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("Nothing was imported") && bad.body.contains("line 2, PRIORITY"), "{}", bad.excerpt());
    assert_eq!(app.count("project").await, projects, "refused uploads write nothing");

    let done = upload(&br, &[("_csrf", &token), ("kind", "todoist"), ("name", "House")], csv).await;
    assert_eq!(done.status, 200, "{}", done.excerpt());
    assert!(done.body.contains("Import finished") && done.body.contains("Open the new project"));
    assert!(done.body.contains("<span class=\"import-count\">1</span> Tasks"), "{}", done.excerpt());
    assert!(done.body.contains("<span class=\"import-count\">1</span> Checklist items"));
    let (name, title): (String, String) = sqlx::query_as(
        "select p.name, t.title from project p join task t on t.project_id = p.id where p.name = 'House'",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!((name.as_str(), title.as_str()), ("House", "Call the plumber"));
});
