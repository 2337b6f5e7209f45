//! The lab's control plane, one process: what Kubernetes, the HPA and RDS do for the
//! real deployment. It keeps the desired number of replicas running over the zones
//! (replacing dead ones, like a ReplicaSet), probes their readiness and puts the ready
//! ones behind HAProxy (like Endpoints), runs the HPA algorithm over their CPU and
//! memory, watches the database primary and promotes the standby when it is gone, runs
//! the SMTP relay, and applies the faults the runner asks for over a small HTTP API on loopback.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::extract::{Path as UrlPath, State as AxState};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::process::Child;
use tokio::sync::Mutex;

use super::replica::{self, Replica, ReplicaView};
use super::{mail, monitoring, net, postgres, proxy, LabConfig};
use crate::experiment::Action;
use crate::hpa::{self, Autoscaler, ChartSettings, PodMetric};

pub fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failover {
    pub from_zone: String,
    pub to_zone: String,
    /// When the monitor first saw the primary gone.
    pub lost_at: f64,
    pub promoted_at: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub at: f64,
    pub current: u32,
    pub recommended: u32,
    pub stabilized: u32,
    pub desired: u32,
    pub pods: u32,
    pub unready: u32,
    pub missing: u32,
    pub cpu_percent_of_request: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertRecord {
    pub at: f64,
    pub alertname: String,
    pub status: String,
    /// The receiver of the project's routing that got it (pager, ticket, heartbeat).
    #[serde(default)]
    pub receiver: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LbEvent {
    pub at: f64,
    pub server: String,
    pub zone: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub now: f64,
    pub desired: u32,
    pub replicas: Vec<ReplicaView>,
    pub primary_zone: String,
    pub standby_zone: Option<String>,
    pub endpoint: proxy::EndpointState,
    pub failovers: Vec<Failover>,
    pub decisions: Vec<DecisionRecord>,
    pub alerts: Vec<AlertRecord>,
    pub lb_events: Vec<LbEvent>,
    pub faults: Vec<String>,
    pub zones_down: Vec<String>,
    pub time_scale: f64,
    pub lb_url: String,
    pub prometheus_url: String,
    pub alertmanager_url: String,
    pub database_url: String,
    pub replaced: u32,
}

struct State {
    cfg: LabConfig,
    chart: ChartSettings,
    desired: u32,
    surge: u32,
    next_id: u32,
    replicas: Vec<Replica>,
    zones_down: BTreeSet<String>,
    partitioned: BTreeSet<String>,
    primary_zone: String,
    standby_zone: Option<String>,
    postgres: Vec<(String, Child)>,
    endpoint: proxy::EndpointState,
    failovers: Vec<Failover>,
    autoscaler: Autoscaler,
    decisions: Vec<DecisionRecord>,
    alerts: Vec<AlertRecord>,
    lb_events: Vec<LbEvent>,
    lb_members: Vec<String>,
    lb_status: Vec<(String, String)>,
    faults: BTreeSet<String>,
    stress: Option<u32>,
    replaced: u32,
    /// The SMTP relay; `None` during an outage.
    smtp: Option<Child>,
    others: Vec<Child>,
    shutting_down: bool,
    /// A planned switchover back to the lab's home topology is under way: not a failure.
    switching_over: bool,
}

type Shared = Arc<Mutex<State>>;

fn endpoint_file(cfg: &LabConfig) -> PathBuf {
    cfg.dir.join("db-endpoint.json")
}

/// The database as a replica of `zone` reaches it (through the endpoint).
fn database_url(zone: &str) -> String {
    format!("postgres://postgres@{}:{}/{}", net::db_endpoint_addr(zone), postgres::PORT, postgres::DATABASE)
}

impl State {
    /// After `zone`'s standby was promoted: it is the primary, no standby is left, and the
    /// database endpoint follows it (closing the connections to the old one).
    fn promoted(&mut self, zone: &str) -> anyhow::Result<()> {
        self.primary_zone = zone.to_string();
        self.standby_zone = None;
        self.endpoint.target = format!("{}:{}", net::ns_addr(zone), postgres::PORT);
        self.endpoint.generation += 1;
        self.write_endpoint()
    }

    fn behavior(&self) -> hpa::Behavior {
        self.chart.behavior().scaled(self.cfg.time_scale)
    }

    fn status(&self) -> Status {
        Status {
            now: now(),
            desired: self.desired,
            replicas: self.replicas.iter().map(|r| r.view(self.chart.resources.cpu_request)).collect(),
            primary_zone: self.primary_zone.clone(),
            standby_zone: self.standby_zone.clone(),
            endpoint: self.endpoint.clone(),
            failovers: self.failovers.clone(),
            decisions: self.decisions.clone(),
            alerts: self.alerts.clone(),
            lb_events: self.lb_events.clone(),
            faults: self.faults.iter().cloned().collect(),
            zones_down: self.zones_down.iter().cloned().collect(),
            time_scale: self.cfg.time_scale,
            lb_url: format!("http://127.0.0.1:{}", self.cfg.lb_port),
            prometheus_url: format!("http://127.0.0.1:{}", self.cfg.prometheus_port),
            alertmanager_url: format!("http://127.0.0.1:{}", self.cfg.alertmanager_port),
            database_url: format!(
                "postgres://postgres@{}:{}/{}",
                net::ns_addr(&self.primary_zone),
                postgres::PORT,
                postgres::DATABASE
            ),
            replaced: self.replaced,
        }
    }

    fn write_endpoint(&self) -> anyhow::Result<()> {
        proxy::write_state(&endpoint_file(&self.cfg), &self.endpoint)
    }

    /// A zone for a new replica: the available zone with the fewest replicas (spread
    /// like a topology spread constraint on the zone label).
    fn pick_zone(&self) -> Option<String> {
        ["a", "b", "c"]
            .into_iter()
            .filter(|z| !self.zones_down.contains(*z))
            .min_by_key(|z| self.replicas.iter().filter(|r| r.zone == *z && !r.terminating).count())
            .map(str::to_string)
    }

    fn start_replica(&mut self, zone: Option<String>) -> anyhow::Result<String> {
        let Some(zone) = zone.or_else(|| self.pick_zone()) else { bail!("no zone is available") };
        self.next_id += 1;
        let id = self.next_id;
        let r = replica::spawn(replica::Spawn {
            bin: &self.cfg.tm_bin,
            lab: &self.cfg.dir,
            name: format!("r{id}"),
            database_url: database_url(&zone),
            zone,
            port: 8100 + id as u16,
            cpu_limit: self.chart.resources.cpu_limit,
            now: now(),
            settings: mail::replica_settings(self.cfg.time_scale),
        })?;
        let name = r.name.clone();
        self.replicas.push(r);
        Ok(name)
    }

    fn kill_replica(&mut self, name: &str) {
        if let Some(r) = self.replicas.iter_mut().find(|r| r.name == name) {
            kill_pid(r.pid, libc::SIGKILL);
            for b in &mut r.burners {
                let _ = b.start_kill();
            }
        }
    }

    fn terminate_replica(&mut self, name: &str) {
        if let Some(r) = self.replicas.iter_mut().find(|r| r.name == name) {
            r.terminating = true;
            kill_pid(r.pid, libc::SIGTERM);
        }
    }

    fn active(&self) -> impl Iterator<Item = &Replica> {
        self.replicas.iter().filter(|r| !r.terminating)
    }
}

pub fn kill_pid(pid: u32, sig: i32) {
    if pid > 1 {
        // SAFETY: kill(2) on a process id this lab started; no memory is involved.
        unsafe {
            libc::kill(pid as i32, sig);
        }
    }
}

fn pid_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    pid > 1 && unsafe { libc::kill(pid as i32, 0) } == 0
}

/// The postmaster's pid, from its data directory.
fn postmaster_pid(cfg: &LabConfig, zone: &str) -> Option<u32> {
    std::fs::read_to_string(postgres::data_dir(&cfg.dir, zone).join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Kills a process and its children (a postmaster and its backends), by pid.
fn kill_tree(pid: u32) {
    let mut children = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else { continue };
            let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
            if after.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
                children.push(child);
            }
        }
    }
    kill_pid(pid, libc::SIGKILL);
    for c in children {
        kill_pid(c, libc::SIGKILL);
    }
}

