//! Runs an experiment against a cluster: the hypothesis (HTTP through the service's URL,
//! PromQL against the cluster's Prometheus) before and after, the plan's Chaos Mesh
//! objects applied with `kubectl apply` at their times and deleted after `lasts`, abort
//! conditions every second, and the rollback (delete every object of the experiment)
//! always, also on Ctrl-C. Figures that need the lab's ledger are left unmeasured.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

use super::{Cluster, PlanItem};
use crate::experiment::Experiment;
use crate::journal::{Activity, Journal, MeasureResult, Status};
use crate::lab::supervisor::{now, ActionResult};

fn kubectl_apply(objects: &[serde_json::Value]) -> anyhow::Result<String> {
    let mut child = Command::new("kubectl")
        .args(["apply", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running kubectl")?;
    let docs: String =
        objects.iter().map(|o| format!("---\n{}", serde_norway::to_string(o).unwrap_or_default())).collect();
    child.stdin.take().context("kubectl stdin")?.write_all(docs.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("kubectl apply: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn shell(cmd: &str) -> anyhow::Result<String> {
    if cmd.starts_with('#') {
        return Ok(cmd.to_string());
    }
    let out = Command::new("sh").args(["-c", cmd]).output()?;
    if !out.status.success() {
        bail!("{cmd}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn kubectl_delete(objects: &[serde_json::Value]) -> anyhow::Result<String> {
    let mut outs = Vec::new();
    for o in objects {
        let kind = o["kind"].as_str().unwrap_or_default().to_lowercase();
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        let ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
        outs.push(shell(&format!("kubectl -n {ns} delete {kind} {name} --ignore-not-found"))?);
    }
    Ok(outs.join("; "))
}

pub async fn run(
    e: &Experiment,
    cluster: &Cluster,
    dry_run: bool,
    base_url: &str,
    prom: &str,
) -> anyhow::Result<Journal> {
    let plan = cluster.plan(e);
    let mut j = Journal {
        experiment: Some(e.clone()),
        target: "kubernetes".into(),
        dry_run,
        started_at: now(),
        ..Default::default()
    };
    for s in &plan {
        let what = match &s.item {
            PlanItem::Apply(objs) => format!(
                "kubectl apply {}",
                objs.iter()
                    .map(|o| format!(
                        "{}/{}",
                        o["kind"].as_str().unwrap_or(""),
                        o["metadata"]["name"].as_str().unwrap_or("")
                    ))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            PlanItem::Command(c) => c.clone(),
        };
        j.plan.push(format!(
            "at {}{}: {} ({what})",
            s.at,
            s.lasts.map(|l| format!(" for {l}")).unwrap_or_default(),
            s.what
        ));
    }
    j.plan.push(format!("rollback: {}", cluster.restore_command(e)));
    if dry_run {
        j.notes.push("dry run: nothing applied".into());
        j.ended_at = now();
        return Ok(j);
    }
    j.load_started_at = now();
    j.steady_state.before = crate::runner::probe_all(e, &reqwest::Client::new(), base_url, prom).await;
    if j.steady_state.before.iter().any(|p| !p.within) {
        j.deviated = true;
        j.status = Status::Failed;
        j.notes.push("the steady state did not hold before the method: nothing applied".into());
        j.ended_at = now();
        return Ok(j);
    }
    let t0 = now();
    j.method_started_at = Some(t0);
    // Events in time order: apply at `at`, delete at `at + lasts`.
    let mut events: Vec<(f64, usize, bool)> = Vec::new();
    for (i, s) in plan.iter().enumerate() {
        events.push((s.at.secs(), i, true));
        if let Some(l) = s.lasts {
            events.push((s.at.secs() + l.secs(), i, false));
        }
    }
    events.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    let http = reqwest::Client::new();
    let end = t0 + e.duration.secs();
    let mut next = 0;
    let mut since: Vec<Option<f64>> = vec![None; e.abort.len()];
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    'method: while now() < end {
        while next < events.len() && t0 + events[next].0 <= now() {
            let (at, i, apply) = events[next];
            next += 1;
            let start = now();
            let step = &plan[i];
            let r = match (&step.item, apply) {
                (PlanItem::Apply(o), true) => kubectl_apply(o),
                (PlanItem::Apply(o), false) => kubectl_delete(o),
                (PlanItem::Command(c), true) => shell(c),
                (PlanItem::Command(_), false) => Ok(String::new()),
            };
            let r = r.map(|output| ActionResult { fault: step.what.clone(), output });
            j.activities.push(Activity::new(if apply { "action" } else { "revert" }, i, &step.what, at, start, r));
        }
        tokio::select! {
            _ = &mut ctrl_c => { interrupted = true; break 'method; }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        for (i, a) in e.abort.iter().enumerate() {
            let Ok(v) = crate::runner::promql(&http, prom, &a.promql).await else { continue };
            if v > a.above {
                let s = *since[i].get_or_insert(now());
                if now() - s >= a.sustained.secs() {
                    j.aborted = Some(crate::journal::Abort { name: a.name.clone(), at: now(), value: v });
                    break 'method;
                }
            } else {
                since[i] = None;
            }
        }
    }
    j.method_ended_at = Some(now());
    let start = now();
    let r = shell(&cluster.restore_command(e)).map(|output| ActionResult { fault: "restore".into(), output });
    j.activities.push(Activity::new("rollback", 0, "restore-all", 0.0, start, r));
    if !interrupted {
        tokio::time::sleep(Duration::from_secs(30)).await;
        j.steady_state.after = crate::runner::probe_all(e, &reqwest::Client::new(), base_url, prom).await;
        j.deviated = j.steady_state.after.iter().any(|p| !p.within);
    }
    j.measures = e
        .pass
        .iter()
        .map(|c| MeasureResult {
            measure: c.measure,
            value: None,
            min: c.min,
            max: c.max,
            passed: false,
            detail:
                "measured by the lab target only (its ledger and control plane); judge from the cluster's dashboards"
                    .into(),
        })
        .collect();
    j.ended_at = now();
    j.status = if interrupted || j.aborted.is_some() {
        Status::Aborted
    } else if j.deviated || j.activities.iter().any(|a| !a.ok) {
        Status::Failed
    } else {
        Status::Completed
    };
    Ok(j)
}
