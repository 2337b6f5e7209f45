//! The attachments section of the task page over HTTP: a multipart upload with the
//! form's token is listed with its size and type and a download link; one without the
//! token (or from another site) is refused before anything is stored; delete works.

use reqwest::{header, multipart};

use crate::{both, common::TestApp, support::Browser};

fn form(token: Option<&str>, name: &str, bytes: &[u8]) -> multipart::Form {
    let mut f = multipart::Form::new();
    if let Some(t) = token {
        f = f.text("_csrf", t.to_owned());
    }
    f.part("file", multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()))
}

both!(files_are_attached_listed_and_deleted_on_the_task_page, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("fiona").await;
    let pid = br.project("Papers").await;
    let tid = br.task(pid, "Collect receipts").await;
    let page = br.get(&format!("/tasks/{tid}")).await;
    assert!(page.body.contains("No attachments.") && page.body.contains("enctype=\"multipart/form-data\""));
    let origin = format!("http://{}", app.addr);
    let url = app.url(&format!("/tasks/{tid}/attachments"));
    let send =
        |f: multipart::Form, origin: &str| br.client.post(&url).header(header::ORIGIN, origin).multipart(f).send();

    // Without the token, with a wrong one, or from another site: refused, nothing kept.
    for (token, from) in
        [(None, origin.as_str()), (Some("forged"), origin.as_str()), (Some(br.csrf.as_str()), "https://evil.example")]
    {
        let res = send(form(token, "r.txt", b"receipt"), from).await.unwrap();
        assert_eq!(res.status(), 403, "token {token:?} from {from}");
    }
    assert_eq!(app.count("attachment").await, 0);

    let res = send(form(Some(&br.csrf), "receipt.txt", b"12.50 EUR"), &origin).await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], format!("/tasks/{tid}#attachments").as_str());
    let page = br.get(&format!("/tasks/{tid}")).await;
    assert!(page.body.contains("File attached."), "{}", page.excerpt());
    assert!(page.body.contains(">receipt.txt</a>") && page.body.contains("9 bytes · text/plain"));
    let marker = format!("href=\"/api/v1/tasks/{tid}/attachments/");
    let start = page.body.find(&marker).expect("a download link") + marker.len();
    let aid: i64 = page.body[start..start + page.body[start..].find('"').unwrap()].parse().unwrap();
    let file = br.client.get(app.url(&format!("/api/v1/tasks/{tid}/attachments/{aid}"))).send().await.unwrap();
    assert!(file.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"12.50 EUR");
    assert!(page.body.contains("changed the attachments"), "the upload is in the activity");

    br.post(&format!("/tasks/{tid}/attachments/{aid}/delete"), &[])
        .await
        .redirects_to(&format!("/tasks/{tid}#attachments"));
    let page = br.get(&format!("/tasks/{tid}")).await;
    assert!(page.body.contains("Attachment deleted.") && page.body.contains("No attachments."));
    assert_eq!(app.count("attachment").await, 0);
});