/// Builds the database (primary in zone a, synchronous standby in zone b), the
/// endpoint proxy, monitoring and the first replicas, then serves the control API.
pub async fn run(cfg: LabConfig) -> anyhow::Result<()> {
    let chart = ChartSettings::from_values_file(&cfg.values)?;
    let behavior = chart.behavior().scaled(cfg.time_scale);
    let dir = cfg.dir.clone();
    postgres::init_primary(&dir, "a", "b")?;
    let mut pg = vec![("a".to_string(), postgres::start(&dir, "a")?)];
    postgres::wait_accepting("a", Duration::from_secs(30)).await?;
    // Create the database before the standby exists, so nothing waits for it.
    postgres::psql("a", "postgres", "alter system set synchronous_standby_names = ''").await?;
    postgres::psql("a", "postgres", "select pg_reload_conf()").await?;
    postgres::psql("a", "postgres", &format!("create database {}", postgres::DATABASE)).await?;
    postgres::base_backup(&dir, "b", "a").await?;
    pg.push(("b".to_string(), postgres::start(&dir, "b")?));
    postgres::require_standby("a", "b").await?;
    wait_until(Duration::from_secs(30), "the standby in zone b to stream synchronously", || {
        postgres::standby_is_sync("a", "b")
    })
    .await?;

    let endpoint = proxy::EndpointState {
        target: format!("{}:{}", net::ns_addr("a"), postgres::PORT),
        delay_ms: 0,
        generation: 1,
    };
    proxy::write_state(&endpoint_file(&cfg), &endpoint)?;
    let proxy_log = std::fs::File::create(dir.join("db-endpoint.log"))?;
    let listen: Vec<String> = net::db_endpoint_addrs().iter().map(|a| format!("{a}:{}", postgres::PORT)).collect();
    let proxy_child = net::zone_command("db", &cfg.chaos_bin)
        .args(["lab", "db-endpoint", "--listen", &listen.join(",")])
        .arg("--state")
        .arg(endpoint_file(&cfg))
        .stdout(proxy_log.try_clone()?)
        .stderr(proxy_log)
        .spawn()?;

    let smtp = mail::start(&dir, &cfg.repo, &cfg.python)?;
    mail::wait_listening(Duration::from_secs(30)).await?;
    monitoring::write_targets(&dir, &[])?;
    let prom = monitoring::start_prometheus(&dir, cfg.prometheus_port, cfg.alertmanager_port, cfg.control_port)?;
    let webhook = format!("{}/alertmanager", cfg.control_url());
    let am = monitoring::start_alertmanager(&dir, &cfg.repo, cfg.alertmanager_port, &webhook, cfg.slo_scale())?;
    monitoring::haproxy_apply(&dir, &monitoring::haproxy_config(&dir, cfg.lb_port, &[]))?;

    // For `lab down` after a crash of this process: what runs on the host.
    let host_pids: Vec<String> = [prom.id(), am.id()].into_iter().flatten().map(|p| p.to_string()).collect();
    std::fs::write(dir.join("host.pids"), host_pids.join("\n"))?;
    let desired = cfg.replicas.unwrap_or(chart.hpa.min_replicas);
    let state = Arc::new(Mutex::new(State {
        autoscaler: Autoscaler::new(chart.hpa.min_replicas, chart.hpa.max_replicas, behavior),
        chart,
        desired,
        surge: 0,
        next_id: 0,
        replicas: Vec::new(),
        zones_down: BTreeSet::new(),
        partitioned: BTreeSet::new(),
        primary_zone: "a".into(),
        standby_zone: Some("b".into()),
        postgres: pg,
        endpoint,
        failovers: Vec::new(),
        decisions: Vec::new(),
        alerts: Vec::new(),
        lb_events: Vec::new(),
        lb_members: Vec::new(),
        lb_status: Vec::new(),
        faults: BTreeSet::new(),
        stress: None,
        replaced: 0,
        smtp: Some(smtp),
        others: vec![proxy_child, prom, am],
        shutting_down: false,
        switching_over: false,
        cfg: cfg.clone(),
    }));
    // The first replica runs the migrations alone; the others start once it is ready.
    state.lock().await.start_replica(Some("a".into()))?;
    tokio::spawn(reconcile_loop(state.clone()));
    tokio::spawn(probe_loop(state.clone()));
    tokio::spawn(autoscale_loop(state.clone()));
    tokio::spawn(failover_loop(state.clone()));
    tokio::spawn(lb_watch_loop(state.clone()));

    let app = Router::new()
        .route("/status", get(status))
        .route("/action", post(action))
        .route("/revert/{name}", post(revert))
        .route("/restore", post(restore))
        .route("/alertmanager", post(alert_webhook))
        .route("/shutdown", post(shutdown))
        .with_state(state.clone())
        .merge(super::drill::router(super::drill::Drills::default()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", cfg.control_port)).await?;
    let stop = state.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if stop.lock().await.shutting_down {
                    break;
                }
            }
        })
        .await?;
    teardown(&state).await;
    Ok(())
}

