//! End-to-end tests in a real headless Chromium (the OS package; installed with apt
//! when missing, and the test fails loudly if that is impossible), driven through
//! chromedriver: the flows people use, with and without JavaScript, an axe-core scan
//! of every page, page weight, no request to another origin, and screenshots of the
//! main pages at desktop and phone widths.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{
    actions::{InputSource, KeyAction, KeyActions, MouseActions, PointerAction, MOUSE_BUTTON_LEFT},
    Client, ClientBuilder, Locator,
};
use futures::FutureExt;
use serde_json::{json, Value};

use crate::common::{Backend, TestApp};

mod features;

const SHIFT: char = '\u{E008}';
const ARROW_UP: char = '\u{E013}';
const ARROW_RIGHT: char = '\u{E014}';
const PASSWORD: &str = "correct horse battery";

fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Installs Chromium and chromedriver from the OS packages when they are missing. The
/// browser tests run in parallel threads and dpkg takes one installer at a time, so the
/// first test installs while the others wait for it (and apt waits for any other dpkg).
fn ensure_chromium() {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let present =
        |cmd: &str| Command::new("sh").arg("-c").arg(format!("command -v {cmd}")).status().is_ok_and(|s| s.success());
    if present("chromium") && present("chromedriver") {
        return;
    }
    eprintln!("installing chromium and chromium-driver with apt-get");
    let status = Command::new("sh")
        .arg("-c")
        .arg("DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 chromium chromium-driver")
        .status()
        .expect("running apt-get");
    assert!(
        status.success() && present("chromium") && present("chromedriver"),
        "could not install chromium and chromium-driver"
    );
}

