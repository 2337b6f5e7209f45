//! The Kubernetes HorizontalPodAutoscaler (autoscaling/v2) algorithm, as a pure module:
//! the replica calculation for resource metrics (tolerance, the conservative second pass
//! for missing and unready pods), several metrics, stabilisation windows, rate policies
//! and the min/max clamp. Time is an argument (seconds), never read from a clock, so the
//! worked examples of the Kubernetes documentation are unit tests.
//!
//! The settings come from the Helm chart's `autoscaling` values, so the lab exercises the
//! configuration production uses; [`Behavior::scaled`] shrinks the windows for the lab.

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// Kubernetes' default tolerance (`--horizontal-pod-autoscaler-tolerance`).
pub const DEFAULT_TOLERANCE: f64 = 0.1;
/// Kubernetes' controller sync period.
pub const SYNC_PERIOD_SECONDS: f64 = 15.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyType {
    Pods,
    Percent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SelectPolicy {
    #[default]
    Max,
    Min,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    #[serde(rename = "type")]
    pub kind: PolicyType,
    pub value: u32,
    pub period_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rules {
    pub stabilization_window_seconds: f64,
    pub policies: Vec<Policy>,
    #[serde(default)]
    pub select_policy: SelectPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Behavior {
    pub scale_up: Rules,
    pub scale_down: Rules,
}

impl Default for Behavior {
    /// The Kubernetes defaults: up max(4 pods, 100 %) per 15 s with no window; down
    /// 100 % per 15 s with a 300 s window.
    fn default() -> Self {
        Behavior {
            scale_up: Rules {
                stabilization_window_seconds: 0.0,
                policies: vec![
                    Policy { kind: PolicyType::Pods, value: 4, period_seconds: 15.0 },
                    Policy { kind: PolicyType::Percent, value: 100, period_seconds: 15.0 },
                ],
                select_policy: SelectPolicy::Max,
            },
            scale_down: Rules {
                stabilization_window_seconds: 300.0,
                policies: vec![Policy { kind: PolicyType::Percent, value: 100, period_seconds: 15.0 }],
                select_policy: SelectPolicy::Max,
            },
        }
    }
}

impl Behavior {
    /// The same behaviour with every window and period multiplied by `factor` (the lab
    /// runs 300 s windows as 30 s with 0.1).
    pub fn scaled(&self, factor: f64) -> Behavior {
        let scale = |r: &Rules| Rules {
            stabilization_window_seconds: r.stabilization_window_seconds * factor,
            policies: r
                .policies
                .iter()
                .map(|p| Policy { period_seconds: p.period_seconds * factor, ..p.clone() })
                .collect(),
            select_policy: r.select_policy,
        };
        Behavior { scale_up: scale(&self.scale_up), scale_down: scale(&self.scale_down) }
    }
}

/// The chart's `autoscaling` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaSpec {
    pub enabled: bool,
    pub min_replicas: u32,
    pub max_replicas: u32,
    #[serde(rename = "targetCPUUtilizationPercentage")]
    pub target_cpu_utilization_percentage: Option<f64>,
    pub target_memory_utilization_percentage: Option<f64>,
    #[serde(default)]
    pub behavior: Option<Behavior>,
}

/// Container resources as the chart sets them (in cores and bytes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    pub cpu_request: f64,
    pub cpu_limit: f64,
    pub memory_request: f64,
    pub memory_limit: f64,
}

/// What the lab needs from the chart's values.yaml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartSettings {
    pub hpa: HpaSpec,
    pub resources: Resources,
}

impl ChartSettings {
    pub fn behavior(&self) -> Behavior {
        self.hpa.behavior.clone().unwrap_or_default()
    }

    /// Reads `autoscaling` and `resources` from a Helm values file.
    pub fn from_values_file(path: &Path) -> anyhow::Result<ChartSettings> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::from_values_yaml(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn from_values_yaml(text: &str) -> anyhow::Result<ChartSettings> {
        #[derive(Deserialize)]
        struct Quantities {
            cpu: String,
            memory: String,
        }
        #[derive(Deserialize)]
        struct Res {
            requests: Quantities,
            limits: Quantities,
        }
        #[derive(Deserialize)]
        struct Values {
            autoscaling: HpaSpec,
            resources: Res,
        }
        let v: Values = serde_norway::from_str(text).context("autoscaling/resources in the chart values")?;
        if v.autoscaling.min_replicas == 0 || v.autoscaling.min_replicas > v.autoscaling.max_replicas {
            bail!("autoscaling.minReplicas must be >= 1 and <= maxReplicas");
        }
        Ok(ChartSettings {
            hpa: v.autoscaling,
            resources: Resources {
                cpu_request: parse_cpu(&v.resources.requests.cpu)?,
                cpu_limit: parse_cpu(&v.resources.limits.cpu)?,
                memory_request: parse_memory(&v.resources.requests.memory)?,
                memory_limit: parse_memory(&v.resources.limits.memory)?,
            },
        })
    }
}

/// A Kubernetes CPU quantity (`250m`, `0.5`, `2`) in cores.
pub fn parse_cpu(q: &str) -> anyhow::Result<f64> {
    let q = q.trim();
    let v = match q.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().map(|m| m / 1000.0),
        None => q.parse::<f64>(),
    };
    v.with_context(|| format!("not a CPU quantity: {q:?}"))
}

