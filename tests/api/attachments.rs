//! Attachments: the bytes come back as they went in, the type is the sniffed one,
//! nothing a browser could run is served inline, the size limit stores nothing, and
//! every way a file stops being wanted (delete, task delete, project delete, a crash)
//! removes it. The last test runs the same flow against a real S3-compatible server.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::{
    both,
    common::{binary::Binary, decode, pg, s3::S3Server, Backend, TestApp},
    helpers::*,
};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// Uploads `bytes` as the part `file` with the given name and declared type.
pub async fn upload(
    app: &TestApp,
    c: &Client,
    task: i64,
    name: &str,
    bytes: Vec<u8>,
    mime: &str,
) -> (StatusCode, Value) {
    upload_to(app.url(&format!("/api/v1/tasks/{task}/attachments")), c, (name, bytes, mime)).await
}

/// The same, to the attachments URL of a task on any server.
async fn upload_to(url: String, c: &Client, (name, bytes, mime): (&str, Vec<u8>, &str)) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()).mime_str(mime).unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    decode(c.post(url).multipart(form).send().await.unwrap()).await
}

/// Status, headers and bytes of a download.
async fn download(app: &TestApp, c: &Client, url: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let res = c.get(app.url(url)).send().await.unwrap();
    (res.status(), res.headers().clone(), res.bytes().await.unwrap().to_vec())
}

/// Every file under the app's attachment directory (staging files included).
fn files(app: &TestApp) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(e.path());
            }
        }
    }
    let mut out = vec![];
    walk(&app.state.config.attachments_dir, &mut out);
    out
}

/// Deterministic bytes that are no known file type.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u32 = 7;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8 | 0x80
        })
        .collect()
}

async fn task_of(app: &TestApp, owner: &Client, project: &str) -> (i64, i64) {
    let pid = create_project(app, owner, project).await;
    let tid = create_task(app, owner, pid, json!({"title": "With files"})).await["id"].as_i64().unwrap();
    (pid, tid)
}

both!(an_upload_downloads_byte_for_byte_and_is_in_the_activity, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, owner_id) = app.user("ada").await;
    let (_, tid) = task_of(&app, &owner, "Files").await;
    let bytes = noise(3 * 1024 * 1024 + 17);
    let (s, v) = upload(&app, &owner, tid, "Résumé \"final\".bin", bytes.clone(), "application/x-whatever").await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["filename"], "Résumé \"final\".bin");
    assert_eq!(v["content_type"], "application/octet-stream");
    assert_eq!(v["size_bytes"], bytes.len());
    assert_eq!(v["uploader_id"], owner_id);
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
    let (_, list) = app.call(&owner, Method::GET, &format!("/api/v1/tasks/{tid}/attachments"), None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let url = list[0]["download_url"].as_str().unwrap().to_owned();
    let (s, h, body) = download(&app, &owner, &url).await;
    assert_eq!(s, 200);
    assert!(body == bytes, "the downloaded bytes differ from the uploaded ones");
    assert_eq!(h["content-length"], bytes.len().to_string().as_str());
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"R_sum_ _final_.bin\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.bin"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert_eq!(files(&app).len(), 1);
    let (_, activity) = app.call(&owner, Method::GET, &format!("/api/v1/tasks/{tid}/activity"), None).await;
    let changes: Vec<&Value> = activity.as_array().unwrap().iter().filter(|a| a["field"] == "attachment").collect();
    assert_eq!(changes.len(), 1, "{activity}");
    assert_eq!(changes[0]["new_value"], "Résumé \"final\".bin");
    let metrics = app.metrics().await;
    assert!(metrics.contains("task_manager_attachment_uploads_total{outcome=\"stored\"} 1"), "{metrics}");
    assert!(metrics.contains(&format!("task_manager_attachment_download_bytes_total {}", bytes.len())));
});

both!(the_sniffed_type_wins_over_what_the_client_says, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("ada").await;
    let (_, tid) = task_of(&app, &owner, "Types").await;
    let (s, v) = upload(&app, &owner, tid, "pixel.html", PNG.to_vec(), "text/html").await;
    assert_eq!((s.as_u16(), v["content_type"].as_str()), (201, Some("image/png")), "{v}");
    let (_, h, _) = download(&app, &owner, v["download_url"].as_str().unwrap()).await;
    assert_eq!(h["content-type"], "image/png");
    assert!(h["content-disposition"].to_str().unwrap().starts_with("attachment;"));
});

