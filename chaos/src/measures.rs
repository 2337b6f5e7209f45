//! The figures a drill is judged by, computed from the journal: the client's samples
//! and ledger, the lab's failovers, autoscaler decisions, load-balancer events and the
//! alerts Alertmanager delivered.

use std::collections::HashSet;

use anyhow::bail;

use crate::experiment::{Action, Criterion, Measure};
use crate::journal::{Journal, MeasureResult};
use crate::load::{self, Sample};

/// Server-side 5xx ratio of the API over 10 s, summed over every replica.
pub const PROM_ERROR_RATIO: &str = "(sum(rate(http_server_requests_total{job=\"task-manager\",http_route=~\"/api/v1/.*\",http_response_status_code=~\"5..\"}[10s])) or vector(0)) / clamp_min(sum(rate(http_server_requests_total{job=\"task-manager\",http_route=~\"/api/v1/.*\"}[10s])), 1e-9)";

/// The rows of a query, columns split (psql over the lab's network; NULL is empty).
pub async fn psql_rows(url: &str, sql: &str) -> anyhow::Result<Vec<Vec<String>>> {
    let out = tokio::process::Command::new("psql")
        .args(["-X", "-At", "-F", "\t", url, "-c", sql])
        .env("PGCONNECT_TIMEOUT", "5")
        .output()
        .await?;
    if !out.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().map(|l| l.split('\t').map(str::to_string).collect()).collect())
}

/// Ids of the drill project's tasks in the database.
pub async fn task_ids_in_database(url: &str, project_id: i64) -> anyhow::Result<HashSet<i64>> {
    let rows = psql_rows(url, &format!("select id from task where project_id = {project_id}")).await?;
    Ok(rows.iter().filter_map(|r| r.first()?.trim().parse().ok()).collect())
}

fn method_window(j: &Journal) -> (f64, f64) {
    (j.load_started_at, j.method_ended_at.unwrap_or(j.ended_at))
}

/// When method step `i` was in place: from its action to its revert (or the method's end).
fn step_window(j: &Journal, i: usize) -> Option<(f64, f64)> {
    let start = j.activities.iter().find(|a| a.kind == "action" && a.step == i && a.ok)?.start;
    let end = j.activities.iter().find(|a| a.kind == "revert" && a.step == i).map(|a| a.start);
    Some((start, end.unwrap_or(j.method_ended_at.unwrap_or(j.ended_at))))
}

fn samples_in(j: &Journal, step: Option<usize>) -> Vec<&Sample> {
    let (a, b) = match step {
        Some(i) => step_window(j, i).unwrap_or((0.0, -1.0)),
        None => method_window(j),
    };
    j.samples.iter().filter(|s| s.sent_at >= a && s.sent_at <= b).collect()
}

/// When the first activity of this kind started (the fault's time).
fn first_action(j: &Journal, pred: impl Fn(&str) -> bool) -> Option<f64> {
    j.activities.iter().filter(|a| a.kind == "action" && a.ok && pred(&a.name)).map(|a| a.start).reduce(f64::min)
}

fn scale_down_window(j: &Journal) -> f64 {
    300.0 * j.time_scale.unwrap_or(1.0)
}

pub fn evaluate(c: &Criterion, j: &Journal) -> MeasureResult {
    let (value, mut detail) = measure(c, j);
    if let Some(i) = c.step {
        let name = j.experiment.as_ref().and_then(|e| e.method.get(i)).map(|s| s.action.name()).unwrap_or("?");
        detail = format!("while step {i} ({name}) was in place: {detail}");
    }
    let passed = value.is_some_and(|v| c.min.is_none_or(|m| v >= m) && c.max.is_none_or(|m| v <= m));
    MeasureResult { measure: c.measure, value, min: c.min, max: c.max, passed, detail }
}