/// A Kubernetes memory quantity (`256Mi`, `1Gi`, `512M`, bytes) in bytes.
pub fn parse_memory(q: &str) -> anyhow::Result<f64> {
    let q = q.trim();
    const UNITS: [(&str, f64); 6] =
        [("Ki", 1024.0), ("Mi", 1048576.0), ("Gi", 1073741824.0), ("k", 1e3), ("M", 1e6), ("G", 1e9)];
    for (suffix, mult) in UNITS {
        if let Some(n) = q.strip_suffix(suffix) {
            return n.parse::<f64>().map(|n| n * mult).with_context(|| format!("not a memory quantity: {q:?}"));
        }
    }
    q.parse::<f64>().with_context(|| format!("not a memory quantity: {q:?}"))
}

/// One pod as the controller sees it for one resource metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodMetric {
    pub name: String,
    /// Ready, and (for CPU) its latest sample is from after it became ready.
    pub ready: bool,
    /// Being deleted or failed: ignored altogether.
    #[serde(default)]
    pub ignored: bool,
    /// The usage sample (cores or bytes); `None` when the pod has no sample (missing).
    pub usage: Option<f64>,
    /// The container request (cores or bytes).
    pub request: f64,
}

/// The replica count one resource metric asks for, or `None` when it has no data.
pub fn replicas_for_metric(current: u32, target_percent: f64, tolerance: f64, pods: &[PodMetric]) -> Option<u32> {
    let pods: Vec<&PodMetric> = pods.iter().filter(|p| !p.ignored).collect();
    let ready: Vec<&&PodMetric> = pods.iter().filter(|p| p.ready && p.usage.is_some()).collect();
    let unready = pods.iter().filter(|p| !p.ready).count();
    let missing: Vec<&&PodMetric> = pods.iter().filter(|p| p.ready && p.usage.is_none()).collect();
    if ready.is_empty() {
        return None;
    }
    let ratio_of = |samples: &[(f64, f64)]| {
        let usage: f64 = samples.iter().map(|s| s.0).sum();
        let request: f64 = samples.iter().map(|s| s.1).sum();
        // Like the controller, utilisation is a whole percentage (truncated).
        (usage * 100.0 / request + 1e-9).floor() / target_percent
    };
    let mut samples: Vec<(f64, f64)> = ready.iter().map(|p| (p.usage.unwrap_or(0.0), p.request)).collect();
    let ratio = ratio_of(&samples);
    let scale_up_with_unready = unready > 0 && ratio > 1.0;
    if !scale_up_with_unready && missing.is_empty() {
        if (1.0 - ratio).abs() <= tolerance {
            return Some(current);
        }
        return Some((ratio * ready.len() as f64).ceil() as u32);
    }
    // The conservative second pass.
    if ratio < 1.0 {
        // Scaling down: a missing pod counts as using exactly the target.
        samples.extend(missing.iter().map(|p| (p.request * target_percent / 100.0, p.request)));
    } else if ratio > 1.0 {
        // Scaling up: a missing pod counts as using nothing.
        samples.extend(missing.iter().map(|p| (0.0, p.request)));
    }
    if scale_up_with_unready {
        samples.extend(pods.iter().filter(|p| !p.ready).map(|p| (0.0, p.request)));
    }
    let new_ratio = ratio_of(&samples);
    let flips = (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0);
    if (1.0 - new_ratio).abs() <= tolerance || flips {
        return Some(current);
    }
    let desired = (new_ratio * samples.len() as f64).ceil() as u32;
    if (new_ratio < 1.0 && desired > current) || (new_ratio > 1.0 && desired < current) {
        return Some(current);
    }
    Some(desired)
}

/// Combines the metrics: the largest count wins; when a metric has no data and the
/// others would scale down, the count is kept.
pub fn combine(current: u32, per_metric: &[Option<u32>]) -> u32 {
    let known: Vec<u32> = per_metric.iter().flatten().copied().collect();
    let Some(&max) = known.iter().max() else { return current };
    if known.len() < per_metric.len() && max < current {
        return current;
    }
    max
}

