//! The lab target: the whole stack on one machine without containers. Three zones as
//! network namespaces, replicas of the real binary in cgroup CPU limits, HAProxy,
//! a PostgreSQL primary and synchronous standby, Prometheus and Alertmanager, an SMTP
//! relay, and a supervisor that plays Kubernetes, the HPA and RDS. `lab up | down | status`.

pub mod drill;
pub mod mail;
pub mod monitoring;
pub mod net;
pub mod postgres;
pub mod proxy;
pub mod replica;
pub mod supervisor;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabConfig {
    pub dir: PathBuf,
    pub repo: PathBuf,
    /// Initial replicas (default: the chart's minReplicas).
    pub replicas: Option<u32>,
    /// Multiplies every HPA window and period (0.1: the chart's 300 s window is 30 s).
    pub time_scale: f64,
    /// Multiplies the SLO rules' windows (`task-manager-slo generate --window-scale`).
    pub slo_window_scale: String,
    pub tm_bin: PathBuf,
    pub chaos_bin: PathBuf,
    pub slo_bin: PathBuf,
    /// The tools' Python with aiosmtpd (the lab's SMTP relay).
    #[serde(default)]
    pub python: PathBuf,
    pub values: PathBuf,
    pub lb_port: u16,
    pub prometheus_port: u16,
    pub alertmanager_port: u16,
    pub control_port: u16,
    /// Namespaces when the machine has them; `TM_CHAOS_NETWORK=loopback` (or `lab up
    /// --network loopback`) asks for the loopback fallback.
    #[serde(default)]
    pub network: net::Network,
}

impl LabConfig {
    pub fn new(dir: PathBuf, repo: PathBuf) -> anyhow::Result<LabConfig> {
        let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo.join("target"));
        let tm_bin = std::env::var_os("TM_BIN").map(PathBuf::from).unwrap_or_else(|| target.join("debug/task-manager"));
        Ok(LabConfig {
            dir,
            values: repo.join("helm/task-manager/values.yaml"),
            slo_bin: target.join("debug/task-manager-slo"),
            repo,
            replicas: None,
            time_scale: 0.1,
            slo_window_scale: "1/60".into(),
            tm_bin,
            python: PathBuf::new(),
            chaos_bin: std::env::current_exe()?,
            lb_port: 18080,
            prometheus_port: 19090,
            alertmanager_port: 19093,
            control_port: 19100,
            network: match std::env::var("TM_CHAOS_NETWORK").as_deref() {
                Ok("loopback") => net::Network::Loopback,
                _ => net::Network::Namespaces,
            },
        })
    }

    /// The SLO window scale as a number (`1/60` → 0.0167).
    pub fn slo_scale(&self) -> f64 {
        let s = self.slo_window_scale.trim();
        match s.split_once('/') {
            Some((a, b)) => a.trim().parse::<f64>().unwrap_or(1.0) / b.trim().parse::<f64>().unwrap_or(1.0),
            None => s.parse().unwrap_or(1.0),
        }
    }

    pub fn control_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.control_port)
    }

    fn file(dir: &Path) -> PathBuf {
        dir.join("lab.json")
    }

    pub fn load(dir: &Path) -> anyhow::Result<LabConfig> {
        let text = std::fs::read(Self::file(dir))
            .with_context(|| format!("no lab in {} (run `task-manager-chaos lab up`)", dir.display()))?;
        let cfg: LabConfig = serde_json::from_slice(&text)?;
        net::set_mode(cfg.network);
        Ok(cfg)
    }
}

pub fn default_dir() -> PathBuf {
    std::env::var_os("TM_CHAOS_LAB_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp/tm-chaos-lab"))
}

/// What the lab needs on the machine; the chaos test script installs the packages.
fn check_tools(cfg: &LabConfig) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    for tool in ["ip", "iptables", "haproxy", "prometheus", "prometheus-alertmanager", "amtool", "psql", "runuser"] {
        if std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            missing.push(tool.to_string());
        }
    }
    for file in [
        PathBuf::from(postgres::BIN).join("initdb"),
        cfg.tm_bin.clone(),
        cfg.slo_bin.clone(),
        PathBuf::from("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
        PathBuf::from("/sys/fs/cgroup/cpuacct/cpuacct.usage"),
    ] {
        if !file.exists() {
            missing.push(file.display().to_string());
        }
    }
    if !missing.is_empty() {
        bail!(
            "the lab needs: {} (apt-get install haproxy prometheus prometheus-alertmanager iptables postgresql-client; \
             cargo build -p task-manager -p task-manager-slo; cgroup v1 cpu and cpuacct)",
            missing.join(", ")
        );
    }
    if unsafe { libc::geteuid() } != 0 {
        bail!("the lab creates namespaces, links and cgroups: run it as root");
    }
    Ok(())
}

