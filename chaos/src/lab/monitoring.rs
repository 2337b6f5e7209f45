//! The lab's load balancer and monitoring: HAProxy in front (health-checking
//! `/healthz/ready`), Prometheus scraping every replica with the project's rules
//! (SLO rules generated with the lab's window scale), and Alertmanager delivering to the
//! supervisor's webhook so the runner knows when an alert arrived.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

use super::replica::Replica;

/// Writes the HAProxy configuration with the given (ready) replicas as servers.
pub fn haproxy_config(lab: &Path, lb_port: u16, servers: &[&Replica]) -> String {
    let mut cfg = format!(
        "global\n  maxconn 4000\n  stats socket {sock} mode 600 level admin\n\
         defaults\n  mode http\n  timeout connect 500ms\n  timeout client 30s\n  timeout server 15s\n\
         \x20 timeout queue 5s\n  retries 2\n  option redispatch 1\n  retry-on conn-failure empty-response\n\
         frontend api\n  bind 127.0.0.1:{lb_port}\n  default_backend replicas\n\
         backend replicas\n  balance roundrobin\n  option httpchk GET /healthz/ready\n  http-check expect status 200\n\
         \x20 default-server inter 500ms fall 2 rise 2\n",
        sock = lab.join("haproxy.sock").display()
    );
    for r in servers {
        let _ = writeln!(cfg, "  server {} {} check", r.name, r.addr());
    }
    cfg
}

/// Starts (or gracefully reloads, finishing in-flight requests) HAProxy.
pub fn haproxy_apply(lab: &Path, config: &str) -> anyhow::Result<()> {
    let cfg = lab.join("haproxy.cfg");
    std::fs::write(&cfg, config)?;
    let pidfile = lab.join("haproxy.pid");
    let old = std::fs::read_to_string(&pidfile).ok().map(|p| p.trim().to_string()).filter(|p| !p.is_empty());
    let mut cmd = std::process::Command::new("haproxy");
    cmd.args(["-f", &cfg.to_string_lossy(), "-D", "-p", &pidfile.to_string_lossy()]);
    if let Some(old) = &old {
        cmd.args(["-sf", old]);
    }
    let out = cmd.stdin(Stdio::null()).output().context("starting haproxy")?;
    if !out.status.success() {
        bail!("haproxy: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Server name → status (UP, DOWN, ...) from HAProxy's stats socket.
pub async fn haproxy_status(lab: &Path) -> Vec<(String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::UnixStream::connect(lab.join("haproxy.sock")).await else { return vec![] };
    if s.write_all(b"show stat\n").await.is_err() {
        return vec![];
    }
    let mut out = String::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), s.read_to_string(&mut out)).await;
    out.lines()
        .filter(|l| l.starts_with("replicas,") && !l.starts_with("replicas,BACKEND"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.get(1)?.to_string(), f.get(17)?.to_string()))
        })
        .collect()
}

