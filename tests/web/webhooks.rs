//! Webhooks in the project settings: the owner adds one (the secret is shown once),
//! sees its delivery log and deletes it; a private target is refused with a message.

use crate::{both, common::TestApp, support::Browser};

both!(owner_adds_inspects_and_deletes_a_webhook, |b| async move {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::new(&app);
    br.sign_up("wendy").await;
    let pid = br.project("Integrations").await;
    let settings = format!("/projects/{pid}/settings");
    let page = br.get(&settings).await;
    assert!(page.body.contains("Webhooks") && page.body.contains("No webhooks."));

    let res = br
        .post(&format!("/projects/{pid}/webhooks"), &[("url", "http://127.0.0.1:9/hook"), ("events", "task.created")])
        .await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("must not point at a loopback, private or link-local address"), "{}", res.excerpt());

    let res = br
        .post(
            &format!("/projects/{pid}/webhooks"),
            &[("url", "https://hooks.example.com/tasks"), ("events", "task.created"), ("events", "task.completed")],
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.headers["cache-control"], "no-store");
    assert!(res.body.contains("Copy the signing secret now") && res.body.contains("value=\"whsec_"));
    assert!(res.body.contains("task.created, task.completed"));
    assert!(res.body.contains("Nothing sent yet."));

    // Creating a task queues a delivery: the log lists it (pending; nothing is sent here).
    br.task(pid, "Hooked task").await;
    let page = br.get(&settings).await;
    let marker = format!("href=\"/projects/{pid}/webhooks/");
    let start = page.body.find(&marker).expect("the webhook is listed") + marker.len();
    let wid: i64 = page.body[start..start + page.body[start..].find('"').unwrap()].parse().unwrap();
    let log = br.get(&format!("/projects/{pid}/webhooks/{wid}")).await;
    assert_eq!(log.status, 200);
    assert!(log.body.contains("<td>task.created</td>") && log.body.contains("<td>pending</td>"));
    assert!(!log.body.contains("whsec_"), "the secret is not shown again");

    br.post(&format!("/projects/{pid}/webhooks/{wid}/delete"), &[]).await.redirects_to(&settings);
    let page = br.get(&settings).await;
    assert!(page.body.contains("No webhooks."));
    assert_eq!(br.get(&format!("/projects/{pid}/webhooks/{wid}")).await.status, 404);
});
