//! The journal of one run (JSON): status, the hypothesis before and after, every action
//! with its times and output, the abort if any, the measured figures against the pass
//! criteria, the time series and the ledger check.

use serde::{Deserialize, Serialize};

use crate::experiment::{Experiment, Measure};
use crate::lab::supervisor::{ActionResult, Status as LabStatus};
use crate::load::{Ack, Sample};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Completed,
    Failed,
    Aborted,
    /// Not run: the drill needs a feature the service does not have.
    Skipped,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SteadyStateResults {
    pub before: Vec<ProbeResult>,
    pub after: Vec<ProbeResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeResult {
    pub name: String,
    pub start: f64,
    pub end: f64,
    pub value: Option<f64>,
    pub error: Option<String>,
    pub tolerance: String,
    pub within: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Activity {
    /// action, revert or rollback.
    pub kind: String,
    pub step: usize,
    pub name: String,
    /// Planned offset from the method's start, seconds.
    pub planned_at: f64,
    pub start: f64,
    pub end: f64,
    pub ok: bool,
    pub output: String,
}

impl Activity {
    pub fn new(
        kind: &str,
        step: usize,
        name: &str,
        planned_at: f64,
        start: f64,
        r: anyhow::Result<ActionResult>,
    ) -> Activity {
        let (ok, output) = match r {
            Ok(r) => (true, r.output),
            Err(e) => (false, format!("{e:#}")),
        };
        Activity {
            kind: kind.into(),
            step,
            name: name.into(),
            planned_at,
            start,
            end: crate::lab::supervisor::now(),
            ok,
            output,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Abort {
    pub name: String,
    pub at: f64,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub t: f64,
    pub desired: u32,
    pub active: u32,
    pub ready: u32,
    pub cpu_percent_of_request: Option<f64>,
    pub server_error_ratio: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct LedgerCheck {
    pub acknowledged: usize,
    pub found: usize,
    pub lost: Vec<String>,
    pub error: Option<String>,
}

impl LedgerCheck {
    pub fn new(acks: &[Ack], found: Result<&std::collections::HashSet<i64>, String>) -> LedgerCheck {
        match found {
            Ok(ids) => {
                let lost: Vec<String> = acks
                    .iter()
                    .filter(|a| !ids.contains(&a.task_id))
                    .map(|a| format!("{} (task {})", a.key, a.task_id))
                    .collect();
                LedgerCheck { acknowledged: acks.len(), found: acks.len() - lost.len(), lost, error: None }
            }
            Err(e) => LedgerCheck { acknowledged: acks.len(), found: 0, lost: vec![], error: Some(e) },
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeasureResult {
    pub measure: Measure,
    pub value: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Journal {
    pub experiment: Option<Experiment>,
    pub target: String,
    pub dry_run: bool,
    pub status: Status,
    pub deviated: bool,
    pub started_at: f64,
    pub ended_at: f64,
    pub load_started_at: f64,
    pub method_started_at: Option<f64>,
    pub method_ended_at: Option<f64>,
    pub time_scale: Option<f64>,
    pub notes: Vec<String>,
    pub plan: Vec<String>,
    pub steady_state: SteadyStateResults,
    pub activities: Vec<Activity>,
    pub aborted: Option<Abort>,
    pub measures: Vec<MeasureResult>,
    pub ledger: LedgerCheck,
    pub replaced: u32,
    pub series: Vec<SeriesPoint>,
    pub lab_before_rollback: Option<LabStatus>,
    pub lab_after: Option<LabStatus>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub samples: Vec<Sample>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub acks: Vec<Ack>,
}
