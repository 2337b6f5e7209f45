//! One replica of the real `task-manager` binary: started inside its zone's namespace,
//! inside a cgroup v1 CPU quota equal to the chart's CPU limit (and a cpuacct group, so
//! usage is measured the way cAdvisor measures a pod), with its zone in `TM_ZONE`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context;
use serde::Serialize;
use tokio::process::{Child, Command};

use super::net;

const CPU_ROOT: &str = "/sys/fs/cgroup/cpu/tm-chaos";
const CPUACCT_ROOT: &str = "/sys/fs/cgroup/cpuacct/tm-chaos";
const PERIOD_US: u64 = 100_000;

/// The two cgroup v1 directories of one replica.
#[derive(Debug, Clone)]
pub struct Cgroup {
    pub cpu: PathBuf,
    pub cpuacct: PathBuf,
}

impl Cgroup {
    pub fn create(name: &str, cpu_limit_cores: f64) -> anyhow::Result<Cgroup> {
        let cg = Cgroup { cpu: Path::new(CPU_ROOT).join(name), cpuacct: Path::new(CPUACCT_ROOT).join(name) };
        std::fs::create_dir_all(&cg.cpu).context("creating the cpu cgroup (cgroup v1 needed)")?;
        std::fs::create_dir_all(&cg.cpuacct).context("creating the cpuacct cgroup")?;
        std::fs::write(cg.cpu.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
        std::fs::write(cg.cpu.join("cpu.cfs_quota_us"), ((cpu_limit_cores * PERIOD_US as f64) as u64).to_string())?;
        Ok(cg)
    }

    pub fn add(&self, pid: u32) -> anyhow::Result<()> {
        std::fs::write(self.cpu.join("cgroup.procs"), pid.to_string())?;
        std::fs::write(self.cpuacct.join("cgroup.procs"), pid.to_string())?;
        Ok(())
    }

    /// CPU time used by every process of the group, nanoseconds.
    pub fn usage_ns(&self) -> Option<u64> {
        std::fs::read_to_string(self.cpuacct.join("cpuacct.usage")).ok()?.trim().parse().ok()
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_dir(&self.cpu);
        let _ = std::fs::remove_dir(&self.cpuacct);
    }
}

/// Removes the lab's cgroup roots (after every process in them has gone).
/// The `cgroup.procs` of a zone's group without a quota (created when missing): on the
/// loopback lab the zone's servers join it, so `lab down` finds them after a crash as
/// it finds replicas.
pub fn zone_cgroup_procs(zone: &str) -> PathBuf {
    let dir = Path::new(CPU_ROOT).join(format!("zone-{zone}"));
    let _ = std::fs::create_dir_all(&dir);
    dir.join("cgroup.procs")
}

pub fn remove_cgroup_roots() {
    for root in [CPU_ROOT, CPUACCT_ROOT] {
        if let Ok(entries) = std::fs::read_dir(root) {
            for e in entries.flatten() {
                if e.path().is_dir() {
                    let _ = std::fs::remove_dir(e.path());
                }
            }
        }
        let _ = std::fs::remove_dir(root);
    }
}

/// Resident memory of a process, bytes.
pub fn rss_bytes(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

pub struct Replica {
    pub name: String,
    pub zone: String,
    pub port: u16,
    pub child: Child,
    pub pid: u32,
    pub cgroup: Cgroup,
    pub started_at: f64,
    pub ready: bool,
    pub ready_since: Option<f64>,
    pub probe_failures: u32,
    pub terminating: bool,
    pub burners: Vec<Child>,
    pub last_usage: Option<(f64, u64)>,
    pub cpu_cores: Option<f64>,
    pub rss: Option<f64>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ReplicaView {
    pub name: String,
    pub zone: String,
    pub addr: String,
    pub pid: u32,
    pub ready: bool,
    pub terminating: bool,
    pub started_at: f64,
    /// CPU used, as a percentage of the request (what the HPA compares to its target).
    pub cpu_percent_of_request: Option<f64>,
    pub rss_bytes: Option<f64>,
}

impl Replica {
    pub fn addr(&self) -> String {
        format!("{}:{}", net::ns_addr(&self.zone), self.port)
    }

    pub fn view(&self, cpu_request: f64) -> ReplicaView {
        ReplicaView {
            name: self.name.clone(),
            zone: self.zone.clone(),
            addr: self.addr(),
            pid: self.pid,
            ready: self.ready,
            terminating: self.terminating,
            started_at: self.started_at,
            cpu_percent_of_request: self.cpu_cores.map(|c| c / cpu_request * 100.0),
            rss_bytes: self.rss,
        }
    }
}

pub struct Spawn<'a> {
    pub bin: &'a Path,
    pub lab: &'a Path,
    pub name: String,
    pub zone: String,
    pub port: u16,
    pub database_url: String,
    pub cpu_limit: f64,
    pub now: f64,
    /// More configuration keys (set as `TM_<KEY>`), e.g. the lab's e-mail settings.
    pub settings: Vec<(&'static str, String)>,
}

/// Starts a replica: the shell joins the cgroups first, then execs into the namespace,
/// so the service never runs outside its CPU limit.
pub fn spawn(s: Spawn<'_>) -> anyhow::Result<Replica> {
    let cgroup = Cgroup::create(&s.name, s.cpu_limit)?;
    let log = std::fs::File::create(s.lab.join(format!("{}.log", s.name)))?;
    let enter_zone = match net::mode() {
        net::Network::Namespaces => format!("ip netns exec {} ", net::netns(&s.zone)),
        net::Network::Loopback => String::new(),
    };
    let script = format!(
        "echo $$ > {}/cgroup.procs && echo $$ > {}/cgroup.procs && exec {enter_zone}\"$0\" serve",
        cgroup.cpu.display(),
        cgroup.cpuacct.display(),
    );
    let child = Command::new("sh")
        .args(["-c", &script])
        .arg(s.bin)
        .env("TM_LISTEN", format!("{}:{}", net::ns_addr(&s.zone), s.port))
        .env("DATABASE_URL", &s.database_url)
        .env("TM_ZONE", &s.zone)
        .env("TM_POD_NAME", &s.name)
        .env("TM_ENVIRONMENT", "lab")
        .env("TM_PUBLIC_URL", "http://127.0.0.1")
        .env("TM_DRAIN_DELAY", "2s")
        .env("TM_SHUTDOWN_GRACE", "5s")
        .env("TM_DB_MAX_CONNECTIONS", "10") // as the chart sets it
        .env("TM_DB_ACQUIRE_TIMEOUT", "2s")
        .env("TM_DB_STATEMENT_TIMEOUT", "5s")
        // The lab's clients give up after 5 s (load.rs), so the replicas do too: an
        // idempotency claim left by a killed replica is then taken over after 6 s,
        // within the client's retry.
        .env("TM_REQUEST_TIMEOUT", "5s")
        .env("TM_TRUST_FORWARDED_FOR", "true")
        .env("TM_LOG_FORMAT", "json")
        .env("TM_LOG_LEVEL", "warn")
        .env("TM_SCHEDULE_CLEANUP", "")
        .envs(s.settings.iter().map(|(key, value)| (format!("TM_{}", key.to_uppercase()), value)))
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting a replica")?;
    let pid = child.id().unwrap_or(0);
    Ok(Replica {
        name: s.name,
        zone: s.zone,
        port: s.port,
        child,
        pid,
        cgroup,
        started_at: s.now,
        ready: false,
        ready_since: None,
        probe_failures: 0,
        terminating: false,
        burners: Vec::new(),
        last_usage: None,
        cpu_cores: None,
        rss: None,
    })
}

/// A CPU burner (`task-manager-chaos lab burn`) inside the replica's cgroups, as Chaos
/// Mesh's StressChaos runs stress-ng inside the pod's.
pub fn add_burner(r: &mut Replica, chaos_bin: &Path, load_percent: u32) -> anyhow::Result<()> {
    let script = format!(
        "echo $$ > {}/cgroup.procs && echo $$ > {}/cgroup.procs && exec \"$0\" lab burn --load {load_percent}",
        r.cgroup.cpu.display(),
        r.cgroup.cpuacct.display()
    );
    let child = Command::new("sh")
        .args(["-c", &script])
        .arg(chaos_bin)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    r.burners.push(child);
    Ok(())
}

/// Busy-loops `load_percent` of every 100 ms until killed.
pub fn burn(load_percent: u32) -> ! {
    let busy = std::time::Duration::from_millis(load_percent.min(100) as u64);
    let idle = std::time::Duration::from_millis(100 - load_percent.min(100) as u64);
    let mut x: u64 = 1;
    loop {
        let start = std::time::Instant::now();
        while start.elapsed() < busy {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        if !idle.is_zero() {
            std::thread::sleep(idle);
        }
    }
}
