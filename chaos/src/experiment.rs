//! Experiment files (`chaos/experiments/*.yaml`): the steady-state hypothesis, the
//! method (faults at given times), rollbacks, abort conditions on error-budget burn and
//! the pass criteria. Parsing refuses unknown keys, and [`Experiment::validate`] says in
//! words what is wrong and where.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The lab's zones (the Kubernetes target maps them to `topology.kubernetes.io/zone`).
pub const ZONES: [&str; 3] = ["a", "b", "c"];

/// A duration written like `500ms`, `10s`, `2m`, `1h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Span(pub Duration);

impl Span {
    pub fn secs(&self) -> f64 {
        self.0.as_secs_f64()
    }

    pub fn parse(s: &str) -> Result<Span, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a duration (write 500ms, 10s, 2m or 1h)"))?;
        let secs = match unit {
            "ms" => n / 1000.0,
            "s" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            _ => return Err(format!("{s:?} has no unit (write 500ms, 10s, 2m or 1h)")),
        };
        Ok(Span(Duration::from_secs_f64(secs)))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms % 1000 != 0 {
            write!(f, "{ms}ms")
        } else if ms % 60_000 == 0 && ms > 0 {
            write!(f, "{}m", ms / 60_000)
        } else {
            write!(f, "{}s", ms / 1000)
        }
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let s = String::deserialize(d)?;
        Span::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Short machine name, also the journal's file name (`replica-kill`).
    pub id: String,
    pub title: String,
    pub description: String,
    /// `ci` (the short profile of the test command) and/or `full`.
    pub profiles: Vec<String>,
    /// Product features the drill needs; a drill whose feature the binary lacks is
    /// skipped with that reason.
    #[serde(default)]
    pub requires: Vec<String>,
    /// How long the method runs, from the first fault's clock zero.
    pub duration: Span,
    pub load: Load,
    pub steady_state: SteadyState,
    pub method: Vec<Step>,
    #[serde(default)]
    pub rollbacks: Vec<Action>,
    #[serde(default)]
    pub abort: Vec<AbortCondition>,
    pub pass: Vec<Criterion>,
}

/// Open-loop traffic through the load balancer during the whole drill.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// Requests per second.
    pub rate: f64,
    /// Share of requests that create a task (acknowledged writes go into the ledger).
    pub write_ratio: f64,
    /// Requests answered with a transport error or 502/503 are retried this many times
    /// (with the same `Idempotency-Key` for writes), as a careful client does.
    #[serde(default = "one")]
    pub retries: u32,
    /// Writes create tasks due this long after they are sent, assigned to the drill's
    /// user (who has an e-mail address): with the default 24 h lead time each one's
    /// due-soon reminder falls due at the next scan.
    #[serde(default)]
    pub due_in: Option<Span>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SteadyState {
    pub title: String,
    pub probes: Vec<Probe>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    pub name: String,
    /// GET this path through the load balancer; the value is the HTTP status.
    #[serde(default)]
    pub http: Option<String>,
    /// An instant PromQL query; the value is the first sample (no sample: 0).
    #[serde(default)]
    pub promql: Option<String>,
    pub tolerance: Tolerance,
}

impl Probe {
    pub fn check(&self) -> Option<ProbeCheck> {
        match (&self.http, &self.promql) {
            (Some(h), None) => Some(ProbeCheck::Http(h.clone())),
            (None, Some(q)) => Some(ProbeCheck::Promql(q.clone())),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProbeCheck {
    /// GET through the load balancer; the value is the HTTP status.
    Http(String),
    /// An instant PromQL query over the service's own metrics; the value is the first
    /// sample (no sample: 0).
    Promql(String),
}

/// Inclusive bounds for a probe's value.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Tolerance {
    pub fn holds(&self, v: f64) -> bool {
        self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m)
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (Some(a), Some(b)) if a == b => write!(f, "= {a}"),
            (Some(a), Some(b)) => write!(f, "in [{a}, {b}]"),
            (Some(a), None) => write!(f, ">= {a}"),
            (None, Some(b)) => write!(f, "<= {b}"),
            (None, None) => write!(f, "any"),
        }
    }
}

/// One fault of the method, at `at` after the method starts; with `lasts` it is
/// reverted by itself after that long.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at: Span,
    #[serde(default)]
    pub lasts: Option<Span>,
    pub action: Action,
}