fn measure(c: &Criterion, j: &Journal) -> (Option<f64>, String) {
    match c.measure {
        Measure::LostWrites => match &j.ledger.error {
            Some(e) => (None, format!("the database could not be read: {e}")),
            None => (
                Some(j.ledger.lost.len() as f64),
                format!("{} acknowledged writes, {} found in the database", j.ledger.acknowledged, j.ledger.found),
            ),
        },
        Measure::Availability => {
            let s = samples_in(j, c.step);
            let ok = s.iter().filter(|s| s.ok()).count();
            if s.is_empty() {
                return (None, "no requests".into());
            }
            let retried = s.iter().filter(|s| s.attempts > 1).count();
            (
                Some(ok as f64 / s.len() as f64),
                format!(
                    "{ok} of {} requests succeeded ({} failed; {retried} needed a client retry)",
                    s.len(),
                    s.len() - ok
                ),
            )
        }
        Measure::P99LatencyMs => {
            let s = samples_in(j, c.step);
            (load::percentile(&s, 0.99), format!("client-side, over {} requests", s.len()))
        }
        Measure::WriteRecoverySeconds => {
            let Some(killed) = first_action(j, |n| n == "kill-db-primary") else {
                return (None, "the primary was not killed".into());
            };
            let failover = j
                .lab_before_rollback
                .as_ref()
                .and_then(|s| s.failovers.iter().find(|f| f.lost_at >= killed - 1.0).cloned());
            let first = j.acks.iter().filter(|a| a.sent_at >= killed).map(|a| a.acked_at).reduce(f64::min);
            match first {
                Some(t) => (
                    Some(t - killed),
                    match failover {
                        Some(f) => format!(
                            "standby in zone {} promoted {:.1} s after the kill; first acknowledged write {:.1} s after",
                            f.to_zone,
                            f.promoted_at - killed,
                            t - killed
                        ),
                        None => "no failover recorded".into(),
                    },
                ),
                None => (None, "no write was acknowledged after the primary died".into()),
            }
        }
        Measure::AlertDelaySeconds => {
            let name = c.alert.clone().unwrap_or_default();
            let fault = match c.step {
                Some(i) => step_window(j, i).map(|w| w.0),
                None => first_action(j, |_| true),
            };
            let Some(fault) = fault else { return (None, "the fault was not applied".into()) };
            let alerts = j.lab_before_rollback.as_ref().map(|s| s.alerts.clone()).unwrap_or_default();
            match alerts
                .iter()
                .filter(|a| a.alertname == name && a.status == "firing" && a.at >= fault)
                .map(|a| a.at)
                .reduce(f64::min)
            {
                Some(t) => {
                    (Some(t - fault), format!("{name} delivered by Alertmanager {:.0} s after the fault", t - fault))
                }
                None => (None, format!("{name} never reached Alertmanager during the drill")),
            }
        }
        Measure::EjectionSeconds => {
            let Some(fault) = first_action(j, |n| n == "partition-zone" || n == "kill-zone") else {
                return (None, "no zone fault".into());
            };
            let zone = j.experiment.as_ref().and_then(|e| {
                e.method.iter().find_map(|s| match &s.action {
                    Action::PartitionZone { zone } | Action::KillZone { zone } => Some(zone.clone()),
                    _ => None,
                })
            });
            let Some(status) = &j.lab_before_rollback else { return (None, "no lab status".into()) };
            // The zone's servers as they were when the fault came: every one must be out.
            let servers: HashSet<String> = status
                .lb_events
                .iter()
                .filter(|e| e.at < fault && e.status == "added" && Some(&e.zone) == zone.as_ref())
                .map(|e| e.server.clone())
                .filter(|name| {
                    // still a member when the fault came
                    !status.lb_events.iter().any(|e| &e.server == name && e.at < fault && e.status == "removed")
                })
                .collect();
            if servers.is_empty() {
                return (None, format!("no replica was in zone {} when the fault came", zone.unwrap_or_default()));
            }
            let mut worst: f64 = 0.0;
            for s in &servers {
                let out = status
                    .lb_events
                    .iter()
                    .filter(|e| {
                        &e.server == s && e.at >= fault && (e.status.starts_with("DOWN") || e.status == "removed")
                    })
                    .map(|e| e.at)
                    .reduce(f64::min);
                match out {
                    Some(t) => worst = worst.max(t - fault),
                    None => return (None, format!("{s} was never taken out of the load balancer")),
                }
            }
            (Some(worst), format!("{} server(s) of the zone out of HAProxy after {worst:.1} s", servers.len()))
        }
        Measure::ReachedComputedReplicas => {
            let start = j.method_started_at.unwrap_or(0.0);
            let end = j.method_ended_at.unwrap_or(j.ended_at);
            let decisions: Vec<_> = j
                .lab_before_rollback
                .iter()
                .flat_map(|s| s.decisions.iter())
                .filter(|d| d.at >= start && d.at <= end)
                .collect();
            let initial = decisions.first().map(|d| d.current).unwrap_or(0);
            let computed = decisions.iter().map(|d| d.desired).max().unwrap_or(0);
            let reached = j.series.iter().filter(|p| p.t >= start).map(|p| p.ready).max().unwrap_or(0);
            let ok = computed > initial && reached >= computed;
            (
                Some(if ok { 1.0 } else { 0.0 }),
                format!(
                    "the HPA algorithm computed {computed} replicas (from {initial}); {reached} were ready at most"
                ),
            )
        }
        Measure::MaxReplicasWhileUnready => {
            let start = j.method_started_at.unwrap_or(0.0);
            let d: Vec<_> = j
                .lab_before_rollback
                .iter()
                .flat_map(|s| s.decisions.iter())
                .filter(|d| d.at >= start && d.unready > 0)
                .collect();
            let max = d.iter().map(|d| d.desired).max();
            (
                max.map(f64::from).or(Some(0.0)),
                format!("{} decisions were taken with unready replicas; the highest count they asked for", d.len()),
            )
        }
        Measure::EarlyScaleDowns => {
            let drop = j
                .activities
                .iter()
                .filter(|a| {
                    a.ok && ((a.kind == "revert" && a.name == "stress-cpu")
                        || (a.kind == "action" && a.name == "set-load"))
                })
                .map(|a| a.start)
                .reduce(f64::max);
            let Some(drop) = drop else { return (None, "the load never dropped".into()) };
            let w = scale_down_window(j);
            let start = j.method_started_at.unwrap_or(0.0);
            let downs: Vec<_> = j
                .lab_before_rollback
                .iter()
                .flat_map(|s| s.decisions.iter())
                .filter(|d| d.at >= start && d.desired < d.current)
                .collect();
            // The window counts from the last high recommendation, whose CPU sample may
            // end up to one sync period before the drop.
            let sync = crate::hpa::SYNC_PERIOD_SECONDS * j.time_scale.unwrap_or(1.0);
            let early = downs.iter().filter(|d| d.at < drop + w - sync).count();
            let first = downs
                .first()
                .map(|d| format!("; first scale-down {:.1} s after the drop", d.at - drop))
                .unwrap_or_default();
            (Some(early as f64), format!("scale-down window {w:.0} s, sync period {sync:.1} s{first}"))
        }
        Measure::DirectionChangesPerWindow => {
            let w = scale_down_window(j);
            let start = j.method_started_at.unwrap_or(0.0);
            let changes: Vec<(f64, i32)> = j
                .lab_before_rollback
                .iter()
                .flat_map(|s| s.decisions.iter())
                .filter(|d| d.at >= start && d.desired != d.current)
                .map(|d| (d.at, if d.desired > d.current { 1 } else { -1 }))
                .collect();
            let flips: Vec<f64> = changes.windows(2).filter(|p| p[0].1 != p[1].1).map(|p| p[1].0).collect();
            let max = flips.iter().map(|&t| flips.iter().filter(|&&u| u >= t && u < t + w).count()).max().unwrap_or(0);
            (Some(max as f64), format!("{} scaling changes, {} direction changes", changes.len(), flips.len()))
        }
        Measure::ReplicasReplaced => (Some(j.replaced as f64), "replicas replaced by the rollout".into()),
        Measure::MinReadyReplicas => {
            let (a, b) = method_window(j);
            let during: Vec<u32> = j.series.iter().filter(|p| p.t >= a && p.t <= b).map(|p| p.ready).collect();
            let fewest = during.iter().min().copied();
            (
                fewest.map(f64::from),
                format!(
                    "{} samples of the ready replicas behind the load balancer; at most {}",
                    during.len(),
                    during.iter().max().copied().unwrap_or(0)
                ),
            )
        }
        Measure::RemindersLost | Measure::ReminderDuplicates => {
            let Some(r) = &j.reminders else { return (None, "the reminders were not checked".into()) };
            if let Some(e) = &r.error {
                return (None, format!("the database or the relay's mail could not be read: {e}"));
            }
            let outbox: Vec<String> = r.outbox.iter().map(|(k, v)| format!("{v} {k}")).collect();
            let mut detail = format!(
                "{} reminders fell due ({} while the relay was down); the relay received {} of them, {} duplicate \
                 copies; outbox: {}; {} failed attempts retried",
                r.due,
                r.due_during_outage,
                r.received,
                r.duplicates,
                outbox.join(", "),
                r.retried_attempts
            );
            if let Some(d) = r.max_delay_seconds {
                detail += &format!("; slowest {d:.0} s after it fell due");
            }
            if let Some(d) = r.last_after_outage_seconds {
                detail += &format!("; the last one due in the outage arrived {d:.0} s after the relay was back");
            }
            if !r.lost.is_empty() {
                let ids: Vec<String> = r.lost.iter().take(10).map(i64::to_string).collect();
                detail += &format!("; lost: tasks {}", ids.join(", "));
            }
            detail += &format!(" (waited {:.0} s for the outbox)", r.waited_seconds);
            let value = if c.measure == Measure::RemindersLost { r.lost.len() } else { r.duplicates };
            (Some(value as f64), detail)
        }
    }
}