async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !f().await {
        if tokio::time::Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// Stops every process the supervisor started (by pid), children first.
async fn teardown(state: &Shared) {
    let mut s = state.lock().await;
    for r in &mut s.replicas {
        for b in &mut r.burners {
            let _ = b.start_kill();
        }
        kill_pid(r.pid, libc::SIGKILL);
        let _ = r.child.wait().await;
        r.cgroup.remove();
    }
    let cfg = s.cfg.clone();
    for (zone, child) in &mut s.postgres {
        if let Some(pid) = postmaster_pid(&cfg, zone) {
            kill_tree(pid);
        }
        let _ = child.start_kill();
    }
    let s = &mut *s;
    for c in s.others.iter_mut().chain(s.smtp.as_mut()) {
        let _ = c.start_kill();
        let _ = c.wait().await;
    }
    if let Ok(pid) = std::fs::read_to_string(s.cfg.dir.join("haproxy.pid")) {
        if let Ok(pid) = pid.trim().parse() {
            kill_pid(pid, libc::SIGTERM);
        }
    }
}

/// Replaces dead replicas and keeps the count at desired (+ surge during a rollout).
async fn reconcile_loop(state: Shared) {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let mut s = state.lock().await;
        if s.shutting_down {
            return;
        }
        // Reap replicas that exited.
        let mut i = 0;
        while i < s.replicas.len() {
            if let Ok(Some(_)) = s.replicas[i].child.try_wait() {
                let mut r = s.replicas.remove(i);
                for b in &mut r.burners {
                    let _ = b.start_kill();
                }
                r.cgroup.remove();
            } else {
                i += 1;
            }
        }
        // The first replica alone until it is ready (it runs the migrations).
        let migrated = s.replicas.iter().any(|r| r.ready) || s.next_id > 1;
        let target = (s.desired + s.surge) as usize;
        let active = s.active().count();
        if active < target && migrated {
            for _ in active..target {
                if let Err(e) = s.start_replica(None) {
                    eprintln!("cannot start a replica: {e:#}");
                    break;
                }
            }
        } else if active > target {
            // Scale down: unready ones first, then the newest.
            let mut victims: Vec<(bool, f64, String)> =
                s.active().map(|r| (r.ready, -r.started_at, r.name.clone())).collect();
            victims.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            for (_, _, name) in victims.into_iter().take(active - target) {
                s.terminate_replica(&name);
            }
        }
        sync_lb(&mut s);
    }
}

