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

/// The reminders of the drill's tasks: what fell due (the database) against what the
/// lab's SMTP relay received.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct ReminderCheck {
    /// Drill tasks with a due date (open, assigned, due within the lead time): the
    /// reminder of each one fell due during the drill.
    pub due: usize,
    /// Their reminders in the outbox by status (`not queued`: no row yet).
    pub outbox: std::collections::BTreeMap<String, usize>,
    /// Reminders that fell due while the relay was down.
    pub due_during_outage: usize,
    /// Tasks whose reminder the relay received.
    pub received: usize,
    /// Copies received beyond the first, over every task.
    pub duplicates: usize,
    /// Messages to the drill's user that name no drill task with a due date.
    pub unmatched: usize,
    /// Tasks whose reminder never arrived.
    pub lost: Vec<i64>,
    /// Failed delivery attempts of the delivered reminders (each was retried).
    pub retried_attempts: i64,
    /// Longest time from a reminder falling due to the relay accepting it, seconds.
    pub max_delay_seconds: Option<f64>,
    /// The last reminder that fell due during the outage arrived this long after the
    /// relay was back, seconds.
    pub last_after_outage_seconds: Option<f64>,
    /// How long the runner waited for the outbox to drain after the load stopped.
    pub waited_seconds: f64,
    pub error: Option<String>,
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
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reminders: Option<ReminderCheck>,
    pub replaced: u32,
    pub series: Vec<SeriesPoint>,
    pub lab_before_rollback: Option<LabStatus>,
    pub lab_after: Option<LabStatus>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub samples: Vec<Sample>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub acks: Vec<Ack>,
}
