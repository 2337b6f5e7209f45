//! Metrics: exact names, labels and counts after a scripted set of requests; the
//! cardinality bound (unknown URLs and distinct ids add no series); docs/metrics.md and
//! the live registry agree; build_info names this build.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use reqwest::{Client, Method};
use serde_json::json;

use crate::{common::*, prom};

const HTTP_LABELS: [&str; 3] = ["http_request_method", "http_route", "http_response_status_code"];

fn requests(samples: &[prom::Sample], method: &str, route: &str, status: &str) -> f64 {
    prom::value(
        samples,
        "http_server_requests_total",
        &[("http_request_method", method), ("http_route", route), ("http_response_status_code", status)],
    )
    .unwrap_or(0.0)
}

async fn send(client: &Client, method: Method, url: String) -> u16 {
    client.request(method, url).send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn red_metrics_have_exact_names_labels_and_counts() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (c, _) = app.user("ada").await; // register 201 + login 200
    let (s, p) = app.call(&c, Method::POST, "/api/v1/projects", Some(json!({"name": "Metrics"}))).await;
    assert_eq!(s, 201);
    let pid = p["id"].as_i64().unwrap();
    let (s, t) =
        app.call(&c, Method::POST, &format!("/api/v1/projects/{pid}/tasks"), Some(json!({"title": "x"}))).await;
    assert_eq!(s, 201);
    let tid = t["id"].as_i64().unwrap();
    for _ in 0..3 {
        assert_eq!(send(&c, Method::GET, app.url(&format!("/api/v1/tasks/{tid}"))).await, 200);
    }
    for id in [tid + 1000, tid + 2000] {
        assert_eq!(send(&c, Method::GET, app.url(&format!("/api/v1/tasks/{id}"))).await, 404);
    }
    let anonymous = app.client();
    assert_eq!(send(&anonymous, Method::GET, app.url("/api/v1/me")).await, 401);
    for path in ["/no/such/path", "/api/v1/nope", "/favicon.ico?x=1"] {
        assert_eq!(send(&anonymous, Method::GET, app.url(path)).await, 404);
    }
    assert_eq!(send(&c, Method::PUT, app.url(&format!("/api/v1/tasks/{tid}"))).await, 405);
    assert_eq!(send(&c, Method::from_bytes(b"BREW").unwrap(), app.url("/api/v1/tasks")).await, 405);
    let r = c
        .post(app.url("/api/v1/projects"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // The scrape: the scrape request itself is the one GET in flight.
    let text = app.metrics().await;
    let s = prom::parse(&text);
    let expected: &[(&str, &str, &str, f64)] = &[
        ("POST", "/api/v1/auth/register", "201", 1.0),
        ("POST", "/api/v1/auth/login", "200", 1.0),
        ("POST", "/api/v1/projects", "201", 1.0),
        ("POST", "/api/v1/projects", "400", 1.0),
        ("POST", "/api/v1/projects/{id}/tasks", "201", 1.0),
        ("GET", "/api/v1/tasks/{id}", "200", 3.0),
        ("GET", "/api/v1/tasks/{id}", "404", 2.0),
        ("GET", "/api/v1/me", "401", 1.0),
        ("GET", "unmatched", "404", 3.0),
        ("PUT", "/api/v1/tasks/{id}", "405", 1.0),
        ("_OTHER", "/api/v1/tasks", "405", 1.0),
    ];
    let mut want = BTreeMap::new();
    for (m, r, st, n) in expected {
        want.insert((m.to_string(), r.to_string(), st.to_string()), *n);
    }
    let mut got = BTreeMap::new();
    for x in s.iter().filter(|x| x.name == "http_server_requests_total") {
        let keys: Vec<&str> = x.labels.keys().map(String::as_str).collect();
        assert_eq!(keys, {
            let mut k = HTTP_LABELS.to_vec();
            k.sort();
            k
        });
        let key = (
            x.labels["http_request_method"].clone(),
            x.labels["http_route"].clone(),
            x.labels["http_response_status_code"].clone(),
        );
        got.insert(key, x.value);
    }
    assert_eq!(got, want, "http_server_requests_total series and counts");

    // The histogram has the same series and counts, with the documented buckets.
    let buckets = [
        "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.2", "0.25", "0.5", "0.75", "1", "2.5", "5", "7.5", "10",
        "+Inf",
    ];
    for ((m, r, st), n) in &want {
        let labels = [
            ("http_request_method", m.as_str()),
            ("http_route", r.as_str()),
            ("http_response_status_code", st.as_str()),
        ];
        assert_eq!(prom::value(&s, "http_server_request_duration_seconds_count", &labels), Some(*n), "{labels:?}");
        assert!(prom::value(&s, "http_server_request_duration_seconds_sum", &labels).is_some());
        let les: Vec<&str> = s
            .iter()
            .filter(|x| {
                x.name == "http_server_request_duration_seconds_bucket"
                    && labels.iter().all(|(k, v)| x.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|x| x.labels["le"].as_str())
            .collect();
        assert_eq!(les, buckets, "{labels:?}");
        let inf = labels.iter().copied().chain([("le", "+Inf")]).collect::<Vec<_>>();
        assert_eq!(prom::value(&s, "http_server_request_duration_seconds_bucket", &inf), Some(*n));
    }
    assert_eq!(requests(&s, "GET", "/metrics", "200"), 0.0, "a scrape is counted after it is answered");
    assert_eq!(prom::value(&s, "http_server_active_requests", &[("http_request_method", "GET")]), Some(1.0));
    for m in ["POST", "PUT", "_OTHER"] {
        assert_eq!(prom::value(&s, "http_server_active_requests", &[("http_request_method", m)]), Some(0.0), "{m}");
    }

    // Business and sign-in counters.
    assert_eq!(prom::value(&s, "task_manager_tasks_created_total", &[]), Some(1.0));
    assert_eq!(prom::value(&s, "task_manager_tasks_completed_total", &[]), Some(0.0));
    assert_eq!(prom::value(&s, "task_manager_users_registered_total", &[]), Some(1.0));
    assert_eq!(prom::value(&s, "task_manager_login_attempts_total", &[("outcome", "success")]), Some(1.0));
    assert_eq!(prom::value(&s, "task_manager_login_attempts_total", &[("outcome", "failure")]), Some(0.0));
    assert_eq!(prom::value(&s, "task_manager_login_attempts_total", &[("outcome", "throttled")]), Some(0.0));
    assert_eq!(prom::value(&s, "task_manager_ready", &[]), Some(1.0));
    assert_eq!(prom::value(&s, "db_client_connections_max", &[]), Some(10.0));

    // Database operations: only names from the fixed set, outcome ok or error.
    let known: BTreeSet<&str> = task_manager::db::op::ALL.iter().map(|o| o.name).collect();
    let mut seen = BTreeSet::new();
    for x in s.iter().filter(|x| x.name == "db_client_operation_duration_seconds_count") {
        let op = x.labels["db_operation_name"].as_str();
        assert!(known.contains(op), "unknown db_operation_name {op}");
        assert!(["ok", "error"].contains(&x.labels["outcome"].as_str()), "{:?}", x.labels);
        assert_eq!(x.labels.len(), 2, "{:?}", x.labels);
        seen.insert(op.to_owned());
    }
    for op in ["user.insert", "session.insert", "session.get", "project.insert", "task.insert", "task.get"] {
        assert!(seen.contains(op), "no {op} observation in {seen:?}");
    }
    assert!(
        prom::value(
            &s,
            "db_client_operation_duration_seconds_count",
            &[("db_operation_name", "task.get"), ("outcome", "ok")]
        )
        .is_some_and(|n| n >= 5.0),
        "every GET of a task reads it"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_info_names_this_version_and_commit() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.zone = Some("zone-a".into())).await;
    let s = prom::parse(&app.metrics().await);
    let info: Vec<_> = s.iter().filter(|x| x.name == "task_manager_build_info").collect();
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0].labels["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info[0].labels["commit"], task_manager::GIT_COMMIT);
    assert!(!info[0].labels["commit"].is_empty());
    assert_eq!(info[0].labels["zone"], "zone-a");
    assert_eq!(info[0].value, 1.0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_urls_and_distinct_task_ids_add_no_series() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (c, _) = app.user("scanner").await;
    let anonymous = app.client();
    let other = Method::from_bytes(b"PROBE0").unwrap();
    // One request of each kind first: these create the series the flood may use.
    assert_eq!(send(&anonymous, Method::GET, app.url("/warm/up")).await, 404);
    assert_eq!(send(&anonymous, Method::POST, app.url("/warm/up")).await, 404);
    assert_eq!(send(&anonymous, other, app.url("/warm/up")).await, 404);
    assert_eq!(send(&c, Method::GET, app.url("/api/v1/tasks/999999999")).await, 404);
    let before_text = app.metrics().await;
    let before = prom::series_count(&before_text);
    let unmatched_before = requests(&prom::parse(&before_text), "GET", "unmatched", "404");

    let started = std::time::Instant::now();
    let unknown = futures::stream::iter(0..10_000)
        .map(|i| {
            let (client, url) = (
                anonymous.clone(),
                app.url(&match i % 4 {
                    0 => format!("/scan/{i}"),
                    1 => format!("/api/v1/nothing-{i}/x?y={i}"),
                    2 => format!("/api/v1/tasks/{i}/unknown/{i}"),
                    _ => format!("/wp-admin/{i}.php"),
                }),
            );
            let method = match i % 100 {
                0 => Method::from_bytes(format!("PROBE{i}").as_bytes()).unwrap(),
                1 => Method::POST,
                _ => Method::GET,
            };
            async move { send(&client, method, url).await }
        })
        .buffer_unordered(32)
        .collect::<Vec<u16>>()
        .await;
    assert!(unknown.iter().all(|&s| s == 404), "unknown URLs answer 404");
    let ids = futures::stream::iter(0..10_000)
        .map(|i| {
            let (client, url) = (c.clone(), app.url(&format!("/api/v1/tasks/{}", 1_000_000 + i)));
            async move { send(&client, Method::GET, url).await }
        })
        .buffer_unordered(32)
        .collect::<Vec<u16>>()
        .await;
    assert!(ids.iter().all(|&s| s == 404), "unknown task ids answer 404");
    eprintln!("20 000 requests in {:?}", started.elapsed());

    let after_text = app.metrics().await;
    let after = prom::parse(&after_text);
    // The scrape before this one is now counted: GET /metrics 200 is the one new series.
    assert_eq!(requests(&after, "GET", "/metrics", "200"), 1.0);
    let new_scrape_series = 1 /* counter */ + 1 /* count */ + 1 /* sum */ + 16 /* buckets */;
    assert_eq!(after.len(), before + new_scrape_series, "no series from unknown URLs or ids:\n{after_text}");
    assert_eq!(requests(&after, "GET", "unmatched", "404") - unmatched_before, 10_000.0 - 100.0 - 100.0);
    assert_eq!(requests(&after, "POST", "unmatched", "404"), 1.0 + 100.0);
    assert_eq!(requests(&after, "_OTHER", "unmatched", "404"), 1.0 + 100.0);
    assert_eq!(requests(&after, "GET", "/api/v1/tasks/{id}", "404"), 10_001.0);
    assert!(!after_text.contains("/scan/") && !after_text.contains("PROBE"));
    app.stop().await;
}

/// Rows of the table in docs/metrics.md: name → (type, labels).
fn documented() -> BTreeMap<String, (String, BTreeSet<String>)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md")).unwrap();
    let mut rows = BTreeMap::new();
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let name = cells[0].trim_matches('`').to_owned();
        let kind = cells[1].to_owned();
        let labels = cells[2]
            .split(',')
            .map(|l| l.trim().trim_matches('`').to_owned())
            .filter(|l| !l.is_empty() && l != "—" && l != "-")
            .collect();
        assert!(rows.insert(name.clone(), (kind, labels)).is_none(), "{name} documented twice");
    }
    assert!(rows.len() > 10, "the table in docs/metrics.md was not found");
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_metrics_table_and_live_registry_agree() {
    // Jobs every second, so their series exist; a little traffic for the histograms.
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.schedule_metrics_refresh = "* * * * * *".into();
        c.schedule_cleanup = "* * * * * *".into();
    })
    .await;
    let (c, _) = app.user("doc").await;
    let (s, _) = app.call(&c, Method::POST, "/api/v1/projects", Some(json!({"name": "Doc"}))).await;
    assert_eq!(s, 201);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let text = loop {
        let text = app.metrics().await;
        let s = prom::parse(&text);
        // The last-success gauge exists from the process start; a finished run shows in
        // the runs counter.
        let ran = |job| {
            prom::value(&s, "task_manager_job_runs_total", &[("job", job), ("outcome", "ok")]).is_some_and(|v| v > 0.0)
        };
        if ran("metrics_refresh") && ran("cleanup") {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "jobs did not run within 15 s:\n{text}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let families = prom::families(&text);
    let samples = prom::parse(&text);
    let docs = documented();
    for (name, (kind, labels)) in &docs {
        let Some(live) = families.get(name) else {
            if name.starts_with("process_") && !cfg!(target_os = "linux") {
                continue;
            }
            panic!("{name} is documented but not exported");
        };
        assert_eq!(live, kind, "type of {name}");
        let mut live_labels = BTreeSet::new();
        for x in samples.iter().filter(|x| {
            x.name == *name
                || [format!("{name}_bucket"), format!("{name}_sum"), format!("{name}_count")].contains(&x.name)
        }) {
            live_labels.extend(x.labels.keys().filter(|k| *k != "le").cloned());
        }
        assert_eq!(&live_labels, labels, "labels of {name}");
    }
    for name in families.keys() {
        assert!(docs.contains_key(name), "{name} is exported but not in docs/metrics.md");
    }
    app.stop().await;
}