/// Puts the ready, non-terminating replicas behind HAProxy and into Prometheus.
fn sync_lb(s: &mut State) {
    let members: Vec<String> =
        s.replicas.iter().filter(|r| r.ready && !r.terminating).map(|r| r.name.clone()).collect();
    if members != s.lb_members {
        let servers: Vec<&Replica> = s.replicas.iter().filter(|r| members.contains(&r.name)).collect();
        let cfg = monitoring::haproxy_config(&s.cfg.dir, s.cfg.lb_port, &servers);
        if let Err(e) = monitoring::haproxy_apply(&s.cfg.dir, &cfg) {
            eprintln!("haproxy reload failed: {e:#}");
            return;
        }
        let t = now();
        for m in members.iter().filter(|m| !s.lb_members.contains(m)) {
            let zone = s.zone_of(m);
            s.lb_events.push(LbEvent { at: t, server: m.clone(), zone, status: "added".into() });
        }
        for m in s.lb_members.clone().iter().filter(|m| !members.contains(m)) {
            let zone = s.zone_of(m);
            s.lb_events.push(LbEvent { at: t, server: m.clone(), zone, status: "removed".into() });
        }
        s.lb_members = members;
    }
    let all: Vec<&Replica> = s.replicas.iter().collect();
    let _ = monitoring::write_targets(&s.cfg.dir, &all);
}

/// Readiness probes (like the kubelet's), every 500 ms.
async fn probe_loop(state: Shared) {
    let client = reqwest::Client::builder().timeout(Duration::from_millis(400)).build().expect("client");
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let targets: Vec<(String, String)> = {
            let s = state.lock().await;
            if s.shutting_down {
                return;
            }
            s.replicas.iter().map(|r| (r.name.clone(), r.addr())).collect()
        };
        let mut results = Vec::new();
        for (name, addr) in targets {
            let ok = client
                .get(format!("http://{addr}/healthz/ready"))
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            results.push((name, ok));
        }
        let mut s = state.lock().await;
        let t = now();
        for (name, ok) in results {
            if let Some(r) = s.replicas.iter_mut().find(|r| r.name == name) {
                if ok {
                    r.probe_failures = 0;
                    if !r.ready {
                        r.ready = true;
                        r.ready_since = Some(t);
                    }
                } else {
                    r.probe_failures += 1;
                    if r.probe_failures >= 2 && r.ready {
                        r.ready = false;
                        r.ready_since = None;
                    }
                }
            }
        }
    }
}

/// HAProxy's own view of the servers, for the ejection time.
async fn lb_watch_loop(state: Shared) {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let dir = {
            let s = state.lock().await;
            if s.shutting_down {
                return;
            }
            s.cfg.dir.clone()
        };
        let status = monitoring::haproxy_status(&dir).await;
        let mut s = state.lock().await;
        let t = now();
        for (server, st) in &status {
            let before = s.lb_status.iter().find(|(n, _)| n == server).map(|(_, v)| v.clone());
            if before.as_deref() != Some(st.as_str()) {
                let zone = s.zone_of(server);
                s.lb_events.push(LbEvent { at: t, server: server.clone(), zone, status: st.clone() });
            }
        }
        s.lb_status = status;
    }
}

/// The HPA: every sync period (scaled), CPU and memory of the replicas against the
/// chart's targets, then stabilisation and rate policies.
async fn autoscale_loop(state: Shared) {
    let period = {
        let s = state.lock().await;
        hpa::SYNC_PERIOD_SECONDS * s.cfg.time_scale
    };
    loop {
        tokio::time::sleep(Duration::from_secs_f64(period)).await;
        let mut s = state.lock().await;
        if s.shutting_down {
            return;
        }
        let t = now();
        let (cpu_req, mem_req) = (s.chart.resources.cpu_request, s.chart.resources.memory_request);
        let mut cpu = Vec::new();
        let mut mem = Vec::new();
        for r in s.replicas.iter_mut() {
            if r.terminating {
                continue;
            }
            let usage = r.cgroup.usage_ns();
            r.cpu_cores = match (r.last_usage, usage) {
                (Some((t0, u0)), Some(u1)) if t > t0 => Some((u1.saturating_sub(u0)) as f64 / 1e9 / (t - t0)),
                _ => None,
            };
            r.last_usage = usage.map(|u| (t, u));
            r.rss = replica::rss_bytes(r.pid);
            // A CPU sample taken before the pod was ready does not count (unready).
            let fresh_ready = r.ready && r.ready_since.is_some_and(|rs| rs < t - period);
            cpu.push(PodMetric {
                name: r.name.clone(),
                ready: fresh_ready,
                ignored: false,
                usage: r.cpu_cores,
                request: cpu_req,
            });
            mem.push(PodMetric {
                name: r.name.clone(),
                ready: r.ready,
                ignored: false,
                usage: r.rss,
                request: mem_req,
            });
        }
        if s.migrating() {
            continue;
        }
        let current = s.desired;
        let cpu_target = s.chart.hpa.target_cpu_utilization_percentage.unwrap_or(80.0);
        let per_metric = [
            hpa::replicas_for_metric(current, cpu_target, hpa::DEFAULT_TOLERANCE, &cpu),
            s.chart
                .hpa
                .target_memory_utilization_percentage
                .and_then(|m| hpa::replicas_for_metric(current, m, hpa::DEFAULT_TOLERANCE, &mem)),
        ];
        let recommended = hpa::combine(current, &per_metric);
        let d = s.autoscaler.decide(t, current, recommended);
        let ready_cpu: Vec<f64> = cpu.iter().filter(|p| p.ready).filter_map(|p| p.usage).collect();
        let cpu_pct =
            (!ready_cpu.is_empty()).then(|| ready_cpu.iter().sum::<f64>() / ready_cpu.len() as f64 / cpu_req * 100.0);
        s.decisions.push(DecisionRecord {
            at: t,
            current,
            recommended,
            stabilized: d.stabilized,
            desired: d.desired,
            pods: cpu.len() as u32,
            unready: cpu.iter().filter(|p| !p.ready).count() as u32,
            missing: cpu.iter().filter(|p| p.ready && p.usage.is_none()).count() as u32,
            cpu_percent_of_request: cpu_pct,
        });
        if s.decisions.len() > 5000 {
            s.decisions.drain(..1000);
        }
        s.desired = d.desired;
    }
}