/// The fault vocabulary; each maps to the lab and to Chaos Mesh/kubectl.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Action {
    /// SIGKILL `count` replicas (in `zone` when given); the deployment replaces them.
    KillReplica { count: u32, zone: Option<String> },
    /// Every replica of the zone dies and the zone takes no new ones (its nodes are gone).
    KillZone { zone: String },
    /// The zone is cut off from the others, the load balancer and the database.
    PartitionZone { zone: String },
    /// Latency added between the service and the database (fault-injecting TCP proxy).
    DbLatency { ms: u64 },
    /// Packet loss between the service and the database (iptables statistic match).
    DbLoss { percent: f64 },
    /// The database's link goes down.
    DbCut,
    /// The primary's postmaster is killed; the standby is promoted.
    KillDbPrimary,
    /// CPU stress inside every replica's CPU limit (Chaos Mesh StressChaos).
    StressCpu { load_percent: u32 },
    /// The client's request rate changes.
    SetLoad { rate: f64 },
    /// Every replica replaced one at a time (maxSurge 1, maxUnavailable 0).
    RollingRestart,
    /// The SMTP relay refuses connections.
    SmtpOutage,
    /// Undo every fault still in place (the usual rollback).
    RestoreAll,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::KillReplica { .. } => "kill-replica",
            Action::KillZone { .. } => "kill-zone",
            Action::PartitionZone { .. } => "partition-zone",
            Action::DbLatency { .. } => "db-latency",
            Action::DbLoss { .. } => "db-loss",
            Action::DbCut => "db-cut",
            Action::KillDbPrimary => "kill-db-primary",
            Action::StressCpu { .. } => "stress-cpu",
            Action::SetLoad { .. } => "set-load",
            Action::RollingRestart => "rolling-restart",
            Action::SmtpOutage => "smtp-outage",
            Action::RestoreAll => "restore-all",
        }
    }

    fn zone(&self) -> Option<&str> {
        match self {
            Action::KillReplica { zone, .. } => zone.as_deref(),
            Action::KillZone { zone } | Action::PartitionZone { zone } => Some(zone),
            _ => None,
        }
    }
}

/// Stop the drill (and roll back) when the error budget burns faster than `above`
/// times the sustainable rate for `for` (a PromQL expression of the burn rate).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbortCondition {
    pub name: String,
    pub promql: String,
    pub above: f64,
    #[serde(rename = "for")]
    pub sustained: Span,
}

/// A number the runner measures and the bound it must respect.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub measure: Measure,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// For `alert-delay-seconds`: the alert that must fire and reach Alertmanager.
    #[serde(default)]
    pub alert: Option<String>,
    /// Judge only while method step N (from 0) is in place: availability and p99 over
    /// the requests sent then; an alert's delay counted from that step.
    #[serde(default)]
    pub step: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// Acknowledged writes missing from the database afterwards.
    LostWrites,
    /// Share of client requests that succeeded (after the client's retries).
    Availability,
    /// p99 client latency over the drill, milliseconds.
    P99LatencyMs,
    /// Seconds from the primary's death to the next acknowledged write.
    WriteRecoverySeconds,
    /// Seconds from the fault to the alert reaching Alertmanager.
    AlertDelaySeconds,
    /// Seconds from the fault to the load balancer having no faulty backend in use.
    EjectionSeconds,
    /// 1 when the lab reached the replica count the autoscaler computed.
    ReachedComputedReplicas,
    /// Highest replica count while replicas were unready (over-reaction check).
    MaxReplicasWhileUnready,
    /// Scale-downs decided before the stabilisation window had passed since load dropped.
    EarlyScaleDowns,
    /// Direction changes of the replica count within one scale-down window.
    DirectionChangesPerWindow,
    /// Replicas replaced by a rolling restart.
    ReplicasReplaced,
    /// Fewest ready replicas (the load balancer's targets) while the method was in place.
    MinReadyReplicas,
    /// Reminders due during the drill and not delivered afterwards.
    RemindersLost,
    /// Copies of a reminder delivered beyond the first.
    ReminderDuplicates,
}

impl Measure {
    pub fn unit(&self) -> &'static str {
        match self {
            Measure::Availability => "",
            Measure::P99LatencyMs => " ms",
            Measure::WriteRecoverySeconds | Measure::AlertDelaySeconds | Measure::EjectionSeconds => " s",
            _ => "",
        }
    }
}

impl Experiment {
    /// Reads and validates one experiment file.
    pub fn load(path: &Path) -> anyhow::Result<Experiment> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("{}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Experiment> {
        let e: Experiment = serde_norway::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        let problems = e.problems();
        if !problems.is_empty() {
            bail!("invalid experiment:\n  - {}", problems.join("\n  - "));
        }
        Ok(e)
    }

