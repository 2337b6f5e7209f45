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

pub fn prometheus_config(lab: &Path, am_port: u16) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {rules}/*.yml\n\
         alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n\
         scrape_configs:\n  - job_name: task-manager\n    file_sd_configs:\n      - files: ['{targets}']\n        refresh_interval: 1s\n",
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

/// Every alert to the supervisor's webhook, fast: the runner measures delivery time.
pub fn alertmanager_config(control_port: u16) -> String {
    format!(
        "route:\n  receiver: lab\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 1h\n\
         receivers:\n  - name: lab\n    webhook_configs:\n      - url: http://127.0.0.1:{control_port}/alertmanager\n        send_resolved: true\n"
    )
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

pub fn start_prometheus(lab: &Path, port: u16, am_port: u16) -> anyhow::Result<Child> {
    std::fs::write(lab.join("prometheus.yml"), prometheus_config(lab, am_port))?;
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

pub fn start_alertmanager(lab: &Path, port: u16, control_port: u16) -> anyhow::Result<Child> {
    std::fs::write(lab.join("alertmanager.yml"), alertmanager_config(control_port))?;
    let log = std::fs::File::create(lab.join("alertmanager.log"))?;
    Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", lab.join("alertmanager.yml").display()))
        .arg(format!("--storage.path={}", lab.join("alertmanager-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(["--cluster.listen-address=", "--log.level=warn"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting alertmanager (apt-get install prometheus-alertmanager)")
}