impl State {
    /// The zone of a replica, also after it died (from its load-balancer history).
    fn zone_of(&self, name: &str) -> String {
        self.replicas
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.zone.clone())
            .or_else(|| self.lb_events.iter().find(|e| e.server == name).map(|e| e.zone.clone()))
            .unwrap_or_default()
    }

    /// Until the first replica is ready there is nothing to scale.
    fn migrating(&self) -> bool {
        !self.replicas.iter().any(|r| r.ready)
    }
}

/// Like RDS Multi-AZ: when the primary is gone (its postmaster dead, or unreachable
/// for a second), promote the synchronous standby and point the endpoint at it.
async fn failover_loop(state: Shared) {
    let mut down_since: Option<f64> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (primary, standby, cfg) = {
            let s = state.lock().await;
            if s.shutting_down {
                return;
            }
            if s.switching_over {
                down_since = None;
                continue;
            }
            (s.primary_zone.clone(), s.standby_zone.clone(), s.cfg.clone())
        };
        let alive = postmaster_pid(&cfg, &primary).is_some_and(pid_alive)
            && tokio::time::timeout(
                Duration::from_millis(300),
                tokio::net::TcpStream::connect((net::ns_addr(&primary).as_str(), postgres::PORT)),
            )
            .await
            .is_ok_and(|r| r.is_ok());
        if alive {
            down_since = None;
            continue;
        }
        let lost_at = *down_since.get_or_insert_with(now);
        let Some(standby) = standby else { continue };
        if now() - lost_at < 1.0 {
            continue;
        }
        // Make sure the old primary stays dead (no split brain), then promote.
        if let Some(pid) = postmaster_pid(&cfg, &primary) {
            kill_tree(pid);
        }
        match postgres::promote(&standby).await {
            Ok(()) => {
                let mut s = state.lock().await;
                let _ = s.promoted(&standby);
                s.failovers.push(Failover { from_zone: primary, to_zone: standby, lost_at, promoted_at: now() });
                down_since = None;
            }
            Err(e) => eprintln!("promotion failed (will retry): {e:#}"),
        }
    }
}

async fn status(AxState(state): AxState<Shared>) -> Json<Status> {
    Json(state.lock().await.status())
}

#[derive(Serialize, Deserialize)]
pub struct ActionResult {
    pub fault: String,
    pub output: String,
}

type ApiResult<T> = Result<Json<T>, (axum::http::StatusCode, String)>;

fn api_err(e: anyhow::Error) -> (axum::http::StatusCode, String) {
    (axum::http::StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}"))
}

async fn action(AxState(state): AxState<Shared>, Json(a): Json<Action>) -> ApiResult<ActionResult> {
    apply(&state, a).await.map(Json).map_err(api_err)
}