both!(html_and_svg_download_as_opaque_attachments, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("ada").await;
    let (_, tid) = task_of(&app, &owner, "Active content").await;
    let cases = [
        ("note.txt", "<!DOCTYPE html><html><script>alert(document.cookie)</script></html>", "text/html"),
        ("logo.png", "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>", "image/svg+xml"),
    ];
    for (name, body, sniffed) in cases {
        let (s, v) = upload(&app, &owner, tid, name, body.as_bytes().to_vec(), "text/plain").await;
        assert_eq!((s.as_u16(), v["content_type"].as_str()), (201, Some(sniffed)), "{v}");
        let (s, h, bytes) = download(&app, &owner, v["download_url"].as_str().unwrap()).await;
        assert_eq!(s, 200);
        assert_eq!(h["content-type"], "application/octet-stream", "{name}");
        assert!(h["content-disposition"].to_str().unwrap().starts_with("attachment;"), "{name}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
        assert_eq!(bytes, body.as_bytes());
    }
});

both!(an_oversized_upload_is_413_and_stores_nothing, |b| async move {
    let limit = 64 * 1024;
    let app = TestApp::spawn_with(b, |c| c.attachment_max_bytes = limit).await;
    let (owner, _) = app.user("ada").await;
    let (_, tid) = task_of(&app, &owner, "Limits").await;
    let before = snapshot(&app).await;
    let (s, v) = upload(&app, &owner, tid, "big.bin", noise(limit as usize + 1), "application/octet-stream").await;
    assert_eq!((s.as_u16(), v["code"].as_str()), (413, Some("file_too_large")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains(&limit.to_string()), "{v}");
    let (s, _) = upload(&app, &owner, tid, "huge.bin", noise(4 * limit as usize), "application/octet-stream").await;
    assert_eq!(s, 413);
    assert_unchanged(&before, &snapshot(&app).await, "oversized uploads");
    assert_eq!(app.count("attachment").await, 0);
    assert_eq!(files(&app), Vec::<PathBuf>::new());
    let metrics = app.metrics().await;
    assert!(metrics.contains("task_manager_attachment_uploads_total{outcome=\"too_large\"} 2"), "{metrics}");
    // Exactly at the limit is fine.
    let (s, v) = upload(&app, &owner, tid, "fits.bin", noise(limit as usize), "application/octet-stream").await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(files(&app).len(), 1);
});

both!(uploads_beyond_the_quota_are_refused_and_nothing_is_kept, |b| async move {
    let app = TestApp::spawn_with(b, |c| {
        c.attachment_quota_per_user = 3000;
        c.attachment_quota_per_project = 5000;
    })
    .await;
    let (owner, _) = app.user("quinn").await;
    let (editor, _) = app.user("eli").await;
    let (pid, tid) = task_of(&app, &owner, "Quotas").await;
    add_member(&app, &owner, pid, "eli", "editor").await;
    let octets = "application/octet-stream";
    let (s, v) = upload(&app, &owner, tid, "a.bin", noise(2000), octets).await;
    assert_eq!(s, 201, "{v}");
    let before = snapshot(&app).await;
    let (s, v) = upload(&app, &owner, tid, "b.bin", noise(1001), octets).await;
    assert_eq!((s.as_u16(), v["code"].as_str()), (413, Some("quota_exceeded")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("your account"), "{v}");
    assert_unchanged(&before, &snapshot(&app).await, "an upload over the account's quota");
    assert_eq!(files(&app).len(), 1);
    // Exactly up to the account's quota is fine; another uploader fills the project.
    let (s, v) = upload(&app, &owner, tid, "c.bin", noise(1000), octets).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = upload(&app, &editor, tid, "d.bin", noise(2000), octets).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = upload(&app, &editor, tid, "e.bin", noise(1), octets).await;
    assert_eq!((s.as_u16(), v["code"].as_str()), (413, Some("quota_exceeded")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("this project"), "{v}");
    assert_eq!(files(&app).len(), 3);
});

both!(malformed_uploads_are_refused_and_store_nothing, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("ada").await;
    let (_, tid) = task_of(&app, &owner, "Bad input").await;
    let path = format!("/api/v1/tasks/{tid}/attachments");
    let before = snapshot(&app).await;
    let r = send(&app, &owner, Method::POST, &path, Some(json!({"file": "x"})), &[]).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "multipart_required"));
    let form = reqwest::multipart::Form::new().text("attachment", "x");
    let (s, v) = decode(owner.post(app.url(&path)).multipart(form).send().await.unwrap()).await;
    assert_eq!((s.as_u16(), field_names(&v)), (422, vec!["file".to_owned()]), "{v}");
    let (s, v) = upload(&app, &owner, tid, "empty.txt", vec![], "text/plain").await;
    assert_eq!((s.as_u16(), v["errors"][0]["code"].as_str()), (422, Some("empty")), "{v}");
    let (s, _) = upload(&app, &owner, 999_999, "lost.txt", b"x".to_vec(), "text/plain").await;
    assert_eq!(s, 404);
    assert_unchanged(&before, &snapshot(&app).await, "malformed uploads");
    assert!(files(&app).is_empty(), "{:?}", files(&app));
});

