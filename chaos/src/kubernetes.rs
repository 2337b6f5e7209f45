//! The Kubernetes target: each experiment's method as Chaos Mesh objects (PodChaos,
//! NetworkChaos, StressChaos), kubectl commands and, for the database, the AWS command
//! of an RDS Multi-AZ forced failover; plus the RBAC a runner needs. The runner applies
//! the objects at the step's time; every object also carries its own `duration`, so
//! Chaos Mesh recovers it even if the runner dies.

pub mod run;
pub mod schema;

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde_json::{json, Value};

use crate::experiment::{Action, Experiment, Span};

/// Where the drills run in the cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub namespace: String,
    /// The Helm release name (pods carry `app.kubernetes.io/instance: <release>`).
    pub release: String,
    /// Cluster zone names for the lab's zones a, b, c.
    pub zones: [String; 3],
    /// Host name of the database endpoint (RDS), for NetworkChaos external targets.
    pub database_host: String,
    /// Host name of the SMTP relay.
    pub smtp_host: String,
    /// RDS instance identifier for the forced failover.
    pub database_instance: String,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            namespace: "task-manager".into(),
            release: "task-manager".into(),
            zones: ["eu-west-1a".into(), "eu-west-1b".into(), "eu-west-1c".into()],
            database_host: "task-manager.abcdefghijkl.eu-west-1.rds.amazonaws.com".into(),
            smtp_host: "email-smtp.eu-west-1.amazonaws.com".into(),
            database_instance: "production-task-manager".into(),
        }
    }
}

pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
pub const EXPERIMENT_LABEL: &str = "chaos.task-manager.dev/experiment";

/// One step of the plan: Chaos Mesh objects to apply, or a command to run.
#[derive(Debug, Clone)]
pub enum PlanItem {
    Apply(Vec<Value>),
    Command(String),
}

#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub at: Span,
    pub lasts: Option<Span>,
    pub what: String,
    pub item: PlanItem,
}

impl Cluster {
    fn zone(&self, z: &str) -> &str {
        match z {
            "a" => &self.zones[0],
            "b" => &self.zones[1],
            _ => &self.zones[2],
        }
    }

    fn pods(&self, zone: Option<&str>) -> Value {
        let mut sel = json!({
            "namespaces": [self.namespace],
            "labelSelectors": {
                "app.kubernetes.io/name": "task-manager",
                "app.kubernetes.io/instance": self.release,
            },
        });
        if let Some(z) = zone {
            sel["nodeSelectors"] = json!({ ZONE_LABEL: self.zone(z) });
        }
        sel
    }

    fn object(&self, kind: &str, e: &Experiment, n: usize, suffix: &str, spec: Value) -> Value {
        json!({
            "apiVersion": "chaos-mesh.org/v1alpha1",
            "kind": kind,
            "metadata": {
                "name": format!("{}-{}-{}", e.id, n, suffix),
                "namespace": self.namespace,
                "labels": { EXPERIMENT_LABEL: e.id },
            },
            "spec": spec,
        })
    }

