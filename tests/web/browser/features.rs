//! End-to-end flows in Chromium for the task features: a webhook delivered to a real
//! receiver and seen in its log, a checklist ticked on the task page and counted on the
//! list row, the project export downloaded from the settings page, and a Trello board
//! uploaded through the import form.

use std::sync::{Arc, Mutex};

use axum::{body::Bytes, routing::post, Router};
use serde_json::{json, Value};
use task_manager::webhooks::deliver::deliver_due;

use super::{axe_source, with_browser, Driver, Ui};
use crate::common::{Backend, TestApp};

/// A webhook receiver that keeps the bodies it gets and answers 200.
async fn receiver() -> (Arc<Mutex<Vec<String>>>, String) {
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |body: Bytes| async move {
            keep.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (got, url)
}

/// Fetches a link of the page with the page's own session, as a download would.
async fn download(ui: &Ui<'_>, css: &str) -> Value {
    let text =
        ui.c.execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
                 fetch(document.querySelector({css:?}).href).then(r => r.text()).then(done, e => done('failed: ' + e));"
            ),
            vec![],
        )
        .await
        .unwrap();
    let text = text.as_str().unwrap_or_default().to_owned();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{css} is not JSON ({e}): {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_checklists_export_and_import_in_the_browser() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.webhook_allow_private_targets = true).await;
    let (received, hook_url) = receiver().await;
    let driver = Driver::start().await;
    let c = driver.browser("features", true).await;
    let app_ref = &app;
    with_browser(c, |c| async move {
        let ui = Ui { c, app: app_ref };
        let app = app_ref;
        ui.sign_up("fern").await;
        let pid = ui.create_project("Garden").await;

        // Webhook: added in the settings, delivered to the receiver, seen in its log.
        ui.go(&format!("/projects/{pid}/settings")).await;
        ui.fill("#w-url", &hook_url).await;
        ui.click("form[action$='/webhooks'] button[type=submit]").await;
        let secret = ui.find("#webhook-secret").await.prop("value").await.unwrap().unwrap();
        assert!(secret.starts_with("whsec_"), "{secret}");
        let (wid,): (i64,) = sqlx::query_as("select id from webhook").fetch_one(app.state.db.pool()).await.unwrap();
        let log = format!("/projects/{pid}/webhooks/{wid}");
        ui.go(&format!("/projects/{pid}/board")).await;
        ui.fill("#quick-title", "Plant tulips").await;
        ui.find("#quick-title").await.send_keys("\u{E007}").await.unwrap();
        ui.until("[...document.querySelectorAll('.card-title')].some(e => e.textContent === 'Plant tulips')").await;
        assert_eq!(deliver_due(&app.state).await.unwrap(), 1);
        let bodies = received.lock().unwrap().clone();
        assert_eq!(bodies.len(), 1);
        assert!(bodies[0].contains("task.created") && bodies[0].contains("Plant tulips"), "{}", bodies[0]);
        ui.go(&log).await;
        let deliveries = ui.text("table").await;
        assert!(
            deliveries.contains("task.created") && deliveries.contains("delivered") && deliveries.contains("HTTP 200"),
            "{deliveries}"
        );

        // Checklist: two items added on the task page, one ticked, "1/2" on the list row.
        let (tid,): (i64,) = sqlx::query_as("select id from task where title = 'Plant tulips'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        ui.go(&format!("/tasks/{tid}")).await;
        for (n, item) in ["Buy bulbs", "Dig the bed"].into_iter().enumerate() {
            ui.fill("#checklist-text", item).await;
            ui.click("form[action$='/checklist'] button[type=submit]").await;
            ui.until(&format!("document.querySelectorAll('.checklist li').length === {}", n + 1)).await;
        }
        ui.click(".checklist li form[action$='/toggle'] button").await;
        ui.until("document.querySelector('.checklist button[aria-pressed=true]')").await;
        ui.go(&format!("/projects/{pid}")).await;
        let row = ui.text(".tasks").await;
        assert!(row.contains("Plant tulips") && row.contains("1/2"), "{row}");

        // Export: the settings page's link downloads the project, which parses.
        ui.go(&format!("/projects/{pid}/settings")).await;
        let doc = download(&ui, "#export-json").await;
        assert_eq!(doc["format"], "task-manager.project.v1");
        assert_eq!(doc["tasks"][0]["title"], "Plant tulips");
        assert_eq!(
            doc["tasks"][0]["checklist"],
            json!([{"text": "Buy bulbs", "done": true}, {"text": "Dig the bed", "done": false}])
        );
        ui.go("/account").await;
        let everything = download(&ui, "#export-everything").await;
        assert_eq!(everything["projects"][0]["name"], "Garden");

        // Import: a Trello board through the form; the report, then the cards on the board.
        ui.go("/projects").await;
        ui.find("#import-kind").await.select_by_value("trello").await.unwrap();
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/trello-board.json");
        ui.find("#import-file").await.send_keys(file).await.unwrap();
        ui.click("#import-form button[type=submit]").await;
        ui.find("#import-report").await;
        ui.axe(&axe_source(), "import report").await;
        let report = ui.text("main").await;
        assert!(report.contains("3 Tasks") && report.contains("2 Checklist items"), "{report}");
        assert!(report.contains("card \"Old banner\" is archived in Trello"), "{report}");
        assert!(report.contains("list \"This sprint\""), "{report}");
        ui.click("#open-imported").await;
        ui.find(".board").await;
        let cards = ui.js("return [...document.querySelectorAll('.card-title')].map(e => e.textContent);").await;
        for title in ["New colour palette", "Broken link in footer", "Launch announcement"] {
            assert!(cards.as_array().unwrap().contains(&json!(title)), "{cards}");
        }
        let doing = ui.text(".column[data-status='in_progress']").await;
        assert!(doing.contains("New colour palette") && doing.contains("1/2"), "{doing}");
    })
    .await;
}