pub async fn client_status(cfg: &LabConfig) -> anyhow::Result<supervisor::Status> {
    let c = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    Ok(c.get(format!("{}/status", cfg.control_url())).send().await?.error_for_status()?.json().await?)
}

pub async fn up(mut cfg: LabConfig) -> anyhow::Result<()> {
    if let Ok(old) = LabConfig::load(&cfg.dir) {
        if client_status(&old).await.is_ok() {
            println!("the lab is already up ({}); `lab down` first to rebuild it", old.dir.display());
            return Ok(());
        }
        eprintln!("cleaning up a previous lab that is no longer running");
        down(&cfg.dir).await?;
    }
    check_tools(&cfg)?;
    cfg.python = mail::ensure_python(&cfg.repo)?;
    if cfg.network == net::Network::Namespaces && !net::namespaces_available() {
        eprintln!("network namespaces are unavailable here: the zones are groups of loopback addresses instead");
        cfg.network = net::Network::Loopback;
    }
    net::set_mode(cfg.network);
    std::fs::create_dir_all(&cfg.dir)?;
    net::run(&["chmod", "755", &cfg.dir.to_string_lossy()])?;
    std::fs::write(LabConfig::file(&cfg.dir), serde_json::to_vec_pretty(&cfg)?)?;
    std::fs::write(cfg.dir.join("ip_forward.orig"), std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")?)?;
    let result = async {
        net::up()?;
        monitoring::install_rules(&cfg.dir, &cfg.repo, &cfg.slo_bin, &cfg.slo_window_scale)?;
        let log = std::fs::File::create(cfg.dir.join("supervisor.log"))?;
        let mut cmd = std::process::Command::new(&cfg.chaos_bin);
        cmd.args(["lab", "supervise", "--dir"]).arg(&cfg.dir).stdout(log.try_clone()?).stderr(log);
        // Its own process group: Ctrl-C in this terminal reaches `up`, which cleans up.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().context("starting the supervisor")?;
        std::fs::write(cfg.dir.join("supervisor.pid"), child.id().to_string())?;
        wait_healthy(&cfg, &mut child, Duration::from_secs(240)).await
    };
    let outcome = tokio::select! {
        r = result => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Err(e) = outcome {
        let log = std::fs::read_to_string(cfg.dir.join("supervisor.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        eprintln!(
            "lab up failed; supervisor log (last lines):\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
        down(&cfg.dir).await?;
        return Err(e);
    }
    let s = client_status(&cfg).await?;
    print_status(&s);
    Ok(())
}

async fn wait_healthy(cfg: &LabConfig, supervisor: &mut std::process::Child, timeout: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    let c = reqwest::Client::builder().timeout(Duration::from_secs(3)).build()?;
    loop {
        if let Ok(s) = client_status(cfg).await {
            let ready = s.replicas.iter().filter(|r| r.ready && !r.terminating).count() as u32;
            let targets_up = c
                .get(format!("{}/api/v1/query?query=count(up%7Bjob%3D%22task-manager%22%7D%3D%3D1)", s.prometheus_url))
                .send()
                .await
                .ok()
                .map(|r| r.json::<serde_json::Value>());
            let up = match targets_up {
                Some(f) => f
                    .await
                    .ok()
                    .and_then(|v| v.pointer("/data/result/0/value/1").and_then(|x| x.as_str()).map(|x| x.to_string()))
                    .and_then(|x| x.parse::<u32>().ok())
                    .unwrap_or(0),
                None => 0,
            };
            let lb = c.get(format!("{}/healthz/ready", s.lb_url)).send().await.is_ok_and(|r| r.status().is_success());
            if ready == s.desired && up >= s.desired && lb {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the lab did not become healthy within {timeout:?}");
        }
        if let Ok(Some(status)) = supervisor.try_wait() {
            bail!("the supervisor exited ({status})");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn proc_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes everything the lab created: processes (by pid), links, namespaces, iptables
/// rules, cgroups, the directory. Safe to run twice, and after a crash.
pub async fn down(dir: &Path) -> anyhow::Result<()> {
    if let Ok(cfg) = LabConfig::load(dir) {
        let c = reqwest::Client::builder().timeout(Duration::from_secs(3)).build()?;
        let _ = c.post(format!("{}/shutdown", cfg.control_url())).send().await;
    }
    let sup_pid: Option<u32> =
        std::fs::read_to_string(dir.join("supervisor.pid")).ok().and_then(|p| p.trim().parse().ok());
    if let Some(pid) = sup_pid {
        for _ in 0..60 {
            if !proc_alive(pid) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        if proc_alive(pid) {
            supervisor::kill_pid(pid, libc::SIGKILL);
        }
    }
    // Whatever a crashed supervisor left: processes in the lab's cgroups, postmasters,
    // HAProxy, and processes still inside the lab's namespaces.
    for root in ["/sys/fs/cgroup/cpu/tm-chaos", "/sys/fs/cgroup/cpuacct/tm-chaos"] {
        if let Ok(entries) = std::fs::read_dir(root) {
            for e in entries.flatten() {
                for pid in std::fs::read_to_string(e.path().join("cgroup.procs")).unwrap_or_default().lines() {
                    if let Ok(pid) = pid.parse() {
                        supervisor::kill_pid(pid, libc::SIGKILL);
                    }
                }
            }
        }
    }
    for (zone, _) in net::NAMESPACES {
        if let Ok(pid) = std::fs::read_to_string(postgres::data_dir(dir, zone).join("postmaster.pid")) {
            if let Some(pid) = pid.lines().next().and_then(|p| p.trim().parse().ok()) {
                supervisor::kill_pid(pid, libc::SIGKILL);
            }
        }
        if let Ok(pids) = net::run(&["ip", "netns", "pids", &net::netns(zone)]) {
            for pid in pids.lines().filter_map(|p| p.trim().parse().ok()) {
                supervisor::kill_pid(pid, libc::SIGKILL);
            }
        }
    }
    // Prometheus and Alertmanager, if the supervisor died before stopping them (checked
    // by name, so a reused pid is left alone).
    for pid in std::fs::read_to_string(dir.join("host.pids")).unwrap_or_default().lines() {
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", pid.trim())).unwrap_or_default();
        if comm.starts_with("prometheus") {
            if let Ok(pid) = pid.trim().parse() {
                supervisor::kill_pid(pid, libc::SIGKILL);
            }
        }
    }
    if let Ok(pid) = std::fs::read_to_string(dir.join("haproxy.pid")) {
        for pid in pid.lines().filter_map(|p| p.trim().parse().ok()) {
            supervisor::kill_pid(pid, libc::SIGKILL);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ip_forward = std::fs::read_to_string(dir.join("ip_forward.orig")).ok();
    net::down(ip_forward.as_deref().map(str::trim));
    replica::remove_cgroup_roots();
    if dir.join("lab.json").exists() {
        // The logs stay for a post-mortem; the data directories go.
        let logs = dir.with_file_name(format!("{}-logs", dir.file_name().unwrap_or_default().to_string_lossy()));
        let _ = std::fs::create_dir_all(&logs);
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "log")) {
                let _ = std::fs::copy(e.path(), logs.join(e.file_name()));
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
    println!("lab down: processes, namespaces, links, iptables rules, cgroups and {} removed", dir.display());
    Ok(())
}

pub fn print_status(s: &supervisor::Status) {
    println!("network        {}", net::mode().describe());
    println!("load balancer  {}", s.lb_url);
    println!("prometheus     {}", s.prometheus_url);
    println!("alertmanager   {}", s.alertmanager_url);
    println!(
        "database       primary in zone {}, standby {}; endpoint {} -> {} (+{} ms)",
        s.primary_zone,
        s.standby_zone.as_deref().map(|z| format!("in zone {z} (synchronous)")).unwrap_or_else(|| "none".into()),
        net::db_endpoint_addrs().join(","),
        s.endpoint.target,
        s.endpoint.delay_ms
    );
    println!("replicas       {} desired (HPA time scale {})", s.desired, s.time_scale);
    for r in &s.replicas {
        println!(
            "  {:<5} zone {} {:<20} pid {:<7} {}{} cpu {}",
            r.name,
            r.zone,
            r.addr,
            r.pid,
            if r.ready { "ready" } else { "not ready" },
            if r.terminating { " (terminating)" } else { "" },
            r.cpu_percent_of_request.map(|c| format!("{c:.0}% of request")).unwrap_or_else(|| "-".into())
        );
    }
    if !s.faults.is_empty() {
        println!("faults         {}", s.faults.join(", "));
    }
}