async fn apply(state: &Shared, a: Action) -> anyhow::Result<ActionResult> {
    // The name `revert` takes: zone faults carry their zone.
    let fault = match &a {
        Action::KillZone { zone } => format!("kill-zone-{zone}"),
        Action::PartitionZone { zone } => format!("partition-zone-{zone}"),
        other => other.name().to_string(),
    };
    let output = match &a {
        Action::KillReplica { count, zone } => {
            let mut s = state.lock().await;
            let victims: Vec<String> = s
                .active()
                .filter(|r| r.ready && zone.as_ref().is_none_or(|z| &r.zone == z))
                .take(*count as usize)
                .map(|r| r.name.clone())
                .collect();
            if victims.is_empty() {
                bail!("no ready replica to kill");
            }
            for v in &victims {
                s.kill_replica(v);
            }
            format!("SIGKILL {}", victims.join(", "))
        }
        Action::KillZone { zone } => {
            let mut s = state.lock().await;
            s.zones_down.insert(zone.clone());
            let victims: Vec<String> = s.replicas.iter().filter(|r| &r.zone == zone).map(|r| r.name.clone()).collect();
            for v in &victims {
                s.kill_replica(v);
            }
            s.faults.insert(format!("kill-zone-{zone}"));
            format!("zone {zone} down; SIGKILL {}", victims.join(", "))
        }
        Action::PartitionZone { zone } => {
            let fault = format!("partition-zone-{zone}");
            let output = match net::mode() {
                net::Network::Namespaces => {
                    net::run(&["ip", "link", "set", &net::host_if(zone), "down"])?;
                    format!("link {} down", net::host_if(zone))
                }
                net::Network::Loopback => {
                    // Everything sent to the zone's servers, and the zone's own database
                    // traffic (its endpoint address, both ways).
                    let to_zone = format!("{}/32", net::ns_addr(zone));
                    let db = format!("{}/32", net::db_endpoint_addr(zone));
                    for (dir, addr) in [("-d", &to_zone), ("-d", &db), ("-s", &db)] {
                        net::fault_rule(&fault, &[dir, addr])?;
                    }
                    format!("iptables drops traffic to {to_zone} and to/from {db} (loopback lab)")
                }
            };
            let mut s = state.lock().await;
            s.partitioned.insert(zone.clone());
            s.faults.insert(fault);
            output
        }
        Action::DbLatency { ms } => {
            let mut s = state.lock().await;
            s.endpoint.delay_ms = *ms;
            s.write_endpoint()?;
            s.faults.insert("db-latency".into());
            format!("database endpoint delays every chunk from the service by {ms} ms")
        }
        Action::DbLoss { percent } => {
            let p = format!("{:.4}", percent / 100.0);
            let port = postgres::PORT.to_string();
            for zone in ["a", "b", "c"] {
                let db = format!("{}/32", net::db_endpoint_addr(zone));
                for (chain, addr, port_match) in [("OUTPUT", "-d", "--dport"), ("INPUT", "-s", "--sport")] {
                    let mut rule = vec![chain, addr, &db, "-p", "tcp", port_match, &port, "-m", "statistic"];
                    rule.extend(["--mode", "random", "--probability", &p]);
                    match net::mode() {
                        net::Network::Namespaces => {
                            rule.extend(["-j", "DROP"]);
                            net::ns_rule(&net::netns(zone), &rule)?;
                        }
                        // On lo both directions pass OUTPUT.
                        net::Network::Loopback => net::fault_rule("db-loss", &rule[1..])?,
                    }
                }
            }
            state.lock().await.faults.insert("db-loss".into());
            format!("{percent} % of packets between every zone and the database endpoint dropped (iptables statistic)")
        }
        Action::DbCut => {
            let output = match net::mode() {
                net::Network::Namespaces => {
                    net::run(&["ip", "link", "set", &net::host_if("db"), "down"])?;
                    format!("link {} down", net::host_if("db"))
                }
                net::Network::Loopback => {
                    for addr in net::db_endpoint_addrs() {
                        let addr = format!("{addr}/32");
                        net::fault_rule("db-cut", &["-d", &addr])?;
                        net::fault_rule("db-cut", &["-s", &addr])?;
                    }
                    format!(
                        "iptables drops everything to and from {} (loopback lab)",
                        net::db_endpoint_addrs().join(", ")
                    )
                }
            };
            state.lock().await.faults.insert("db-cut".into());
            output
        }
        Action::KillDbPrimary => {
            let s = state.lock().await;
            let pid = postmaster_pid(&s.cfg, &s.primary_zone).context("no postmaster.pid for the primary")?;
            kill_tree(pid);
            format!("SIGKILL postmaster {pid} of the primary in zone {} (and its backends)", s.primary_zone)
        }
        Action::StressCpu { load_percent } => {
            let mut s = state.lock().await;
            let bin = s.cfg.chaos_bin.clone();
            let mut names = Vec::new();
            for r in s.replicas.iter_mut().filter(|r| !r.terminating) {
                replica::add_burner(r, &bin, *load_percent)?;
                names.push(r.name.clone());
            }
            s.stress = Some(*load_percent);
            s.faults.insert("stress-cpu".into());
            format!("CPU burner at {load_percent} % in the cgroups of {}", names.join(", "))
        }
        Action::SetLoad { rate } => format!("client load {rate}/s (applied by the runner)"),
        Action::RollingRestart => rolling_restart(state).await?,
        Action::SmtpOutage => {
            let mut s = state.lock().await;
            let Some(mut relay) = s.smtp.take() else { bail!("the SMTP relay is already down") };
            let pid = relay.id().unwrap_or(0);
            let _ = relay.start_kill();
            let _ = relay.wait().await;
            s.faults.insert("smtp-outage".into());
            format!("SIGKILL the SMTP relay (pid {pid}) at {}:{}: connections refused", mail::relay_host(), mail::PORT)
        }
        Action::RestoreAll => restore_all(state).await?,
    };
    Ok(ActionResult { fault, output })
}

/// maxSurge 1, maxUnavailable 0: a new replica, ready, then the old one gets SIGTERM.
async fn rolling_restart(state: &Shared) -> anyhow::Result<String> {
    let olds: Vec<(String, String)> = {
        let s = state.lock().await;
        s.active().map(|r| (r.name.clone(), r.zone.clone())).collect()
    };
    let mut log = Vec::new();
    let result = async {
        for (old, zone) in &olds {
            let new = {
                let mut s = state.lock().await;
                // The new pod goes where the scheduler puts it; the same zone keeps the spread.
                let zone = if s.zones_down.contains(zone) { None } else { Some(zone.clone()) };
                let name = s.start_replica(zone)?;
                s.surge = 1; // the surge replica, until the old one leaves
                name
            };
            wait_until(Duration::from_secs(60), &format!("{new} to be ready"), || {
                let state = state.clone();
                let new = new.clone();
                async move { state.lock().await.replicas.iter().any(|r| r.name == new && r.ready) }
            })
            .await?;
            let mut s = state.lock().await;
            s.terminate_replica(old);
            s.surge = 0;
            s.replaced += 1;
            log.push(format!("{old} -> {new}"));
        }
        anyhow::Ok(())
    }
    .await;
    state.lock().await.surge = 0;
    result?;
    Ok(format!("replaced one at a time: {}", log.join(", ")))
}