both!(viewers_download_editors_change_outsiders_see_nothing, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("ada").await;
    let (viewer, _) = app.user("vic").await;
    let (editor, _) = app.user("eve").await;
    let (outsider, _) = app.user("otto").await;
    let (pid, tid) = task_of(&app, &owner, "Shared").await;
    add_member(&app, &owner, pid, "vic", "viewer").await;
    add_member(&app, &owner, pid, "eve", "editor").await;
    let (s, v) = upload(&app, &editor, tid, "plan.pdf", b"%PDF-1.4\n%...".to_vec(), "application/pdf").await;
    assert_eq!((s.as_u16(), v["content_type"].as_str()), (201, Some("application/pdf")), "{v}");
    let url = v["download_url"].as_str().unwrap().to_owned();
    let (s, _, bytes) = download(&app, &viewer, &url).await;
    assert_eq!((s.as_u16(), bytes.as_slice()), (200, b"%PDF-1.4\n%...".as_slice()));
    let before = snapshot(&app).await;
    let (s, v) = upload(&app, &viewer, tid, "mine.txt", b"hello".to_vec(), "text/plain").await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(app.call(&viewer, Method::DELETE, &url, None).await.0, 403);
    assert_eq!(upload(&app, &outsider, tid, "x.txt", b"hello".to_vec(), "text/plain").await.0, 404);
    assert_eq!(download(&app, &outsider, &url).await.0, 404);
    assert_eq!(app.call(&outsider, Method::GET, &format!("/api/v1/tasks/{tid}/attachments"), None).await.0, 404);
    assert_eq!(app.call(&outsider, Method::DELETE, &url, None).await.0, 404);
    assert_unchanged(&before, &snapshot(&app).await, "refused attachment calls");
    assert_eq!(files(&app).len(), 1);
    // An attachment is only reachable through its own task.
    let other = create_task(&app, &owner, pid, json!({"title": "Other"})).await["id"].as_i64().unwrap();
    let aid = url.rsplit('/').next().unwrap();
    assert_eq!(download(&app, &owner, &format!("/api/v1/tasks/{other}/attachments/{aid}")).await.0, 404);
});

both!(deleting_an_attachment_deletes_its_file, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("ada").await;
    let (_, tid) = task_of(&app, &owner, "Deletes").await;
    let (_, keep) = upload(&app, &owner, tid, "keep.txt", b"keep me".to_vec(), "text/plain").await;
    let (_, gone) = upload(&app, &owner, tid, "gone.txt", b"delete me".to_vec(), "text/plain").await;
    assert_eq!(files(&app).len(), 2);
    let url = gone["download_url"].as_str().unwrap();
    assert_eq!(app.call(&owner, Method::DELETE, url, None).await.0, 204);
    assert_eq!(files(&app).len(), 1);
    assert_eq!(app.count("attachment").await, 1);
    assert_eq!(download(&app, &owner, url).await.0, 404);
    assert_eq!(download(&app, &owner, keep["download_url"].as_str().unwrap()).await.2, b"keep me");
    let (_, activity) = app.call(&owner, Method::GET, &format!("/api/v1/tasks/{tid}/activity"), None).await;
    let removed = activity
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["field"] == "attachment" && a["old_value"] == "gone.txt" && a["new_value"].is_null());
    assert!(removed, "{activity}");
});

