//! The command line: `user create` with the password on standard input, its refusals,
//! and `--version`.

use std::{io::Write, process::Stdio};

use reqwest::Method;
use serde_json::json;

use crate::{binary::command, common::*};

/// Runs `task-manager user create` with `password` on standard input.
fn user_create(db_url: &str, args: &[&str], password: &str) -> std::process::Output {
    let mut child = command()
        .args(["user", "create"])
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("TM_LOG_FORMAT", "json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_create_reads_the_password_from_stdin_and_the_account_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/tm.db", dir.path().display());
    let password = "a cli password with spaces";
    let out = user_create(&url, &["--email", "Admin@Example.com", "--name", "Ada Admin", "--admin"], password);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("created user") && stdout.contains("Admin@Example.com") && stdout.contains("(admin)"),
        "{stdout}"
    );
    let out = user_create(&url, &["--email", "plain@example.com", "--name", "Pat"], password);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("(admin)"));

    // Refusals: non-zero exit, a message, and no account.
    let out = user_create(&url, &["--email", "not-an-email", "--name", "Bad"], password);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("invalid account") && stderr.to_lowercase().contains("mail"), "{stderr}");
    let out = user_create(&url, &["--email", "short@example.com", "--name", "Short"], "short");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid account"));
    let out = user_create(&url, &["--email", "admin@example.com", "--name", "Again"], password);
    assert!(!out.status.success(), "the e-mail is taken, case-insensitively");
    assert!(String::from_utf8_lossy(&out.stderr).to_lowercase().contains("already exists"));

    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.database_url = url.clone().into()).await;
    assert_eq!(app.count("app_user").await, 2);
    let admin = app.client();
    let (s, me) = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": "admin@example.com", "password": password})),
        )
        .await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["is_admin"], true);
    assert_eq!(me["display_name"], "Ada Admin");
    let (s, users) = app.call(&admin, Method::GET, "/api/v1/admin/users", None).await;
    assert_eq!(s, 200);
    assert_eq!(users.as_array().unwrap().len(), 2);
    let pat = app.client();
    let (s, _) = app
        .call(
            &pat,
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": "plain@example.com", "password": "wrong password!"})),
        )
        .await;
    assert_eq!(s, 401);
    let (s, me) = app
        .call(
            &pat,
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"email": "plain@example.com", "password": password})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(me["is_admin"], false);
    let (s, _) = app.call(&pat, Method::GET, "/api/v1/admin/users", None).await;
    assert_eq!(s, 403);
    app.stop().await;
}

#[test]
fn version_prints_version_and_commit() {
    let out = command().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.trim_end(),
        format!("task-manager {} (commit {})", env!("CARGO_PKG_VERSION"), task_manager::GIT_COMMIT)
    );
    assert!(!task_manager::GIT_COMMIT.is_empty());
}

/// The commit `--version` and `build_info` report is the checkout's HEAD when the binary
/// was built (unless `TM_GIT_COMMIT` names it explicitly).
#[test]
fn the_reported_commit_is_the_head_the_binary_was_built_from() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    if let Ok(explicit) = std::env::var("TM_GIT_COMMIT") {
        assert_eq!(task_manager::GIT_COMMIT, explicit);
        return;
    }
    let Some(head) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        assert_eq!(task_manager::GIT_COMMIT, "unknown", "no git checkout");
        return;
    };
    // A commit made after the build legitimately differs from the binary.
    let committed: u64 = git(&["log", "-1", "--format=%ct", "HEAD"]).unwrap().parse().unwrap();
    let built = std::fs::metadata(crate::binary::BIN)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if committed < built {
        assert_eq!(task_manager::GIT_COMMIT, head, "the binary was built after {head} but reports another commit");
    }
}