async fn revert(AxState(state): AxState<Shared>, UrlPath(name): UrlPath<String>) -> ApiResult<ActionResult> {
    revert_fault(&state, &name).await.map(|output| Json(ActionResult { fault: name, output })).map_err(api_err)
}

async fn revert_fault(state: &Shared, name: &str) -> anyhow::Result<String> {
    let mut s = state.lock().await;
    let out = match name {
        n if n.starts_with("kill-zone-") => {
            let zone = &n["kill-zone-".len()..];
            s.zones_down.remove(zone);
            format!("zone {zone} schedulable again")
        }
        n if n.starts_with("partition-zone-") => {
            let zone = n["partition-zone-".len()..].to_string();
            s.partitioned.remove(&zone);
            match net::mode() {
                net::Network::Namespaces => {
                    net::run(&["ip", "link", "set", &net::host_if(&zone), "up"])?;
                    format!("link {} up", net::host_if(&zone))
                }
                net::Network::Loopback => {
                    net::clear_fault_rules(Some(n));
                    format!("zone {zone}'s drop rules removed")
                }
            }
        }
        "db-latency" => {
            s.endpoint.delay_ms = 0;
            s.write_endpoint()?;
            "no added latency".into()
        }
        "db-loss" => {
            for zone in ["a", "b", "c"] {
                net::flush_rules(Some(&net::netns(zone)));
            }
            net::clear_fault_rules(Some("db-loss"));
            "loss rules removed".into()
        }
        "db-cut" if net::mode() == net::Network::Loopback => {
            net::clear_fault_rules(Some("db-cut"));
            "database endpoint drop rules removed".into()
        }
        "db-cut" => {
            net::run(&["ip", "link", "set", &net::host_if("db"), "up"])?;
            format!("link {} up", net::host_if("db"))
        }
        "stress-cpu" => {
            for r in s.replicas.iter_mut() {
                for b in &mut r.burners {
                    let _ = b.start_kill();
                }
                r.burners.clear();
            }
            s.stress = None;
            "CPU burners stopped".into()
        }
        "smtp-outage" => {
            drop(s);
            let out = start_relay(state).await?;
            s = state.lock().await;
            out
        }
        other => bail!("no fault named {other} to revert"),
    };
    s.faults.remove(name);
    Ok(out)
}

/// Starts the SMTP relay unless it runs, and waits until it accepts connections.
async fn start_relay(state: &Shared) -> anyhow::Result<String> {
    {
        let mut s = state.lock().await;
        if let Some(relay) = s.smtp.as_mut() {
            if relay.try_wait()?.is_none() {
                return Ok("the SMTP relay runs".into());
            }
        }
        s.smtp = Some(mail::start(&s.cfg.dir, &s.cfg.repo, &s.cfg.python)?);
    }
    mail::wait_listening(Duration::from_secs(30)).await?;
    Ok(format!("the SMTP relay accepts connections again at {}:{}", mail::relay_host(), mail::PORT))
}

async fn restore(AxState(state): AxState<Shared>) -> ApiResult<ActionResult> {
    restore_all(&state).await.map(|output| Json(ActionResult { fault: "restore-all".into(), output })).map_err(api_err)
}

/// Undoes every fault, rebuilds a standby if a failover consumed it, puts the replica
/// count back to the chart's minimum and waits until the lab is healthy again.
async fn restore_all(state: &Shared) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let faults: Vec<String> = state.lock().await.faults.iter().cloned().collect();
    for f in faults {
        out.push(revert_fault(state, &f).await?);
    }
    // Whatever a step left behind: every link up, no loss rules, no latency, the relay up.
    for (zone, _) in net::NAMESPACES {
        net::run_quiet(&["ip", "link", "set", &net::host_if(zone), "up"]);
        net::flush_rules(Some(&net::netns(zone)));
    }
    net::clear_fault_rules(None);
    start_relay(state).await?;
    let (primary, standby, dir) = {
        let mut s = state.lock().await;
        s.zones_down.clear();
        s.partitioned.clear();
        let b = s.behavior();
        s.autoscaler = Autoscaler::new(s.chart.hpa.min_replicas, s.chart.hpa.max_replicas, b);
        s.desired = s.chart.hpa.min_replicas;
        (s.primary_zone.clone(), s.standby_zone.clone(), s.cfg.dir.clone())
    };
    if standby.is_none() {
        out.push(rebuild_standby(state, &dir, &primary).await?);
    }
    if primary != HOME_PRIMARY {
        out.push(switch_back(state, &dir, &primary).await?);
    }
    rebalance(state).await?;
    wait_until(Duration::from_secs(90), "every replica to be ready", || {
        let state = state.clone();
        async move {
            let s = state.lock().await;
            let ready = s.active().filter(|r| r.ready).count() as u32;
            ready == s.desired && s.active().count() as u32 == s.desired && s.lb_members.len() as u32 == s.desired
        }
    })
    .await?;
    out.push("every replica ready".into());
    Ok(out.join("; "))
}