both!(deleting_tasks_and_projects_deletes_their_files, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("ada").await;
    let (pid, tid) = task_of(&app, &owner, "Doomed").await;
    let bulk_a = create_task(&app, &owner, pid, json!({"title": "Bulk A"})).await["id"].as_i64().unwrap();
    let bulk_b = create_task(&app, &owner, pid, json!({"title": "Bulk B"})).await["id"].as_i64().unwrap();
    let (_, survivor) = task_of(&app, &owner, "Survivor").await;
    for t in [tid, tid, bulk_a, bulk_b, survivor] {
        assert_eq!(upload(&app, &owner, t, "f.txt", b"content".to_vec(), "text/plain").await.0, 201);
    }
    assert_eq!(files(&app).len(), 5);
    assert_eq!(app.call(&owner, Method::DELETE, &format!("/api/v1/tasks/{tid}"), None).await.0, 204);
    assert_eq!((files(&app).len(), app.count("attachment").await), (3, 3));
    let body = json!({"task_ids": [bulk_a], "delete": true});
    let (s, v) = app.call(&owner, Method::POST, &format!("/api/v1/projects/{pid}/tasks/bulk"), Some(body)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((files(&app).len(), app.count("attachment").await), (2, 2));
    assert_eq!(app.call(&owner, Method::DELETE, &format!("/api/v1/projects/{pid}"), None).await.0, 204);
    assert_eq!((files(&app).len(), app.count("attachment").await), (1, 1));
    let (_, list) = app.call(&owner, Method::GET, &format!("/api/v1/tasks/{survivor}/attachments"), None).await;
    assert_eq!(download(&app, &owner, list[0]["download_url"].as_str().unwrap()).await.2, b"content");
});

/// Backdates a file's modification time, as if it had been left there long ago.
fn age(path: &Path, by: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - by).unwrap();
}

both!(the_cleanup_job_sweeps_files_without_rows, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("ada").await;
    let (_, tid) = task_of(&app, &owner, "Sweep").await;
    let (_, kept) = upload(&app, &owner, tid, "kept.txt", b"kept".to_vec(), "text/plain").await;
    let dir = app.state.config.attachments_dir.clone();
    std::fs::create_dir_all(dir.join("zz")).unwrap();
    let old_orphan = dir.join("zz/0123456789abcdef");
    let young_orphan = dir.join("zz/fedcba9876543210");
    let old_staging = dir.join("zz/00112233#1");
    for f in [&old_orphan, &young_orphan, &old_staging] {
        std::fs::write(f, b"left behind").unwrap();
    }
    age(&old_orphan, Duration::from_secs(3 * 3600));
    age(&old_staging, Duration::from_secs(3 * 3600));
    // The row's own file is old too: having a row keeps it.
    for f in files(&app).into_iter().filter(|f| !f.starts_with(dir.join("zz"))) {
        age(&f, Duration::from_secs(3 * 3600));
    }
    assert_eq!(task_manager::jobs::cleanup(app.state.clone()).await.unwrap(), task_manager::jobs::Ran::Done);
    assert!(!old_orphan.exists() && !old_staging.exists(), "old leftovers are swept");
    assert!(young_orphan.exists(), "a young file may belong to an upload in progress");
    assert_eq!(download(&app, &owner, kept["download_url"].as_str().unwrap()).await.2, b"kept");
    let metrics = app.metrics().await;
    assert!(metrics.contains("task_manager_attachment_orphans_removed_total 2"), "{metrics}");
    // A second run finds nothing more.
    task_manager::jobs::cleanup(app.state.clone()).await.unwrap();
    assert_eq!(files(&app).len(), 2);
    assert!(app.metrics().await.contains("task_manager_attachment_orphans_removed_total 2"));
});

both!(exports_list_attachments_and_imports_skip_them, |b| async move {
    let app = TestApp::spawn(b).await;
    let (owner, _) = app.user("ada").await;
    let (pid, tid) = task_of(&app, &owner, "Exported").await;
    upload(&app, &owner, tid, "pixel.png", PNG.to_vec(), "image/png").await;
    let (s, doc) = app.call(&owner, Method::GET, &format!("/api/v1/projects/{pid}/export"), None).await;
    assert_eq!(s, 200);
    let a = &doc["tasks"][0]["attachments"][0];
    assert_eq!((a["filename"].as_str(), a["content_type"].as_str()), (Some("pixel.png"), Some("image/png")), "{doc}");
    assert_eq!((a["size_bytes"].as_u64(), a["uploader"].as_str()), (Some(PNG.len() as u64), Some("ada@example.com")));
    let (s, report) = app.call(&owner, Method::POST, "/api/v1/projects/import", Some(doc)).await;
    assert_eq!(s, 201, "{report}");
    let skipped = report["skipped"].as_array().unwrap();
    assert!(skipped.iter().any(|s| s["item"] == "tasks[0].attachments"), "{report}");
    assert_eq!(app.count("attachment").await, 1);
});

