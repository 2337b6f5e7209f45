//! The drill gauge the dashboards and rules read (`task_manager_chaos_drill_active`):
//! the supervisor's drill routes, scraped by a real Prometheus with the lab's own
//! configuration, show 1 while a drill runs and 0 once it ended, labelled with the
//! experiment and the lab's namespace. No root needed: only the supervisor's HTTP side
//! and Prometheus run, on loopback.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use task_manager_chaos::lab::{drill, monitoring};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The value of `query` in Prometheus, once it has one equal to `want` (bounded wait).
async fn wait_for(http: &reqwest::Client, prom: &str, query: &str, want: f64) {
    let mut last = serde_json::Value::Null;
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{prom}/api/v1/query")).query(&[("query", query)]).send().await {
            if let Ok(body) = r.json::<serde_json::Value>().await {
                let value = body["data"]["result"][0]["value"][1].as_str().and_then(|v| v.parse::<f64>().ok());
                if value == Some(want) {
                    return;
                }
                last = body;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{query} never became {want}; last answer: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_drill_is_visible_in_the_labs_prometheus() {
    let drills = drill::Drills::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let control_port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, drill::router(drills)).await });
    let control = format!("http://127.0.0.1:{control_port}");
    let http = reqwest::Client::new();

    // The routes: a name that is not an experiment id is refused and adds no series.
    let r = http.put(format!("{control}/drill/bad%20name%22")).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let r = http.put(format!("{control}/drill/05-database-failover")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let text = http.get(format!("{control}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("# TYPE task_manager_chaos_drill_active gauge"), "{text}");
    assert!(text.contains("task_manager_chaos_drill_active{experiment=\"05-database-failover\"} 1\n"), "{text}");
    assert!(!text.contains("bad"), "{text}");

    // The lab's Prometheus configuration, run for real.
    let lab = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(lab.path().join("rules")).unwrap();
    monitoring::write_targets(lab.path(), &[]).unwrap();
    let prom_port = free_port();
    let config = lab.path().join("prometheus.yml");
    std::fs::write(&config, monitoring::prometheus_config(lab.path(), free_port(), control_port)).unwrap();
    let _prom = Killed(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", lab.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("prometheus runs (apt-get install prometheus)"),
    );
    let prom = format!("http://127.0.0.1:{prom_port}");
    let query =
        "max by (experiment) (task_manager_chaos_drill_active{namespace=\"lab\",experiment=\"05-database-failover\"})";
    wait_for(&http, &prom, query, 1.0).await;

    let r = http.delete(format!("{control}/drill/05-database-failover")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    wait_for(&http, &prom, query, 0.0).await;
}
