//! Runs one experiment against the lab: load through the balancer, the steady-state
//! hypothesis before, the method's faults at their times (each reverted after `lasts`),
//! abort conditions checked every second, rollbacks (always, and on Ctrl-C), the
//! hypothesis after, the ledger checked against the database, and the pass criteria.
//! Everything lands in the journal ([`crate::journal::Journal`]).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::experiment::{Action, Experiment, Measure, ProbeCheck};
use crate::journal::{Activity, Journal, ProbeResult, SeriesPoint, Status};
use crate::lab::supervisor::{now, ActionResult, Status as LabStatus};
use crate::lab::{self, net, LabConfig};
use crate::load::{self, Recorded};
use crate::measures;

/// Seconds of load before the hypothesis is first checked (PromQL windows need data).
const WARMUP: f64 = 6.0;
/// Seconds of load after the rollback before the hypothesis is checked again.
const SETTLE: f64 = 25.0;

pub struct Lab {
    cfg: LabConfig,
    http: reqwest::Client,
}

impl Lab {
    pub fn connect(dir: &std::path::Path) -> anyhow::Result<Lab> {
        Ok(Lab {
            cfg: LabConfig::load(dir)?,
            http: reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?,
        })
    }

    pub async fn status(&self) -> anyhow::Result<LabStatus> {
        lab::client_status(&self.cfg).await
    }

    async fn post(&self, path: &str, body: Option<&Action>) -> anyhow::Result<ActionResult> {
        let mut req = self.http.post(format!("{}{path}", self.cfg.control_url()));
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await?;
        if !r.status().is_success() {
            bail!("{}", r.text().await.unwrap_or_default());
        }
        Ok(r.json().await?)
    }

    pub async fn apply(&self, a: &Action) -> anyhow::Result<ActionResult> {
        self.post("/action", Some(a)).await
    }

    pub async fn revert(&self, fault: &str) -> anyhow::Result<ActionResult> {
        self.post(&format!("/revert/{fault}"), None).await
    }

    /// Sets the supervisor's `task_manager_chaos_drill_active{experiment}` (scraped by the
    /// lab's Prometheus) to 1 while the drill runs, back to 0 when it ended.
    pub async fn mark_drill(&self, experiment: &str, running: bool) -> anyhow::Result<()> {
        let url = format!("{}/drill/{experiment}", self.cfg.control_url());
        let r = if running { self.http.put(url) } else { self.http.delete(url) }.send().await?;
        if !r.status().is_success() {
            bail!("marking drill {experiment}: {} {}", r.status(), r.text().await.unwrap_or_default());
        }
        Ok(())
    }
}

/// The value of an instant PromQL query: the first sample, 0 when there is none.
pub async fn promql(http: &reqwest::Client, prom: &str, q: &str) -> anyhow::Result<f64> {
    let v: serde_json::Value = http
        .get(format!("{prom}/api/v1/query"))
        .query(&[("query", q)])
        .timeout(Duration::from_secs(5))
        .send()
        .await?
        .json()
        .await?;
    if v["status"] != "success" {
        bail!("PromQL error: {}", v["error"]);
    }
    let x = v.pointer("/data/result/0/value/1").and_then(|x| x.as_str()).unwrap_or("0");
    let x: f64 = x.parse().unwrap_or(0.0);
    Ok(if x.is_nan() { 0.0 } else { x })
}

/// Checks every probe of the hypothesis: HTTP through `base_url`, PromQL at `prom`.
pub async fn probe_all(e: &Experiment, http: &reqwest::Client, base_url: &str, prom: &str) -> Vec<ProbeResult> {
    let mut out = Vec::new();
    for p in &e.steady_state.probes {
        let start = now();
        let value = match p.check() {
            Some(ProbeCheck::Http(path)) => http
                .get(format!("{base_url}{path}"))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map(|r| r.status().as_u16() as f64)
                .map_err(|e| e.to_string()),
            Some(ProbeCheck::Promql(q)) => promql(http, prom, &q).await.map_err(|e| format!("{e:#}")),
            None => Err("no check".into()),
        };
        let (value, error) = match value {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e)),
        };
        out.push(ProbeResult {
            name: p.name.clone(),
            start,
            end: now(),
            value,
            error,
            tolerance: p.tolerance.to_string(),
            within: value.is_some_and(|v| p.tolerance.holds(v)),
        });
    }
    out
}