// The same flow against S3 (moto), through the real binary configured only by the
// environment, as a deployment is.
both!(attachments_live_in_s3_when_a_bucket_is_set, |b| async move {
    let s3 = S3Server::start("assets").await;
    let endpoint = s3.url("");
    let db_url = match b {
        Backend::Sqlite => None,
        Backend::Postgres => Some(pg::fresh_database_url()),
    };
    let mut env = vec![
        ("TM_ATTACHMENTS_S3_BUCKET", "assets"),
        ("TM_ATTACHMENTS_S3_ENDPOINT", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ];
    if let Some(url) = &db_url {
        env.push(("DATABASE_URL", url.as_str()));
    }
    let mut bin = Binary::start(&env);
    bin.wait_ready().await;
    let c = Client::builder().cookie_store(true).build().unwrap();
    let account = json!({"email": "s3@example.com", "password": PASSWORD, "display_name": "S3"});
    assert_eq!(c.post(bin.url("/api/v1/auth/register")).json(&account).send().await.unwrap().status(), 201);
    let login = json!({"email": "s3@example.com", "password": PASSWORD});
    assert_eq!(c.post(bin.url("/api/v1/auth/login")).json(&login).send().await.unwrap().status(), 200);
    let project: Value =
        c.post(bin.url("/api/v1/projects")).json(&json!({"name": "Cloud"})).send().await.unwrap().json().await.unwrap();
    let task: Value = c
        .post(bin.url(&format!("/api/v1/projects/{}/tasks", project["id"])))
        .json(&json!({"title": "Upload"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tid = task["id"].as_i64().unwrap();
    let files_url = || bin.url(&format!("/api/v1/tasks/{tid}/attachments"));
    // Bigger than one 5 MiB part, so the multipart upload has several parts.
    let bytes = noise(6 * 1024 * 1024 + 3);
    let (s, v) = upload_to(files_url(), &c, ("big.bin", bytes.clone(), "application/octet-stream")).await;
    assert_eq!(s, 201, "{v}\n{}", bin.logs());
    let keys = s3.keys("assets").await;
    assert!(keys.len() == 1 && keys[0].starts_with("attachments/"), "files stay under their prefix: {keys:?}");
    let url = bin.url(v["download_url"].as_str().unwrap());
    let res = c.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap() == bytes, "the bytes from S3 differ");
    assert_eq!(c.delete(&url).send().await.unwrap().status(), 204);
    assert_eq!(s3.keys("assets").await, Vec::<String>::new());
    // A task deleted with its file.
    upload_to(files_url(), &c, ("small.txt", b"tiny".to_vec(), "text/plain")).await;
    assert_eq!(s3.keys("assets").await.len(), 1);
    assert_eq!(c.delete(bin.url(&format!("/api/v1/tasks/{tid}"))).send().await.unwrap().status(), 204);
    assert_eq!(s3.keys("assets").await, Vec::<String>::new());
});

/// Uploads a file whose body arrives in `parts` pieces, one every half second.
async fn slow_upload(app: &TestApp, c: &Client, task: i64, parts: u32) -> (StatusCode, Value) {
    let chunks = futures::stream::unfold(0, move |i| async move {
        if i == parts {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        Some((Ok::<_, std::io::Error>(vec![b'x'; 1024]), i + 1))
    });
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(chunks)).file_name("slow.txt");
    let form = reqwest::multipart::Form::new().part("file", part);
    let url = app.url(&format!("/api/v1/tasks/{task}/attachments"));
    decode(c.post(url).multipart(form).send().await.unwrap()).await
}

both!(uploads_have_their_own_timeout_instead_of_the_request_timeout, |b| async move {
    // The body takes 5 s: past a 3 s request timeout, well within the upload's own.
    let app = TestApp::spawn_with(b, |c| {
        c.request_timeout = Duration::from_secs(3);
        c.attachment_upload_timeout = Duration::from_secs(600);
    })
    .await;
    let (owner, _) = app.user("ada").await;
    let (_, tid) = task_of(&app, &owner, "Slow link").await;
    let (s, v) = slow_upload(&app, &owner, tid, 10).await;
    assert_eq!((s.as_u16(), v["size_bytes"].as_u64()), (201, Some(10 * 1024)), "{v}");

    // An upload timeout shorter than the body: 503, and nothing is kept.
    let app = TestApp::spawn_with(b, |c| c.attachment_upload_timeout = Duration::from_secs(1)).await;
    let (owner, _) = app.user("ada").await;
    let (_, tid) = task_of(&app, &owner, "Slower link").await;
    let (s, v) = slow_upload(&app, &owner, tid, 6).await;
    assert_eq!((s.as_u16(), v["code"].as_str()), (503, Some("unavailable")), "{v}");
    assert_eq!(app.count("attachment").await, 0);
    // The abandoned staging file is removed on a blocking thread: wait for it.
    for _ in 0..100 {
        if files(&app).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(files(&app), Vec::<PathBuf>::new());
});