/// Scrapes the replicas (file service discovery) and the supervisor's drill gauge
/// (`task_manager_chaos_drill_active`, labelled `namespace="lab"` like the replicas).
pub fn prometheus_config(lab: &Path, am_port: u16, control_port: u16) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {rules}/*.yml\n\
         alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n\
         scrape_configs:\n  - job_name: task-manager\n    file_sd_configs:\n      - files: ['{targets}']\n        refresh_interval: 1s\n\
         \x20 - job_name: chaos\n    static_configs:\n      - targets: ['127.0.0.1:{control_port}']\n        labels: {{namespace: lab}}\n",
        rules = lab.join("rules").display(),
        targets = lab.join("targets.json").display()
    )
}

/// Prometheus' file service discovery: one target per replica with its pod and zone.
pub fn write_targets(lab: &Path, replicas: &[&Replica]) -> anyhow::Result<()> {
    let groups: Vec<serde_json::Value> = replicas
        .iter()
        .map(|r| {
            serde_json::json!({"targets": [r.addr()], "labels": {"pod": r.name, "zone": r.zone, "namespace": "lab"}})
        })
        .collect();
    let tmp = lab.join("targets.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&groups)?)?;
    std::fs::rename(tmp, lab.join("targets.json"))?;
    Ok(())
}

/// The project's Alertmanager configuration (`alerts/alertmanager.yml`) made to run in
/// the lab: the same routes, matchers, receivers and inhibition rules, but every webhook
/// delivers to `webhook` (the supervisor notes when and to which receiver), mail goes to
/// the lab's SMTP relay without TLS or authentication, and the grouping waits are
/// multiplied by `scale`, like the SLO rules' windows (repeat intervals stay: no drill
/// measures a repeat, and a scaled heartbeat would arrive every second).
pub fn alertmanager_config(project: &str, webhook: &str, smarthost: &str, scale: f64) -> anyhow::Result<String> {
    use serde_norway::Value;
    let mut cfg: Value = serde_norway::from_str(project).context("alerts/alertmanager.yml is not YAML")?;
    let global = cfg.get_mut("global").and_then(Value::as_mapping_mut).context("no global section")?;
    global.insert("smtp_smarthost".into(), smarthost.into());
    global.insert("smtp_require_tls".into(), false.into());
    for key in ["smtp_auth_username", "smtp_auth_password", "smtp_auth_password_file"] {
        global.remove(key);
    }
    let receivers = cfg.get_mut("receivers").and_then(Value::as_sequence_mut).context("no receivers")?;
    for r in receivers {
        for w in r.get_mut("webhook_configs").and_then(Value::as_sequence_mut).into_iter().flatten() {
            if let Some(w) = w.as_mapping_mut() {
                w.insert("url".into(), webhook.into());
            }
        }
    }
    scale_route(cfg.get_mut("route").context("no route")?, scale)?;
    Ok(serde_norway::to_string(&cfg)?)
}

fn scale_route(route: &mut serde_norway::Value, scale: f64) -> anyhow::Result<()> {
    for key in ["group_wait", "group_interval"] {
        if let Some(v) = route.get_mut(key) {
            let span = crate::experiment::Span::parse(v.as_str().unwrap_or_default()).map_err(anyhow::Error::msg)?;
            *v = format!("{}ms", (span.0.as_secs_f64() * scale * 1000.0).round() as u64).into();
        }
    }
    for child in route.get_mut("routes").and_then(serde_norway::Value::as_sequence_mut).into_iter().flatten() {
        scale_route(child, scale)?;
    }
    Ok(())
}

/// Copies the project's rules into the lab: the cause alerts as they are, the SLO rules
/// regenerated with the lab's window scale (`task-manager-slo generate --window-scale`).
pub fn install_rules(lab: &Path, repo: &Path, slo_bin: &Path, window_scale: &str) -> anyhow::Result<()> {
    let rules = lab.join("rules");
    std::fs::create_dir_all(&rules)?;
    std::fs::copy(repo.join("alerts/task-manager.rules.yml"), rules.join("task-manager.rules.yml"))
        .context("copying alerts/task-manager.rules.yml")?;
    let out = std::process::Command::new(slo_bin)
        .current_dir(repo)
        .args(["generate", "--window-scale", window_scale, "--out"])
        .arg(rules.join("slo.rules.yml"))
        .output()
        .with_context(|| format!("running {}", slo_bin.display()))?;
    if !out.status.success() {
        bail!("task-manager-slo generate: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

pub fn start_prometheus(lab: &Path, port: u16, am_port: u16, control_port: u16) -> anyhow::Result<Child> {
    std::fs::write(lab.join("prometheus.yml"), prometheus_config(lab, am_port, control_port))?;
    let log = std::fs::File::create(lab.join("prometheus.log"))?;
    Command::new("prometheus")
        .arg(format!("--config.file={}", lab.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", lab.join("prometheus-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(["--web.enable-lifecycle", "--rules.alert.resend-delay=1s", "--log.level=warn"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting prometheus (apt-get install prometheus)")
}

/// Starts Alertmanager with the project's configuration made for the lab (checked with
/// `amtool check-config` first) and the project's templates.
pub fn start_alertmanager(lab: &Path, repo: &Path, port: u16, webhook: &str, scale: f64) -> anyhow::Result<Child> {
    let project =
        std::fs::read_to_string(repo.join("alerts/alertmanager.yml")).context("reading alerts/alertmanager.yml")?;
    let smarthost = format!("{}:{}", super::mail::relay_host(), super::mail::PORT);
    let file = lab.join("alertmanager.yml");
    std::fs::write(&file, alertmanager_config(&project, webhook, &smarthost, scale)?)?;
    std::fs::create_dir_all(lab.join("templates"))?;
    for t in std::fs::read_dir(repo.join("alerts/templates"))?.flatten() {
        std::fs::copy(t.path(), lab.join("templates").join(t.file_name()))?;
    }
    let check =
        std::process::Command::new("amtool").arg("check-config").arg(&file).output().context("running amtool")?;
    if !check.status.success() {
        bail!("amtool check-config {}: {}", file.display(), String::from_utf8_lossy(&check.stdout));
    }
    let log = std::fs::File::create(lab.join("alertmanager.log"))?;
    Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", file.display()))
        .arg(format!("--storage.path={}", lab.join("alertmanager-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(["--cluster.listen-address=", "--log.level=warn"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting alertmanager (apt-get install prometheus-alertmanager)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lab_alertmanager_keeps_the_projects_routing() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let project = std::fs::read_to_string(repo.join("alerts/alertmanager.yml")).unwrap();
        let text =
            alertmanager_config(&project, "http://127.0.0.1:9/alertmanager", "10.213.20.2:2525", 1.0 / 60.0).unwrap();
        let lab: serde_norway::Value = serde_norway::from_str(&text).unwrap();
        let ours: serde_norway::Value = serde_norway::from_str(&project).unwrap();
        // Same receivers, inhibition rules and routing tree (receivers and matchers).
        let names = |v: &serde_norway::Value| -> Vec<String> {
            v["receivers"].as_sequence().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect()
        };
        assert_eq!(names(&lab), names(&ours));
        assert_eq!(lab["inhibit_rules"], ours["inhibit_rules"]);
        let routes = |v: &serde_norway::Value| v["route"]["routes"].as_sequence().unwrap().len();
        assert_eq!(routes(&lab), routes(&ours));
        assert_eq!(lab["route"]["routes"][1]["matchers"], ours["route"]["routes"][1]["matchers"]);
        // Delivered inside the lab, waits scaled, repeats as they are.
        assert!(!text.contains("example.invalid/"), "a webhook still points outside the lab:\n{text}");
        assert!(!text.contains("smtp_auth_password_file"));
        assert_eq!(lab["global"]["smtp_smarthost"].as_str(), Some("10.213.20.2:2525"));
        assert_eq!(lab["route"]["group_wait"].as_str(), Some("500ms"));
        assert_eq!(lab["route"]["group_interval"].as_str(), Some("5000ms"));
        assert_eq!(lab["route"]["repeat_interval"], ours["route"]["repeat_interval"]);
    }
}