/// Where the primary lives when the lab is at rest (the standby is in the other of a, b).
const HOME_PRIMARY: &str = "a";

/// A new synchronous standby where the old primary was (its data directory rebuilt).
async fn rebuild_standby(state: &Shared, dir: &std::path::Path, primary: &str) -> anyhow::Result<String> {
    let zone = if primary == "a" { "b" } else { "a" }.to_string();
    state.lock().await.postgres.retain(|(z, _)| *z != zone);
    postgres::base_backup(dir, &zone, primary).await?;
    let child = postgres::start(dir, &zone)?;
    state.lock().await.postgres.push((zone.clone(), child));
    postgres::require_standby(primary, &zone).await?;
    wait_until(Duration::from_secs(60), "the new standby to stream synchronously", || {
        postgres::standby_is_sync(primary, &zone)
    })
    .await?;
    state.lock().await.standby_zone = Some(zone.clone());
    Ok(format!("new synchronous standby in zone {zone} (primary in zone {primary})"))
}

/// A planned switchover back to the primary in zone a, so every drill starts from the
/// same topology (a drill that kills zone a's primary means the one in zone a). The
/// primary is shut down cleanly (a fast shutdown hands every WAL record to the
/// synchronous standby first), the standby in zone a is promoted, the endpoint follows,
/// and a new standby is built in the old primary's zone. Not counted as a failover.
async fn switch_back(state: &Shared, dir: &std::path::Path, primary: &str) -> anyhow::Result<String> {
    let cfg = {
        let mut s = state.lock().await;
        s.switching_over = true;
        s.cfg.clone()
    };
    let result = async {
        if let Some(pid) = postmaster_pid(&cfg, primary) {
            kill_pid(pid, libc::SIGINT); // fast shutdown
            wait_until(Duration::from_secs(30), "the old primary to shut down", || async move { !pid_alive(pid) })
                .await?;
        }
        postgres::promote(HOME_PRIMARY).await?;
        state.lock().await.promoted(HOME_PRIMARY)?;
        rebuild_standby(state, dir, HOME_PRIMARY).await
    }
    .await;
    state.lock().await.switching_over = false;
    Ok(format!("switched back: primary in zone {HOME_PRIMARY} again; {}", result?))
}

/// Puts a replica back in every zone left empty by a zone fault (Kubernetes would not
/// move pods back by itself; the lab does, so the next drill starts from the same
/// shape): a new replica in the empty zone, ready, then one from the most crowded zone
/// leaves, as in a rollout.
async fn rebalance(state: &Shared) -> anyhow::Result<()> {
    loop {
        // After a scale-out the count first goes back down (the reconciler removes the
        // unready and newest first, which would take the new replica below).
        wait_until(Duration::from_secs(60), "the replica count to settle", || {
            let state = state.clone();
            async move {
                let s = state.lock().await;
                s.active().count() as u32 == s.desired
            }
        })
        .await?;
        let (empty, crowded) = {
            let s = state.lock().await;
            let count = |z: &str| s.active().filter(|r| r.zone == z).count();
            let empty = ["a", "b", "c"].into_iter().find(|z| count(z) == 0);
            let crowded = ["a", "b", "c"].into_iter().max_by_key(|z| count(z)).filter(|z| count(z) > 1);
            (empty.map(str::to_string), crowded.map(str::to_string))
        };
        let (Some(empty), Some(crowded)) = (empty, crowded) else { return Ok(()) };
        let new = {
            let mut s = state.lock().await;
            let name = s.start_replica(Some(empty.clone()))?;
            s.surge = 1;
            name
        };
        let ready = wait_until(Duration::from_secs(60), &format!("{new} to be ready"), || {
            let state = state.clone();
            let new = new.clone();
            async move { state.lock().await.replicas.iter().any(|r| r.name == new && r.ready) }
        })
        .await;
        let mut s = state.lock().await;
        s.surge = 0;
        ready?;
        let old = s.active().filter(|r| r.zone == crowded).map(|r| r.name.clone()).last();
        if let Some(old) = old {
            s.terminate_replica(&old);
        }
    }
}

#[derive(Deserialize)]
struct Webhook {
    #[serde(default)]
    receiver: String,
    alerts: Vec<WebhookAlert>,
}

#[derive(Deserialize)]
struct WebhookAlert {
    status: String,
    labels: std::collections::HashMap<String, String>,
}

async fn alert_webhook(AxState(state): AxState<Shared>, Json(w): Json<Webhook>) -> &'static str {
    let mut s = state.lock().await;
    let t = now();
    for a in w.alerts {
        let alertname = a.labels.get("alertname").cloned().unwrap_or_default();
        s.alerts.push(AlertRecord { at: t, alertname, status: a.status, receiver: w.receiver.clone() });
    }
    if s.alerts.len() > 5000 {
        s.alerts.drain(..1000);
    }
    "ok"
}

async fn shutdown(AxState(state): AxState<Shared>) -> &'static str {
    state.lock().await.shutting_down = true;
    "stopping"
}