/// One scaling event (for the rate policies).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScaleEvent {
    pub at: f64,
    pub change: u32,
}

/// One recorded decision, with what it was made from (the lab's journal keeps these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub at: f64,
    pub current: u32,
    /// The metrics' raw recommendation before stabilisation and rate limits.
    pub recommended: u32,
    pub stabilized: u32,
    pub desired: u32,
}

/// The controller's memory between syncs: past recommendations and scale events.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Autoscaler {
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub behavior: Behavior,
    recommendations: Vec<(f64, u32)>,
    up_events: Vec<ScaleEvent>,
    down_events: Vec<ScaleEvent>,
}

impl Autoscaler {
    pub fn new(min_replicas: u32, max_replicas: u32, behavior: Behavior) -> Autoscaler {
        Autoscaler { min_replicas, max_replicas, behavior, ..Default::default() }
    }

    /// One controller sync at time `now`: from the metrics' recommendation to the
    /// replica count to set. Records the recommendation and the resulting scale event.
    pub fn decide(&mut self, now: f64, current: u32, recommended: u32) -> Decision {
        let (stabilized, desired) = if current == 0 {
            (0, 0) // scaling disabled, as for a Deployment scaled to zero
        } else if current > self.max_replicas {
            (self.max_replicas, self.max_replicas)
        } else if current < self.min_replicas {
            (self.min_replicas, self.min_replicas)
        } else {
            let stabilized = self.stabilize(now, current, recommended);
            (stabilized, self.rate_limit(now, current, stabilized))
        };
        if desired > current {
            self.up_events.push(ScaleEvent { at: now, change: desired - current });
        } else if desired < current {
            self.down_events.push(ScaleEvent { at: now, change: current - desired });
        }
        Decision { at: now, current, recommended, stabilized, desired }
    }

    fn stabilize(&mut self, now: f64, current: u32, recommended: u32) -> u32 {
        let up_cutoff = now - self.behavior.scale_up.stabilization_window_seconds;
        let down_cutoff = now - self.behavior.scale_down.stabilization_window_seconds;
        let mut up = recommended;
        let mut down = recommended;
        for &(at, rec) in &self.recommendations {
            if at > up_cutoff {
                up = up.min(rec);
            }
            if at > down_cutoff {
                down = down.max(rec);
            }
        }
        let keep = up_cutoff.min(down_cutoff);
        self.recommendations.retain(|&(at, _)| at > keep);
        self.recommendations.push((now, recommended));
        current.max(up).min(down)
    }

    fn rate_limit(&self, now: f64, current: u32, desired: u32) -> u32 {
        if desired > current {
            let limit = period_limit(now, current, &self.behavior.scale_up, &self.up_events, &self.down_events, true);
            desired.min(limit.max(current).min(self.max_replicas))
        } else if desired < current {
            let limit =
                period_limit(now, current, &self.behavior.scale_down, &self.up_events, &self.down_events, false);
            desired.max(limit.min(current).max(self.min_replicas))
        } else {
            desired.clamp(self.min_replicas, self.max_replicas)
        }
    }
}

fn changes_within(now: f64, period: f64, events: &[ScaleEvent]) -> i64 {
    events.iter().filter(|e| e.at > now - period).map(|e| e.change as i64).sum()
}

/// The furthest the rate policies allow from the count at the start of each period.
fn period_limit(now: f64, current: u32, rules: &Rules, up: &[ScaleEvent], down: &[ScaleEvent], scale_up: bool) -> u32 {
    if rules.select_policy == SelectPolicy::Disabled || rules.policies.is_empty() {
        return current;
    }
    let proposals = rules.policies.iter().map(|p| {
        let start =
            current as i64 - changes_within(now, p.period_seconds, up) + changes_within(now, p.period_seconds, down);
        let start = start.max(0) as f64;
        let proposed = match (p.kind, scale_up) {
            (PolicyType::Pods, true) => start + p.value as f64,
            (PolicyType::Pods, false) => start - p.value as f64,
            (PolicyType::Percent, true) => (start * (1.0 + p.value as f64 / 100.0)).ceil(),
            (PolicyType::Percent, false) => (start * (1.0 - p.value as f64 / 100.0)).floor(),
        };
        proposed.max(0.0) as u32
    });
    // "Max" means the policy allowing the largest change: the highest count up, the
    // lowest count down; "Min" the reverse.
    let largest_change = rules.select_policy == SelectPolicy::Max;
    if scale_up == largest_change {
        proposals.max().unwrap_or(current)
    } else {
        proposals.min().unwrap_or(current)
    }
}

#[cfg(test)]
mod tests;