/// axe-core's browser build, installed from npm into the tools folder when missing.
fn axe_source() -> String {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let dir = std::env::var("TM_TOOLS_DIR").unwrap_or_else(|_| format!("{home}/.cache/task-manager-tools"));
    let path = PathBuf::from(dir).join("node/node_modules/axe-core/axe.min.js");
    if !path.exists() {
        let status = Command::new("bash")
            .arg("-c")
            .arg("source scripts/lib/tools.sh && ensure_npm axe-core")
            .current_dir(repo_dir())
            .status()
            .expect("running npm");
        assert!(status.success(), "could not install axe-core from npm");
    }
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

struct Driver {
    child: Child,
    port: u16,
    profiles: tempfile::TempDir,
}

impl Driver {
    async fn start() -> Driver {
        ensure_chromium();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Driver { child, port, profiles: tempfile::tempdir().unwrap() };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("chromedriver did not start");
    }

    async fn browser(&self, name: &str, javascript: bool) -> Client {
        let profile = self.profiles.path().join(name);
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1440,900".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        if !javascript {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let caps =
            json!({"browserName": "chrome", "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}});
        let Value::Object(caps) = caps else { unreachable!() };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a browser flow, closing the browser whatever happens.
async fn with_browser<F, Fut>(c: Client, flow: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let result = std::panic::AssertUnwindSafe(flow(c.clone())).catch_unwind().await;
    let _ = c.close().await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

struct Ui<'a> {
    c: Client,
    app: &'a TestApp,
}

impl Ui<'_> {
    async fn go(&self, path: &str) {
        self.c.goto(&self.app.url(path)).await.unwrap();
    }

    async fn path(&self) -> String {
        let u = self.c.current_url().await.unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        for _ in 0..100 {
            if let Ok(e) = self.c.find(Locator::Css(css)).await {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no element {css} on {}", self.path().await);
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    async fn js(&self, script: &str) -> Value {
        self.c.execute(script, vec![]).await.unwrap()
    }

    /// Waits until a JavaScript condition holds.
    async fn until(&self, cond: &str) {
        for _ in 0..100 {
            if self.js(&format!("return !!({cond});")).await.as_bool() == Some(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {cond} on {}", self.path().await);
    }

    /// Waits for this page's one-time message, so a check never reads the page (or the
    /// database) from before the submitted form was handled.
    async fn flash(&self, message: &str) {
        self.until(&format!(
            "document.querySelector('.flash') && document.querySelector('.flash').textContent.includes({message:?})"
        ))
        .await;
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    async fn source(&self) -> String {
        self.c.source().await.unwrap()
    }

    /// No serious or critical axe-core violation on the current page.
    async fn axe(&self, axe: &str, what: &str) {
        if self.js("return typeof window.axe === 'object';").await.as_bool() != Some(true) {
            self.c.execute(&format!("{axe}\nreturn true;"), vec![]).await.unwrap();
        }
        let found = self
            .c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                   .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`)))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .unwrap();
        let found: Vec<String> = serde_json::from_value(found).unwrap();
        assert!(found.is_empty(), "accessibility violations on {what}:\n{}", found.join("\n"));
    }

    /// CSS + JS under 100 KB and no request to another origin.
    async fn weight(&self, what: &str) {
        let r = self
            .js("return {origin: location.origin, res: performance.getEntriesByType('resource')
                 .map(e => [e.name, e.decodedBodySize || e.encodedBodySize || e.transferSize || 0])};")
            .await;
        let origin = r["origin"].as_str().unwrap().to_owned();
        let mut total = 0;
        for e in r["res"].as_array().unwrap() {
            let name = e[0].as_str().unwrap();
            assert!(name.starts_with(&origin), "{what}: a request to another origin: {name}");
            let path = name.split('?').next().unwrap();
            if path.ends_with(".css") || path.ends_with(".js") {
                total += e[1].as_u64().unwrap();
            }
        }
        assert!(total > 0 && total < 100 * 1024, "{what}: CSS + JS weigh {total} bytes");
    }

    async fn screenshot(&self, name: &str) {
        let dir = repo_dir().join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        for (w, h) in [(1440u32, 900u32), (375, 812)] {
            self.c.set_window_size(w, h).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            let png = self.c.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}-{w}.png")), png).unwrap();
        }
        self.c.set_window_size(1440, 900).await.unwrap();
    }

    async fn sign_up(&self, name: &str) {
        self.go("/signup").await;
        self.fill("#display_name", name).await;
        self.fill("#email", &format!("{name}@example.com")).await;
        self.fill("#password", PASSWORD).await;
        self.fill("#time_zone", "Europe/Paris").await;
        self.click("form button[type=submit].primary").await;
        // Sign-up answers alike for new and taken addresses: then sign in.
        self.find("form[action='/signin']").await;
        self.fill("#email", &format!("{name}@example.com")).await;
        self.fill("#password", PASSWORD).await;
        self.click("form button[type=submit].primary").await;
        self.find("#active-projects").await;
        assert_eq!(self.path().await, "/projects");
    }

    async fn create_project(&self, name: &str) -> i64 {
        self.go("/projects").await;
        self.fill("#project-name", name).await;
        self.click("form[action='/projects'] button[type=submit]").await;
        self.find(".board").await;
        let p = self.path().await;
        p.trim_start_matches("/projects/").trim_end_matches("/board").parse().unwrap()
    }
}

async fn task_row(app: &TestApp, title: &str) -> (i64, String, String) {
    sqlx::query_as::<_, (i64, String, String)>("select id, status, position from task where title = $1")
        .bind(title)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_flows_with_javascript() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let axe = axe_source();
    let driver = Driver::start().await;
    let owner = driver.browser("owner", true).await;
    let app_ref = &app;
    let axe_ref = &axe;
    let driver_ref = &driver;
    with_browser(owner, |c| async move {
        let ui = Ui { c, app: app_ref };
        let app = app_ref;
        let axe = axe_ref;
        ui.go("/signin").await;
        ui.axe(axe, "sign in").await;
        ui.weight("sign in").await;
        ui.go("/signup").await;
        ui.axe(axe, "sign up").await;
        ui.sign_up("olga").await;
        assert_eq!(ui.js("return document.documentElement.classList.contains('js');").await, json!(true));
        let pid = ui.create_project("Website").await;

        // Quick add on the board (in place, through the API).
        for title in ["Alpha", "Beta", "<script>alert(1)</script>"] {
            ui.fill("#quick-title", title).await;
            ui.find("#quick-title").await.send_keys("\u{E007}").await.unwrap();
            ui.until(&format!("[...document.querySelectorAll('.card-title')].some(e => e.textContent === {})", json!(title)))
                .await;
        }
        // The injected title is text: no script element in the page, no alert.
        assert_eq!(ui.js("return document.querySelectorAll('main script').length;").await, json!(0));
        let shown = ui.js("return [...document.querySelectorAll('.card-title')].map(e => e.textContent);").await;
        assert!(shown.as_array().unwrap().contains(&json!("<script>alert(1)</script>")), "{shown}");

        // Drag "Alpha" from "To do" to "In progress".
        let (alpha, _, _) = task_row(app, "Alpha").await;
        let card = ui.find(&format!(".card[data-task='{alpha}'] .meta")).await;
        let target = ui.find(".column[data-status='in_progress'] .cards").await;
        let drag = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement { element: card, duration: None, x: 0.0, y: 0.0 })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(100)), x: 20.0, y: 10.0 })
            .then(PointerAction::MoveToElement { element: target, duration: Some(Duration::from_millis(200)), x: 0.0, y: 0.0 })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
        ui.c.perform_actions(drag).await.unwrap();
        ui.until(&format!("document.querySelector(\".column[data-status='in_progress'] .card[data-task='{alpha}']\")")).await;
        for _ in 0..50 {
            if task_row(app, "Alpha").await.1 == "in_progress" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(task_row(app, "Alpha").await.1, "in_progress", "dragged to In progress");
        ui.until("!document.documentElement.dataset.busy").await;

        // Keyboard: "Beta" to the next column (Shift+→), then above "Alpha" (Shift+↑).
        let (beta, _, _) = task_row(app, "Beta").await;
        let keys = |k: char| {
            KeyActions::new("keys".into())
                .then(KeyAction::Down { value: SHIFT })
                .then(KeyAction::Down { value: k })
                .then(KeyAction::Up { value: k })
                .then(KeyAction::Up { value: SHIFT })
        };
        ui.js(&format!("document.querySelector(\".card[data-task='{beta}']\").focus(); return true;")).await;
        ui.c.perform_actions(keys(ARROW_RIGHT)).await.unwrap();
        ui.until(&format!("document.activeElement && document.activeElement.matches(\".column[data-status='in_progress'] .card[data-task='{beta}']\")")).await;
        ui.until("!document.documentElement.dataset.busy").await;
        ui.c.perform_actions(keys(ARROW_UP)).await.unwrap();
        ui.until(&format!(
            "(() => {{ const c = [...document.querySelectorAll(\".column[data-status='in_progress'] .card\")].map(e => e.dataset.task); return c.indexOf('{beta}') === 0 && c.indexOf('{alpha}') === 1; }})()"
        ))
        .await;
        let (a, b) = (task_row(app, "Alpha").await, task_row(app, "Beta").await);
        assert_eq!(b.1, "in_progress");
        assert!(b.2 < a.2, "Beta is above Alpha: {b:?} {a:?}");
        ui.weight("board").await;
        ui.axe(axe, "board").await;
        ui.screenshot("board").await;

        // The task page: inline title edit (e), every field, complete, comment.
        ui.go(&format!("/tasks/{alpha}")).await;
        ui.find("#task-title").await;
        ui.js("document.body.focus(); return true;").await;
        ui.c.perform_actions(KeyActions::new("k".into()).then(KeyAction::Down { value: 'e' }).then(KeyAction::Up { value: 'e' }))
            .await
            .unwrap();
        let input = ui.find("#task-title input").await;
        input.send_keys("\u{E010} launch\u{E007}").await.unwrap();
        ui.until("document.querySelector('#task-title') && document.querySelector('#task-title').textContent === 'Alpha launch'").await;
        ui.fill("#description", "Ship it. [evil](javascript:alert(1)) <script>alert(2)</script>").await;
        ui.click("[data-preview]").await;
        ui.until("!document.querySelector('#description-preview').hidden && document.querySelector('#description-preview').textContent.includes('Ship it')").await;
        ui.find("#priority").await.select_by_value("high").await.unwrap();
        ui.js("document.querySelector('#due_at').value = '2020-03-04T10:15'; return true;").await;
        ui.find("#status").await.select_by_value("done").await.unwrap();
        ui.click("#edit-form button[type=submit]").await;
        ui.until("document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('Task saved')").await;
        let facts = ui.text(".facts").await;
        assert!(facts.contains("Done") && facts.contains("High") && facts.contains("Wed 4 Mar 2020, 10:15"), "{facts}");
        assert!(facts.contains("Completed"), "{facts}");
        assert_eq!(ui.js("return document.querySelectorAll('.markdown a[href^=\"javascript\"], main script').length;").await, json!(0));
        ui.fill("#comment-body", "Looks **good**").await;
        ui.click("form[action$='/comments'] button").await;
        ui.until("[...document.querySelectorAll('.comment strong')].some(e => e.textContent === 'good')").await;
        ui.axe(axe, "task").await;
        ui.weight("task").await;
        ui.screenshot("task").await;

        // Filter and search in the list, then reload the bookmarked URL.
        ui.go(&format!("/projects/{pid}")).await;
        ui.js("document.body.focus(); return true;").await;
        ui.c.perform_actions(KeyActions::new("k".into()).then(KeyAction::Down { value: '/' }).then(KeyAction::Up { value: '/' }))
            .await
            .unwrap();
        ui.until("document.activeElement && document.activeElement.id === 'q'").await;
        ui.find("#q").await.send_keys("bet").await.unwrap();
        ui.js("document.querySelector(\"input[name=status][value=in_progress]\").click(); return true;").await;
        ui.click(".filters button[type=submit]").await;
        ui.until("location.search.includes('q=bet')").await;
        let url = ui.path().await;
        assert!(url.contains("status=in_progress"), "{url}");
        let rows = || async { ui.js("return [...document.querySelectorAll('.task-link')].map(e => e.textContent);").await };
        assert_eq!(rows().await, json!(["Beta"]));
        ui.c.refresh().await.unwrap();
        ui.find(".tasks").await;
        assert_eq!(rows().await, json!(["Beta"]));
        ui.go(&url).await;
        assert_eq!(rows().await, json!(["Beta"]));
        assert_eq!(ui.js("return document.querySelector('#q').value;").await, json!("bet"));
        // In-place status change.
        ui.find(&format!("#status-{beta}")).await.select_by_value("blocked").await.unwrap();
        for _ in 0..50 {
            if task_row(app, "Beta").await.1 == "blocked" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(task_row(app, "Beta").await.1, "blocked", "status changed in place");
        ui.go(&format!("/projects/{pid}")).await;
        ui.axe(axe, "list").await;
        ui.weight("list").await;
        ui.screenshot("list").await;
        // Bulk edit: tick every task of the list, make them all urgent.
        ui.js("document.querySelectorAll('input[name=task_ids]').forEach(b => b.click()); return true;").await;
        ui.find("#b-priority").await.select_by_value("urgent").await.unwrap();
        ui.click("#bulk-form button[value=update]").await;
        ui.until("document.body.textContent.includes('The selected tasks were changed.')").await;
        let counts: (i64, i64) =
            sqlx::query_as("select count(*), sum(case when priority = 3 then 1 else 0 end) from task where project_id = $1")
                .bind(pid)
                .fetch_one(app.state.db.pool())
                .await
                .unwrap();
        assert!(counts.0 >= 2 && counts.0 == counts.1, "every task urgent: {counts:?}");

        // My tasks, settings, account, the 404 page.
        ui.go("/my-tasks").await;
        ui.axe(axe, "my tasks").await;
        ui.screenshot("my-tasks").await;
        ui.go("/projects").await;
        ui.axe(axe, "projects").await;
        ui.go("/projects/999999").await;
        ui.axe(axe, "404").await;

        // Invite a viewer (an account that exists) and check they cannot edit.
        let r = reqwest::Client::new()
            .post(app.url("/api/v1/auth/register"))
            .json(&json!({"email": "vera@example.com", "password": PASSWORD, "display_name": "Vera"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        ui.go(&format!("/projects/{pid}/settings")).await;
        ui.fill("#m-email", "vera@example.com").await;
        ui.find("#m-role").await.select_by_value("viewer").await.unwrap();
        ui.click("form[action$='/members'] button").await;
        ui.until("document.body.textContent.includes('vera@example.com')").await;
        ui.axe(axe, "project settings").await;
        ui.screenshot("project-settings").await;

        let viewer = driver_ref.browser("viewer", true).await;
        with_browser(viewer, |vc| async move {
            let v = Ui { c: vc, app };
            v.go("/signin").await;
            v.fill("#email", "vera@example.com").await;
            v.fill("#password", PASSWORD).await;
            v.click("form button[type=submit]").await;
            v.find("#active-projects").await;
            v.go(&format!("/projects/{pid}/board")).await;
            v.find(".board").await;
            let editable = v.js("return !!document.querySelector('[data-editable], [data-quick-add], .move, main form[method=post]');").await;
            assert_eq!(editable, json!(false), "the viewer's board has no edit control");
            // Dragging does nothing for a viewer.
            let card = v.find(&format!(".card[data-task='{beta}'] .meta")).await;
            let target = v.find(".column[data-status='todo'] .cards").await;
            v.c.perform_actions(
                MouseActions::new("mouse".into())
                    .then(PointerAction::MoveToElement { element: card, duration: None, x: 0.0, y: 0.0 })
                    .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
                    .then(PointerAction::MoveToElement { element: target, duration: Some(Duration::from_millis(200)), x: 0.0, y: 0.0 })
                    .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT }),
            )
            .await
            .unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(task_row(app, "Beta").await.1, "blocked");
            v.go(&format!("/tasks/{beta}")).await;
            let editable = v.js("return !!document.querySelector('#edit-form, [data-inline-edit], #comment-body, main form[method=post]');").await;
            assert_eq!(editable, json!(false), "the viewer's task page has no edit control");
            v.go(&format!("/projects/{pid}")).await;
            assert_eq!(v.js("return document.querySelectorAll('main form[method=post], main select[name=status]').length;").await, json!(0));
        })
        .await;

        // An API token: created with expiry and scope, shown once, used, revoked.
        ui.go("/account").await;
        ui.axe(axe, "account").await;
        ui.screenshot("account").await;
        ui.fill("#token-name", "deploy script").await;
        ui.find("#token-scope").await.select_by_value("read").await.unwrap();
        ui.find("#token-expiry").await.select_by_value("7").await.unwrap();
        ui.click("form[action='/account/tokens'] button").await;
        let secret = ui.find("#new-token").await.prop("value").await.unwrap().unwrap();
        assert!(secret.starts_with("tm_"));
        let api = reqwest::Client::new();
        let list = api.get(app.url(&format!("/api/v1/projects/{pid}/tasks"))).bearer_auth(&secret).send().await.unwrap();
        assert_eq!(list.status(), 200);
        let write = api.post(app.url("/api/v1/projects")).bearer_auth(&secret).json(&json!({"name": "x"})).send().await.unwrap();
        assert_eq!(write.status(), 403, "a read-only token cannot write");
        ui.go("/account").await;
        assert!(!ui.source().await.contains(&secret), "the secret is shown once");
        ui.click("form[action$='/revoke'] button").await;
        ui.until("document.body.textContent.includes('Token revoked')").await;
        let list = api.get(app.url(&format!("/api/v1/projects/{pid}/tasks"))).bearer_auth(&secret).send().await.unwrap();
        assert_eq!(list.status(), 401, "a revoked token is refused");

        // Shortcut help.
        ui.js("document.body.focus(); return true;").await;
        ui.c.perform_actions(KeyActions::new("k".into()).then(KeyAction::Down { value: '?' }).then(KeyAction::Up { value: '?' }))
            .await
            .unwrap();
        ui.until("document.querySelector('#help').open").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_flows_without_javascript() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let driver = Driver::start().await;
    let c = driver.browser("nojs", false).await;
    let app_ref = &app;
    with_browser(c, |c| async move {
        let ui = Ui { c, app: app_ref };
        let app = app_ref;
        ui.sign_up("nora").await;
        assert!(!ui.source().await.contains("class=\"js\""), "JavaScript is off");
        let pid = ui.create_project("Plain HTML").await;
        ui.fill("#quick-title", "<b>Plain</b> task").await;
        ui.click("form[data-quick-add] button").await;
        ui.flash("Task added.").await;
        let (tid, status, _) = task_row(app, "<b>Plain</b> task").await;
        assert_eq!(status, "todo");
        assert!(ui.text(".card-title").await.contains("<b>Plain</b> task"), "shown as text");

        // Move with the no-JS form.
        ui.click(&format!(".card[data-task='{tid}'] summary")).await;
        ui.find(&format!("#move-{tid}")).await.select_by_value("blocked").await.unwrap();
        ui.click(&format!(".card[data-task='{tid}'] form button")).await;
        ui.flash("Task moved.").await;
        assert_eq!(task_row(app, "<b>Plain</b> task").await.1, "blocked");

        // Edit and complete with the task form.
        ui.go(&format!("/tasks/{tid}")).await;
        ui.fill("#title", "Plain task, edited").await;
        ui.fill("#description", "Some *notes*").await;
        ui.find("#priority").await.select_by_value("low").await.unwrap();
        ui.find("#status").await.select_by_value("done").await.unwrap();
        ui.click("#edit-form button[type=submit]").await;
        ui.flash("Task saved.").await;
        assert_eq!(ui.path().await, format!("/tasks/{tid}"));
        assert_eq!(ui.text("#task-title").await, "Plain task, edited");
        let facts = ui.text(".facts").await;
        assert!(facts.contains("Done") && facts.contains("Low") && facts.contains("Completed"), "{facts}");
        assert!(ui.source().await.contains("<em>notes</em>"));
        ui.fill("#comment-body", "Done without scripts").await;
        ui.click("form[action$='/comments'] button").await;
        ui.find(".comment").await;
        assert!(ui.text(".comments").await.contains("Done without scripts"));

        // The list filter is a plain GET form.
        ui.go(&format!("/projects/{pid}")).await;
        ui.fill("#q", "edited").await;
        ui.click(".filters button[type=submit]").await;
        ui.find(".tasks").await;
        assert!(ui.path().await.contains("q=edited"));
        ui.click("form.signout button").await;
        ui.find("#signin-title").await;
    })
    .await;
}

/// A weekly rule set with the task page's recurrence picker, shown in words, and
/// completing the task showing the next occurrence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_recurring_task_with_the_picker() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let axe = axe_source();
    let driver = Driver::start().await;
    let c = driver.browser("repeat", true).await;
    let (app_ref, axe_ref) = (&app, &axe);
    with_browser(c, |c| async move {
        let ui = Ui { c, app: app_ref };
        let app = app_ref;
        ui.sign_up("rhea").await;
        let pid = ui.create_project("Rituals").await;
        ui.fill("#quick-title", "Team review").await;
        ui.find("#quick-title").await.send_keys("\u{E007}").await.unwrap();
        ui.until("[...document.querySelectorAll('.card-title')].some(e => e.textContent === 'Team review')").await;
        let (tid, _, _) = task_row(app, "Team review").await;

        ui.go(&format!("/tasks/{tid}")).await;
        assert_eq!(ui.text("#recurrence-summary").await, "No");
        // Only the chosen kind's fields show.
        assert_eq!(ui.js("return document.querySelector('.repeat-days').hidden;").await, json!(true));
        ui.js("document.getElementById('due_at').value = '2030-01-07T09:00'; return true;").await;
        ui.find("#repeat-kind").await.select_by_value("weekly").await.unwrap();
        ui.until("!document.querySelector('.repeat-days').hidden && document.getElementById('repeat-month-day').closest('[data-repeat]').hidden").await;
        ui.click("input[name=repeat_days][value=MO]").await;
        ui.click("input[name=repeat_days][value=TH]").await;
        ui.axe(axe_ref, "task page with the recurrence picker").await;
        ui.click("#edit-form button[type=submit]").await;
        ui.flash("Task saved.").await;
        assert!(ui.text("#recurrence-summary").await.contains("every week on Mon, Thu"));
        assert_eq!(ui.js("return document.getElementById('repeat-kind').value;").await, json!("weekly"), "shown back");
        ui.go(&format!("/projects/{pid}/board")).await;
        let marker = ui.js("return document.querySelector('.card .recurring').title;").await;
        assert_eq!(marker, json!("Repeats every week on Mon, Thu"), "↻ on the card");

        ui.go(&format!("/tasks/{tid}")).await;
        ui.find("#status").await.select_by_value("done").await.unwrap();
        ui.click("#edit-form button[type=submit]").await;
        ui.flash("Task completed. The next occurrence was created.").await;
        // Monday 7 January's successor is due Thursday 10 January, 09:00 in Paris.
        assert_eq!(ui.text("#next-occurrence").await, "Due Thu 10 Jan 2030, 09:00");
        ui.click("#next-occurrence").await;
        ui.until(&format!("location.pathname !== '/tasks/{tid}'")).await;
        assert_eq!(ui.text("#task-title").await, "Team review");
        assert!(ui.text("#recurrence-summary").await.contains("every week on Mon, Thu"));
        let due: i64 = sqlx::query_scalar("select due_at from task where status = 'todo' and title = 'Team review'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        assert_eq!(due, chrono::DateTime::parse_from_rfc3339("2030-01-10T08:00:00Z").unwrap().timestamp_millis());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_subtask_then_complete_the_parent_after_confirming() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let axe = axe_source();
    let driver = Driver::start().await;
    let c = driver.browser("subtasks", true).await;
    let app_ref = &app;
    let axe = &axe;
    with_browser(c, |c| async move {
        let ui = Ui { c, app: app_ref };
        let app = app_ref;
        ui.sign_up("sami").await;
        ui.create_project("Release").await;
        ui.fill("#quick-title", "Ship 2.0").await;
        ui.click("form[data-quick-add] button").await;
        ui.find(".card[data-task]").await;
        let (parent, _, _) = task_row(app, "Ship 2.0").await;

        // Add a subtask from the parent's page.
        ui.go(&format!("/tasks/{parent}")).await;
        ui.fill("#subtask-title", "Write the announcement").await;
        ui.click("form[action$='/subtasks'] button").await;
        ui.flash("Task added.").await;
        assert!(ui.text(".subtasks").await.contains("Write the announcement"));
        let (_, status, _) = task_row(app, "Write the announcement").await;
        assert_eq!(status, "todo");
        ui.axe(axe, "the task page with a subtask").await;

        // Completing the parent asks first, then completes both.
        ui.find("#status").await.select_by_value("done").await.unwrap();
        ui.click("#edit-form button[type=submit]").await;
        ui.find("#complete-title").await;
        assert!(ui.text(".confirm").await.contains("1 subtask is still open"));
        assert_eq!(task_row(app, "Ship 2.0").await.1, "todo", "nothing changes before the answer");
        ui.axe(axe, "the completion page").await;
        ui.click("button[name=subtasks][value=complete]").await;
        ui.flash("Task saved.").await;
        assert_eq!(ui.path().await, format!("/tasks/{parent}"));
        assert_eq!(task_row(app, "Ship 2.0").await.1, "done");
        assert_eq!(task_row(app, "Write the announcement").await.1, "done");
        assert!(ui.text(".facts").await.contains("Done"));
        let subtasks = ui.text(".subtasks").await;
        assert!(subtasks.contains("Write the announcement") && subtasks.contains("Done"), "{subtasks}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_attaches_a_file_to_a_task() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let driver = Driver::start().await;
    let c = driver.browser("attach", true).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("minutes.txt");
    std::fs::write(&file, "Minutes of the kick-off").unwrap();
    let app_ref = &app;
    with_browser(c, |c| async move {
        let ui = Ui { c, app: app_ref };
        ui.sign_up("amal").await;
        let pid = ui.create_project("Meetings").await;
        ui.go(&format!("/projects/{pid}")).await;
        ui.fill("#quick-title", "Kick-off").await;
        ui.click("form[data-quick-add] button").await;
        ui.until("document.querySelector('.task-link')").await;
        let (tid, _, _) = task_row(app_ref, "Kick-off").await;
        ui.go(&format!("/tasks/{tid}")).await;
        ui.find("#attachment-file").await.send_keys(&file.display().to_string()).await.unwrap();
        ui.click("#attachments button[type=submit].primary").await;
        ui.flash("File attached.").await;
        let listed = ui.text("#attachments .attachments").await;
        assert!(listed.contains("minutes.txt") && listed.contains("text/plain"), "{listed}");
        let href = ui.find("#attachments .attachments a").await.attr("href").await.unwrap().unwrap_or_default();
        assert!(href.starts_with(&format!("/api/v1/tasks/{tid}/attachments/")), "{href}");
    })
    .await;
}