    /// Every semantic problem, in words (empty when the experiment is valid).
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.id.is_empty() || !self.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            p.push(format!("id: {:?} must be lowercase letters, digits and dashes", self.id));
        }
        if self.title.trim().is_empty() {
            p.push("title: must not be empty".into());
        }
        if self.profiles.is_empty() {
            p.push("profiles: name at least one of ci, full".into());
        }
        for (i, prof) in self.profiles.iter().enumerate() {
            if prof != "ci" && prof != "full" {
                p.push(format!("profiles[{i}]: {prof:?} is not a profile (ci or full)"));
            }
        }
        if self.duration.0.is_zero() {
            p.push("duration: must be longer than 0s".into());
        }
        if !(self.load.rate > 0.0 && self.load.rate <= 500.0) {
            p.push(format!("load.rate: {} requests/s is outside 0 < rate <= 500", self.load.rate));
        }
        if !(0.0..=1.0).contains(&self.load.write_ratio) {
            p.push(format!("load.write_ratio: {} is not a share between 0 and 1", self.load.write_ratio));
        }
        if self.steady_state.probes.is_empty() {
            p.push("steady_state.probes: a hypothesis needs at least one probe".into());
        }
        for (i, probe) in self.steady_state.probes.iter().enumerate() {
            if probe.tolerance.min.is_none() && probe.tolerance.max.is_none() {
                p.push(format!("steady_state.probes[{i}] ({}): tolerance needs min and/or max", probe.name));
            }
            if let (Some(a), Some(b)) = (probe.tolerance.min, probe.tolerance.max) {
                if a > b {
                    p.push(format!("steady_state.probes[{i}] ({}): tolerance min {a} is above max {b}", probe.name));
                }
            }
            match probe.check() {
                None => p.push(format!("steady_state.probes[{i}] ({}): give exactly one of http, promql", probe.name)),
                Some(ProbeCheck::Http(path)) if !path.starts_with('/') => {
                    p.push(format!("steady_state.probes[{i}] ({}): http path {path:?} must start with /", probe.name))
                }
                Some(ProbeCheck::Promql(q)) if q.trim().is_empty() => {
                    p.push(format!("steady_state.probes[{i}] ({}): promql is empty", probe.name))
                }
                _ => {}
            }
        }
        if self.method.is_empty() {
            p.push("method: a drill needs at least one step".into());
        }
        for (i, step) in self.method.iter().enumerate() {
            let end = step.at.0 + step.lasts.map(|l| l.0).unwrap_or_default();
            if end > self.duration.0 {
                p.push(format!(
                    "method[{i}] ({}): ends at {} which is after the drill's duration {}",
                    step.action.name(),
                    Span(end),
                    self.duration
                ));
            }
            p.extend(action_problems(&format!("method[{i}]"), &step.action));
        }
        for (i, a) in self.rollbacks.iter().enumerate() {
            p.extend(action_problems(&format!("rollbacks[{i}]"), a));
        }
        for (i, a) in self.abort.iter().enumerate() {
            if a.promql.trim().is_empty() || a.above <= 0.0 {
                p.push(format!("abort[{i}] ({}): needs a promql expression and a positive bound", a.name));
            }
        }
        if self.pass.is_empty() {
            p.push("pass: a drill needs pass criteria".into());
        }
        for (i, c) in self.pass.iter().enumerate() {
            if c.min.is_none() && c.max.is_none() {
                p.push(format!("pass[{i}] ({:?}): needs min and/or max", c.measure));
            }
            if c.measure == Measure::AlertDelaySeconds && c.alert.is_none() {
                p.push(format!("pass[{i}] (alert-delay-seconds): name the alert that must fire"));
            }
            if c.step.is_some_and(|s| s >= self.method.len()) {
                p.push(format!(
                    "pass[{i}] ({:?}): step {} does not exist (the method has {})",
                    c.measure,
                    c.step.unwrap_or(0),
                    self.method.len()
                ));
            }
            if c.measure == Measure::Availability && c.min.is_some_and(|m| !(0.0..=1.0).contains(&m)) {
                p.push(format!("pass[{i}] (availability): min is a share (0.9999), not a percentage"));
            }
        }
        p
    }
}

fn action_problems(at: &str, a: &Action) -> Vec<String> {
    let mut p = Vec::new();
    if let Some(z) = a.zone() {
        if !ZONES.contains(&z) {
            p.push(format!("{at} ({}): zone {z:?} is not one of a, b, c", a.name()));
        }
    }
    match a {
        Action::KillReplica { count: 0, .. } => p.push(format!("{at} (kill-replica): count must be at least 1")),
        Action::DbLatency { ms } if *ms == 0 || *ms > 10_000 => {
            p.push(format!("{at} (db-latency): {ms} ms is outside 1..=10000"))
        }
        Action::DbLoss { percent } if !(*percent > 0.0 && *percent <= 100.0) => {
            p.push(format!("{at} (db-loss): {percent} % is outside 0 < percent <= 100"))
        }
        Action::StressCpu { load_percent } if *load_percent == 0 || *load_percent > 100 => {
            p.push(format!("{at} (stress-cpu): load_percent {load_percent} is outside 1..=100"))
        }
        Action::SetLoad { rate } if !(*rate > 0.0 && *rate <= 500.0) => {
            p.push(format!("{at} (set-load): rate {rate} is outside 0 < rate <= 500"))
        }
        _ => {}
    }
    p
}

/// Every experiment file in `dir`, sorted by file name.
pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<(std::path::PathBuf, Experiment)>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files.into_iter().map(|f| Experiment::load(&f).map(|e| (f, e))).collect()
}

#[cfg(test)]
mod tests;