/// Seconds the runner waits, after the load stops, for the outbox to deliver what is due.
const REMINDER_DRAIN: f64 = 120.0;

/// The configuration keys the lab sets for a feature a drill may need.
pub fn feature_config_keys(feature: &str) -> Vec<&'static str> {
    match feature {
        "email-notifications" => lab::mail::replica_settings(1.0).into_iter().map(|(k, _)| k).collect(),
        _ => Vec::new(),
    }
}

/// The keys a feature needs that the service binary does not know (its configuration is
/// deserialised by field name, so every key it reads is a string in the binary). An
/// unknown feature misses everything.
pub fn missing_config_keys(bin: &std::path::Path, feature: &str) -> Vec<String> {
    let keys = feature_config_keys(feature);
    if keys.is_empty() {
        return vec![format!("(no configuration keys are known for {feature:?})")];
    }
    let binary = std::fs::read(bin).unwrap_or_default();
    keys.into_iter().filter(|k| !binary.windows(k.len()).any(|w| w == k.as_bytes())).map(str::to_string).collect()
}

pub async fn run_lab(e: &Experiment, lab_dir: &std::path::Path, journal: &mut Journal) -> anyhow::Result<()> {
    let lab = Lab::connect(lab_dir)?;
    let first = lab.status().await.context("the lab is not answering (run `task-manager-chaos lab up`)")?;
    net::assert_routes_into_lab()?;
    if !first.lb_url.starts_with("http://127.") {
        bail!("the load balancer {} is not on loopback: refusing to send load", first.lb_url);
    }
    for f in &e.requires {
        let missing = missing_config_keys(&lab.cfg.tm_bin, f);
        if !missing.is_empty() {
            journal.status = Status::Skipped;
            journal.notes.push(format!(
                "not run: needs the {f} feature, and {} does not know its configuration keys {}",
                lab.cfg.tm_bin.display(),
                missing.join(", ")
            ));
            return Ok(());
        }
    }
    journal.time_scale = Some(first.time_scale);
    journal.notes.push(format!("lab network: {}", net::mode().describe()));
    journal.notes.push(format!(
        "lab target: HPA windows and periods scaled by {} (the chart's 300 s scale-down window is {} s); SLO rule windows scaled by {}",
        first.time_scale,
        300.0 * first.time_scale,
        lab.cfg.slo_window_scale
    ));
    let http = reqwest::Client::new();
    let run_id = format!("{}-{}", e.id, chrono::Utc::now().format("%Y%m%d%H%M%S"));
    let client = Arc::new(load::Client::setup(&first.lb_url, &run_id, e.load.due_in.map(|d| d.0)).await?);
    let rec = Arc::new(Mutex::new(Recorded::default()));
    let rate = Arc::new(AtomicU64::new((e.load.rate * 1000.0) as u64));
    let stop_load = Arc::new(AtomicBool::new(false));
    let load_task = tokio::spawn(load::run(
        client.clone(),
        rate.clone(),
        e.load.write_ratio,
        e.load.retries,
        stop_load.clone(),
        rec.clone(),
    ));
    journal.load_started_at = now();

    // One point a second: the lab's replicas and Prometheus' view of errors.
    let series = Arc::new(Mutex::new(Vec::<SeriesPoint>::new()));
    let stop_sampler = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (series, stop, cfg, http) = (series.clone(), stop_sampler.clone(), lab.cfg.clone(), http.clone());
        let prom = first.prometheus_url.clone();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let t = now();
                if let Ok(s) = lab::client_status(&cfg).await {
                    let active: Vec<_> = s.replicas.iter().filter(|r| !r.terminating).collect();
                    let cpu: Vec<f64> = active.iter().filter_map(|r| r.cpu_percent_of_request).collect();
                    let err = promql(&http, &prom, measures::PROM_ERROR_RATIO).await.ok();
                    series.lock().unwrap().push(SeriesPoint {
                        t,
                        desired: s.desired,
                        active: active.len() as u32,
                        ready: active.iter().filter(|r| r.ready).count() as u32,
                        cpu_percent_of_request: (!cpu.is_empty()).then(|| cpu.iter().sum::<f64>() / cpu.len() as f64),
                        server_error_ratio: err,
                    });
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };

    tokio::time::sleep(Duration::from_secs_f64(WARMUP)).await;
    journal.steady_state.before = {
        let s = lab.status().await?;
        probe_all(e, &http, &s.lb_url, &s.prometheus_url).await
    };
    let deviated_before = journal.steady_state.before.iter().any(|p| !p.within);
    let replaced_before = lab.status().await?.replaced;
    let activities = Arc::new(Mutex::new(Vec::<Activity>::new()));
    let mut interrupted = false;
    if deviated_before {
        journal.deviated = true;
        journal.notes.push("the steady state did not hold before the method: no fault injected".into());
    } else {
        // Losing the mark costs only the dashboards' annotation: a note, not a failure.
        if let Err(err) = lab.mark_drill(&e.id, true).await {
            journal.notes.push(format!("drill not marked on the dashboards: {err:#}"));
        }
        let t0 = now();
        journal.method_started_at = Some(t0);
        let lab = Arc::new(lab);
        let mut steps = tokio::task::JoinSet::new();
        for (i, step) in e.method.iter().cloned().enumerate() {
            let (lab, acts, rate) = (lab.clone(), activities.clone(), rate.clone());
            steps.spawn(async move {
                tokio::time::sleep(Duration::from_secs_f64((t0 + step.at.secs() - now()).max(0.0))).await;
                let start = now();
                let result = match &step.action {
                    Action::SetLoad { rate: r } => {
                        rate.store((r * 1000.0) as u64, Ordering::Relaxed);
                        Ok(ActionResult { fault: "set-load".into(), output: format!("client load now {r}/s") })
                    }
                    a => lab.apply(a).await,
                };
                let fault = result.as_ref().ok().map(|r| r.fault.clone());
                acts.lock().unwrap().push(Activity::new(
                    "action",
                    i,
                    step.action.name(),
                    step.at.secs(),
                    start,
                    result,
                ));
                if let (Some(lasts), Some(fault)) = (step.lasts, fault) {
                    tokio::time::sleep(Duration::from_secs_f64((start + lasts.secs() - now()).max(0.0))).await;
                    let start = now();
                    let result = lab.revert(&fault).await;
                    acts.lock().unwrap().push(Activity::new(
                        "revert",
                        i,
                        &fault,
                        step.at.secs() + lasts.secs(),
                        start,
                        result,
                    ));
                }
            });
        }
        // Abort conditions and the end of the method.
        let end = t0 + e.duration.secs();
        let mut exceeded_since: Vec<Option<f64>> = vec![None; e.abort.len()];
        let prom = first.prometheus_url.clone();
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        'method: while now() < end {
            tokio::select! {
                _ = &mut ctrl_c => { interrupted = true; break 'method; }
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            for (i, a) in e.abort.iter().enumerate() {
                let Ok(v) = promql(&http, &prom, &a.promql).await else { continue };
                if v > a.above {
                    let since = *exceeded_since[i].get_or_insert(now());
                    if now() - since >= a.sustained.secs() {
                        journal.aborted = Some(crate::journal::Abort { name: a.name.clone(), at: now(), value: v });
                        break 'method;
                    }
                } else {
                    exceeded_since[i] = None;
                }
            }
        }
        if interrupted || journal.aborted.is_some() {
            steps.abort_all();
        }
        while steps.join_next().await.is_some() {}
        journal.method_ended_at = Some(now());
        // Scale-out is judged before the rollback puts the count back.
        journal.lab_before_rollback = Some(lab.status().await?);
        let lab = Arc::try_unwrap(lab).ok().context("steps still hold the lab")?;
        rollback(e, &lab, &activities).await;
        if let Err(err) = lab.mark_drill(&e.id, false).await {
            journal.notes.push(format!("drill end not marked on the dashboards: {err:#}"));
        }
        if interrupted {
            journal.notes.push("interrupted (Ctrl-C): faults rolled back".into());
        } else {
            tokio::time::sleep(Duration::from_secs_f64(SETTLE)).await;
            journal.steady_state.after = {
                let s = lab.status().await?;
                probe_all(e, &http, &s.lb_url, &s.prometheus_url).await
            };
            journal.deviated = journal.steady_state.after.iter().any(|p| !p.within);
        }
        let last = lab.status().await?;
        journal.replaced = last.replaced - replaced_before;
        journal.lab_after = Some(last);
        stop_load.store(true, Ordering::Relaxed);
        let _ = load_task.await;
        stop_sampler.store(true, Ordering::Relaxed);
        let _ = sampler.await;
        return finish(e, journal, &lab.cfg.dir, client, rec, series, activities, interrupted).await;
    }
    stop_load.store(true, Ordering::Relaxed);
    let _ = load_task.await;
    stop_sampler.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    journal.lab_after = Some(lab.status().await?);
    rollback(e, &lab, &activities).await;
    finish(e, journal, &lab.cfg.dir, client, rec, series, activities, interrupted).await
}

/// When a fault was in place: from its action to its revert (or the rollback that
/// undid it), Unix seconds.
fn fault_window(activities: &[Activity], fault: &str) -> Option<(f64, f64)> {
    let start = activities.iter().find(|a| a.kind == "action" && a.ok && a.name == fault)?.start;
    let end = activities
        .iter()
        .filter(|a| a.start >= start && (a.kind == "revert" && a.name == fault || a.kind == "rollback"))
        .map(|a| a.end)
        .reduce(f64::min)?;
    Some((start, end))
}

async fn rollback(e: &Experiment, lab: &Lab, activities: &Mutex<Vec<Activity>>) {
    let mut actions = e.rollbacks.clone();
    if actions.is_empty() {
        actions.push(Action::RestoreAll);
    }
    for (i, a) in actions.iter().enumerate() {
        let start = now();
        let r = lab.apply(a).await;
        activities.lock().unwrap().push(Activity::new("rollback", i, a.name(), 0.0, start, r));
    }
}

#[allow(clippy::too_many_arguments)]
async fn finish(
    e: &Experiment,
    journal: &mut Journal,
    lab_dir: &std::path::Path,
    client: Arc<load::Client>,
    rec: Arc<Mutex<Recorded>>,
    series: Arc<Mutex<Vec<SeriesPoint>>>,
    activities: Arc<Mutex<Vec<Activity>>>,
    interrupted: bool,
) -> anyhow::Result<()> {
    let rec = std::mem::take(&mut *rec.lock().unwrap());
    journal.series = std::mem::take(&mut *series.lock().unwrap());
    let mut acts = std::mem::take(&mut *activities.lock().unwrap());
    acts.sort_by(|a, b| a.start.partial_cmp(&b.start).unwrap_or(std::cmp::Ordering::Equal));
    journal.activities = acts;
    // The ledger against the database (the primary after any failover).
    let db_url = journal.lab_after.as_ref().map(|s| s.database_url.clone()).unwrap_or_default();
    let found = crate::measures::task_ids_in_database(&db_url, client.project_id).await;
    journal.ledger = crate::journal::LedgerCheck::new(&rec.ledger, found.as_ref().map_err(|e| format!("{e:#}")));
    if e.pass.iter().any(|c| matches!(c.measure, Measure::RemindersLost | Measure::ReminderDuplicates)) {
        let outage = fault_window(&journal.activities, "smtp-outage");
        journal.reminders = Some(
            crate::reminders::wait_and_compare(
                &db_url,
                client.project_id,
                lab_dir,
                &client.email,
                outage,
                Duration::from_secs_f64(REMINDER_DRAIN),
            )
            .await,
        );
    }
    journal.samples = rec.samples;
    journal.acks = rec.ledger;
    journal.ended_at = now();
    journal.measures = e.pass.iter().map(|c| measures::evaluate(c, journal)).collect();
    journal.status = if interrupted || journal.aborted.is_some() {
        Status::Aborted
    } else if journal.deviated || journal.measures.iter().any(|m| !m.passed) || journal.activities.iter().any(|a| !a.ok)
    {
        Status::Failed
    } else {
        Status::Completed
    };
    Ok(())
}