    /// The plan for one experiment's method.
    pub fn plan(&self, e: &Experiment) -> Vec<PlannedStep> {
        e.method
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let n = i + 1;
                // Chaos Mesh needs a duration for faults that last; a one-shot kill has none.
                let duration = step.lasts.map(|l| l.to_string());
                let with_duration = |mut spec: Value| {
                    if let Some(d) = &duration {
                        spec["duration"] = json!(d);
                    }
                    spec
                };
                let db = || json!([self.database_host]);
                let (what, item) = match &step.action {
                    Action::KillReplica { count, zone } => {
                        let (mode, value) = if *count == 1 { ("one", None) } else { ("fixed", Some(count.to_string())) };
                        let mut spec = json!({"action": "pod-kill", "mode": mode, "selector": self.pods(zone.as_deref()), "gracePeriod": 0});
                        if let Some(v) = value {
                            spec["value"] = json!(v);
                        }
                        (format!("kill {count} replica(s)"), PlanItem::Apply(vec![self.object("PodChaos", e, n, "pod-kill", spec)]))
                    }
                    Action::KillZone { zone } => {
                        let spec = with_duration(
                            json!({"action": "pod-failure", "mode": "all", "selector": self.pods(Some(zone))}),
                        );
                        (
                            format!("every replica in {} fails", self.zone(zone)),
                            PlanItem::Apply(vec![self.object("PodChaos", e, n, "zone-failure", spec)]),
                        )
                    }
                    Action::PartitionZone { zone } => {
                        let mut objects = Vec::new();
                        for other in ["a", "b", "c"].into_iter().filter(|o| o != zone) {
                            let spec = with_duration(json!({
                                "action": "partition", "mode": "all", "selector": self.pods(Some(zone)),
                                "direction": "both",
                                "target": {"mode": "all", "selector": self.pods(Some(other))},
                            }));
                            objects.push(self.object("NetworkChaos", e, n, &format!("partition-{other}"), spec));
                        }
                        let spec = with_duration(json!({
                            "action": "partition", "mode": "all", "selector": self.pods(Some(zone)),
                            "direction": "to", "externalTargets": db(),
                        }));
                        objects.push(self.object("NetworkChaos", e, n, "partition-db", spec));
                        (format!("{} cut off from the other zones and the database", self.zone(zone)), PlanItem::Apply(objects))
                    }
                    Action::DbLatency { ms } => {
                        let spec = with_duration(json!({
                            "action": "delay", "mode": "all", "selector": self.pods(None), "direction": "to",
                            "externalTargets": db(), "delay": {"latency": format!("{ms}ms"), "jitter": "0ms", "correlation": "0"},
                        }));
                        (format!("+{ms} ms to the database"), PlanItem::Apply(vec![self.object("NetworkChaos", e, n, "db-delay", spec)]))
                    }
                    Action::DbLoss { percent } => {
                        let spec = with_duration(json!({
                            "action": "loss", "mode": "all", "selector": self.pods(None), "direction": "to",
                            "externalTargets": db(), "loss": {"loss": format!("{percent}"), "correlation": "0"},
                        }));
                        (format!("{percent} % packet loss to the database"), PlanItem::Apply(vec![self.object("NetworkChaos", e, n, "db-loss", spec)]))
                    }
                    Action::DbCut => {
                        let spec = with_duration(json!({
                            "action": "partition", "mode": "all", "selector": self.pods(None), "direction": "to", "externalTargets": db(),
                        }));
                        ("database unreachable".into(), PlanItem::Apply(vec![self.object("NetworkChaos", e, n, "db-cut", spec)]))
                    }
                    Action::KillDbPrimary => (
                        "RDS Multi-AZ forced failover".into(),
                        PlanItem::Command(format!(
                            "aws rds reboot-db-instance --db-instance-identifier {} --force-failover",
                            self.database_instance
                        )),
                    ),
                    Action::StressCpu { load_percent } => {
                        let spec = with_duration(json!({
                            "mode": "all", "selector": self.pods(None),
                            "stressors": {"cpu": {"workers": 1, "load": load_percent}},
                        }));
                        (format!("CPU stress {load_percent} % in every replica"), PlanItem::Apply(vec![self.object("StressChaos", e, n, "cpu", spec)]))
                    }
                    Action::SetLoad { rate } => (
                        format!("client load to {rate} requests/s"),
                        PlanItem::Command(format!("# the runner's load generator switches to {rate} requests/s")),
                    ),
                    Action::RollingRestart => (
                        "rolling restart".into(),
                        PlanItem::Command(format!(
                            "kubectl -n {ns} rollout restart deployment/{r} && kubectl -n {ns} rollout status deployment/{r} --timeout=10m",
                            ns = self.namespace,
                            r = self.release
                        )),
                    ),
                    Action::SmtpOutage => {
                        let spec = with_duration(json!({
                            "action": "partition", "mode": "all", "selector": self.pods(None), "direction": "to",
                            "externalTargets": [self.smtp_host],
                        }));
                        ("SMTP relay unreachable".into(), PlanItem::Apply(vec![self.object("NetworkChaos", e, n, "smtp-cut", spec)]))
                    }
                    Action::RestoreAll => ("restore".into(), PlanItem::Command(self.restore_command(e))),
                };
                PlannedStep { at: step.at, lasts: step.lasts, what, item }
            })
            .collect()
    }

    /// Deletes every Chaos Mesh object of the experiment (the rollback).
    pub fn restore_command(&self, e: &Experiment) -> String {
        format!(
            "kubectl -n {} delete podchaos,networkchaos,stresschaos -l {EXPERIMENT_LABEL}={} --ignore-not-found",
            self.namespace, e.id
        )
    }

    /// The RBAC a runner in the cluster (or a CI service account) needs: Chaos Mesh
    /// objects in the namespace, and rollout restarts of the deployment.
    pub fn rbac(&self) -> Vec<Value> {
        let name = "task-manager-chaos-runner";
        vec![
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": self.namespace}}),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": name, "namespace": self.namespace},
                "rules": [
                    {"apiGroups": ["chaos-mesh.org"], "resources": ["podchaos", "networkchaos", "stresschaos"],
                     "verbs": ["get", "list", "watch", "create", "delete", "patch"]},
                    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch", "patch"]},
                    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]},
                    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
                    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["get", "list", "watch"]},
                ],
            }),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": self.namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": self.namespace}],
            }),
        ]
    }
}

fn yaml_docs(objects: &[Value]) -> String {
    objects.iter().map(|o| format!("---\n{}", serde_norway::to_string(o).expect("JSON values serialise"))).collect()
}

/// The manifest file of one experiment: the plan as comments, then the objects.
pub fn render(cluster: &Cluster, e: &Experiment) -> String {
    let mut out = String::new();
    let _ =
        writeln!(out, "# {} ({}): generated by `task-manager-chaos kubernetes generate`; do not edit.", e.title, e.id);
    let _ = writeln!(out, "# Run it with `task-manager-chaos run chaos/experiments/<file> --target kubernetes`, which");
    let _ = writeln!(out, "# applies each object at its time. Plan (times from the start of the method):");
    let plan = cluster.plan(e);
    for s in &plan {
        let lasts = s.lasts.map(|l| format!(" for {l}")).unwrap_or_default();
        let _ = writeln!(out, "#   at {}{lasts}: {}", s.at, s.what);
        if let PlanItem::Command(c) = &s.item {
            let _ = writeln!(out, "#     $ {c}");
        }
    }
    let _ = writeln!(out, "# Rollback: $ {}", cluster.restore_command(e));
    let objects: Vec<Value> = plan
        .into_iter()
        .flat_map(|s| match s.item {
            PlanItem::Apply(o) => o,
            PlanItem::Command(_) => vec![],
        })
        .collect();
    out.push_str(&yaml_docs(&objects));
    out
}

/// Writes one file per experiment and `rbac.yaml` into `out`; returns the paths.
pub fn generate(cluster: &Cluster, experiments: &[Experiment], out: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut written = Vec::new();
    for e in experiments {
        let path = out.join(format!("{}.yaml", e.id));
        std::fs::write(&path, render(cluster, e))?;
        written.push(path);
    }
    let rbac = out.join("rbac.yaml");
    std::fs::write(
        &rbac,
        format!(
            "# Permissions of the chaos runner's service account; generated, do not edit.\n{}",
            yaml_docs(&cluster.rbac())
        ),
    )?;
    written.push(rbac);
    Ok(written)
}
