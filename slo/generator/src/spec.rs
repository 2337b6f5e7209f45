//! The subset of OpenSLO v1 the generator understands, loaded from every `*.yaml` /
//! `*.yml` file of a directory (multi-document files allowed).
//!
//! Kinds: `Service`, `SLI`, `SLO`, `AlertPolicy`, `AlertCondition`,
//! `AlertNotificationTarget`. An SLO's indicator is a `ratioMetric` (counters) with `good`
//! or `bad` and `total` Prometheus queries containing the `{{.window}}` placeholder. A
//! burn-rate tier is an `AlertPolicy` holding one `AlertCondition` (OpenSLO allows one
//! condition per policy): its `lookbackWindow` is the long window, and the annotation
//! `task-manager.io/short-window` the short window that must burn as fast (the
//! multiwindow check of the SRE Workbook, which OpenSLO v1 cannot express).
//!
//! Generator-specific settings are `metadata.annotations` (see `ANN_*`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail, ensure, Context, Result};
use serde::Deserialize;
use serde_norway::Value;

use crate::duration;

/// SLO: CamelCase prefix of the generated alert names (`ApiAvailability`).
pub const ANN_ALERT_PREFIX: &str = "task-manager.io/alert-name-prefix";
/// SLO: words completing "<ratio> ..." in alert descriptions ("of API requests failed").
pub const ANN_BAD_EVENTS: &str = "task-manager.io/bad-events";
/// SLO: page only when the long window holds at least this many bad events.
pub const ANN_PAGE_MIN_BAD_EVENTS: &str = "task-manager.io/page-min-bad-events";
/// AlertCondition: the short window checked together with `lookbackWindow`.
pub const ANN_SHORT_WINDOW: &str = "task-manager.io/short-window";
/// SLO: "true" when the SLI always has traffic (a steady probe): zero traffic alerts too.
pub const ANN_EXPECT_TRAFFIC: &str = "task-manager.io/expect-traffic";
/// Service: runbook base URL; the alert name and `.md` are appended.
pub const ANN_RUNBOOK_BASE: &str = "task-manager.io/runbook-base-url";
/// Service: dashboard URL put into every generated alert.
pub const ANN_DASHBOARD_URL: &str = "task-manager.io/slo-dashboard-url";

pub const WINDOW_PLACEHOLDER: &str = "{{.window}}";
/// The window in seconds, for SLIs that count samples (a probe's `probe_success`) and
/// divide by the window to get events per second.
pub const WINDOW_SECONDS_PLACEHOLDER: &str = "{{.windowSeconds}}";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDoc {
    api_version: String,
    kind: String,
    metadata: Metadata,
    #[serde(default)]
    spec: Value,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// The Service spec is only checked for shape; its fields are not used.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceSpec {}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SliSpec {
    ratio_metric: Option<RatioMetric>,
    threshold_metric: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RatioMetric {
    #[serde(default)]
    counter: bool,
    good: Option<MetricHolder>,
    bad: Option<MetricHolder>,
    total: MetricHolder,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricHolder {
    metric_source: MetricSource,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricSource {
    #[serde(rename = "type")]
    kind: String,
    spec: MetricSourceSpec,
}

#[derive(Debug, Clone, Deserialize)]
struct MetricSourceSpec {
    query: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InlineSli {
    spec: SliSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SloSpec {
    #[serde(default)]
    description: String,
    service: String,
    indicator: Option<InlineSli>,
    indicator_ref: Option<String>,
    time_window: Vec<TimeWindow>,
    budgeting_method: String,
    objectives: Vec<ObjectiveSpec>,
    #[serde(default)]
    alert_policies: Vec<PolicyRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimeWindow {
    duration: String,
    #[serde(default)]
    is_rolling: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectiveSpec {
    #[serde(default)]
    display_name: Option<String>,
    target: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyRef {
    alert_policy_ref: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlertPolicySpec {
    conditions: Vec<ConditionRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConditionRef {
    condition_ref: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlertConditionSpec {
    severity: String,
    condition: BurnCondition,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BurnCondition {
    kind: String,
    op: String,
    threshold: f64,
    lookback_window: String,
    #[serde(default)]
    alert_after: Option<String>,
}

/// One SLO, fully resolved (indicator, service and alert tiers looked up).
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub service: String,
    pub alert_prefix: String,
    pub bad_events: String,
    pub page_min_bad_events: u64,
    pub expect_traffic: bool,
    pub runbook_base_url: String,
    pub dashboard_url: String,
    /// Good-or-bad form of the indicator.
    pub indicator: Indicator,
    /// The query of all events, with the window placeholder.
    pub total_query: String,
    pub period_seconds: u64,
    pub target: f64,
    pub tiers: Vec<Tier>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Indicator {
    Good(String),
    Bad(String),
}

/// A multiwindow burn-rate tier: fires when both windows burn faster than `burn_rate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    pub policy: String,
    pub severity: String,
    pub burn_rate: f64,
    pub long_seconds: u64,
    pub short_seconds: u64,
    pub for_seconds: u64,
}

impl Slo {
    /// The error budget as a ratio, rounded to kill float noise (0.999 → 0.001).
    pub fn error_budget(&self) -> f64 {
        ((1.0 - self.target) * 1e9).round() / 1e9
    }
}

#[derive(Default)]
struct Docs {
    services: BTreeMap<String, (Metadata, ServiceSpec)>,
    slis: BTreeMap<String, (Metadata, SliSpec)>,
    slos: BTreeMap<String, (Metadata, SloSpec)>,
    policies: BTreeMap<String, (Metadata, AlertPolicySpec)>,
    conditions: BTreeMap<String, (Metadata, AlertConditionSpec)>,
    targets: BTreeMap<String, Metadata>,
}

/// Loads and resolves every SLO found in `dir`, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<Slo>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml") | Some("yml")))
        .collect();
    files.sort();
    ensure!(!files.is_empty(), "no *.yaml files in {}", dir.display());
    let mut texts = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        texts.push((f.display().to_string(), text));
    }
    load_texts(&texts)
}

/// Loads SLOs from `(origin, yaml text)` pairs.
pub fn load_texts(texts: &[(String, String)]) -> Result<Vec<Slo>> {
    let mut docs = Docs::default();
    for (origin, text) in texts {
        for de in serde_norway::Deserializer::from_str(text) {
            let value = Value::deserialize(de).with_context(|| format!("{origin}: invalid YAML"))?;
            if value.is_null() {
                continue;
            }
            let raw: RawDoc =
                serde_norway::from_value(value).with_context(|| format!("{origin}: not an OpenSLO document"))?;
            add_doc(&mut docs, raw).with_context(|| format!("in {origin}"))?;
        }
    }
    let mut slos = Vec::new();
    for name in docs.slos.keys() {
        slos.push(resolve(&docs, name).with_context(|| format!("SLO {name}"))?);
    }
    ensure!(!slos.is_empty(), "no SLO documents found");
    let mut prefixes = std::collections::BTreeSet::new();
    for s in &slos {
        ensure!(prefixes.insert(s.alert_prefix.clone()), "alert prefix {} used twice", s.alert_prefix);
    }
    Ok(slos)
}

fn add_doc(docs: &mut Docs, raw: RawDoc) -> Result<()> {
    ensure!(raw.api_version == "openslo/v1", "apiVersion must be openslo/v1, got {}", raw.api_version);
    let name = raw.metadata.name.clone();
    ensure!(is_dns_label(&name), "metadata.name {name:?} is not a lowercase DNS label");
    let spec = raw.spec;
    let meta = raw.metadata;
    let dup = |kind: &str| anyhow!("{kind} {name} defined twice");
    match raw.kind.as_str() {
        "Service" => {
            let s = serde_norway::from_value(spec).context("Service spec")?;
            docs.services.insert(name.clone(), (meta, s)).map_or(Ok(()), |_| Err(dup("Service")))
        }
        "SLI" => {
            let s = serde_norway::from_value(spec).context("SLI spec")?;
            docs.slis.insert(name.clone(), (meta, s)).map_or(Ok(()), |_| Err(dup("SLI")))
        }
        "SLO" => {
            let s = serde_norway::from_value(spec).context("SLO spec")?;
            docs.slos.insert(name.clone(), (meta, s)).map_or(Ok(()), |_| Err(dup("SLO")))
        }
        "AlertPolicy" => {
            let s = serde_norway::from_value(spec).context("AlertPolicy spec")?;
            docs.policies.insert(name.clone(), (meta, s)).map_or(Ok(()), |_| Err(dup("AlertPolicy")))
        }
        "AlertCondition" => {
            let s = serde_norway::from_value(spec).context("AlertCondition spec")?;
            docs.conditions.insert(name.clone(), (meta, s)).map_or(Ok(()), |_| Err(dup("AlertCondition")))
        }
        "AlertNotificationTarget" => {
            docs.targets.insert(name.clone(), meta).map_or(Ok(()), |_| Err(dup("AlertNotificationTarget")))
        }
        other => bail!("unsupported kind {other}"),
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn annotation<'a>(meta: &'a Metadata, key: &str) -> Result<&'a str> {
    meta.annotations.get(key).map(|s| s.as_str()).with_context(|| format!("metadata.annotations.{key:?} is required"))
}

fn query(holder: &MetricHolder, what: &str) -> Result<String> {
    ensure!(holder.metric_source.kind == "Prometheus", "{what}: metricSource.type must be Prometheus");
    let q = holder.metric_source.spec.query.trim().to_string();
    ensure!(q.contains(WINDOW_PLACEHOLDER), "{what} query must contain {WINDOW_PLACEHOLDER}");
    Ok(q)
}

fn resolve(docs: &Docs, name: &str) -> Result<Slo> {
    let (meta, spec) = &docs.slos[name];
    let (svc_meta, _svc) =
        docs.services.get(&spec.service).with_context(|| format!("service {} is not defined", spec.service))?;
    let sli = match (&spec.indicator, &spec.indicator_ref) {
        (Some(inline), None) => inline.spec.clone(),
        (None, Some(r)) => docs.slis.get(r).with_context(|| format!("SLI {r} is not defined"))?.1.clone(),
        _ => bail!("exactly one of indicator and indicatorRef is required"),
    };
    ensure!(sli.threshold_metric.is_none(), "thresholdMetric indicators are not supported");
    let ratio = sli.ratio_metric.context("indicator must be a ratioMetric")?;
    ensure!(ratio.counter, "ratioMetric.counter must be true (the queries are rates)");
    let indicator = match (&ratio.good, &ratio.bad) {
        (Some(g), None) => Indicator::Good(query(g, "good")?),
        (None, Some(b)) => Indicator::Bad(query(b, "bad")?),
        _ => bail!("ratioMetric needs exactly one of good and bad"),
    };
    let total_query = query(&ratio.total, "total")?;

    ensure!(spec.budgeting_method == "Occurrences", "only budgetingMethod Occurrences is supported");
    ensure!(spec.time_window.len() == 1, "exactly one timeWindow is required");
    ensure!(spec.time_window[0].is_rolling, "only rolling time windows are supported");
    let period_seconds = duration::parse(&spec.time_window[0].duration)?;
    ensure!(spec.objectives.len() == 1, "exactly one objective is required");
    let target = spec.objectives[0].target;
    ensure!(target > 0.0 && target < 1.0, "objective target {target} must be in (0, 1)");

    let mut tiers = Vec::new();
    for p in &spec.alert_policies {
        let (_pm, policy) = docs
            .policies
            .get(&p.alert_policy_ref)
            .with_context(|| format!("AlertPolicy {} is not defined", p.alert_policy_ref))?;
        tiers.push(
            tier(docs, &p.alert_policy_ref, policy).with_context(|| format!("AlertPolicy {}", p.alert_policy_ref))?,
        );
    }
    tiers.sort_by(|a, b| {
        (severity_rank(&a.severity), a.long_seconds).cmp(&(severity_rank(&b.severity), b.long_seconds))
    });

    let page_min_bad_events = match meta.annotations.get(ANN_PAGE_MIN_BAD_EVENTS) {
        Some(v) => v.parse().with_context(|| format!("{ANN_PAGE_MIN_BAD_EVENTS} must be an integer"))?,
        None => 0,
    };
    let alert_prefix = annotation(meta, ANN_ALERT_PREFIX)?.to_string();
    ensure!(
        alert_prefix.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && alert_prefix.chars().all(|c| c.is_ascii_alphanumeric()),
        "{ANN_ALERT_PREFIX} must be CamelCase"
    );
    Ok(Slo {
        name: name.to_string(),
        display_name: meta
            .display_name
            .clone()
            .or_else(|| spec.objectives[0].display_name.clone())
            .unwrap_or_else(|| name.to_string()),
        description: spec.description.trim().to_string(),
        service: spec.service.clone(),
        alert_prefix,
        bad_events: annotation(meta, ANN_BAD_EVENTS)?.to_string(),
        page_min_bad_events,
        expect_traffic: meta.annotations.get(ANN_EXPECT_TRAFFIC).is_some_and(|v| v == "true"),
        runbook_base_url: annotation(svc_meta, ANN_RUNBOOK_BASE)?.to_string(),
        dashboard_url: annotation(svc_meta, ANN_DASHBOARD_URL)?.to_string(),
        indicator,
        total_query,
        period_seconds,
        target,
        tiers,
    })
}

fn severity_rank(s: &str) -> u8 {
    if s == "page" {
        0
    } else {
        1
    }
}

fn tier(docs: &Docs, name: &str, policy: &AlertPolicySpec) -> Result<Tier> {
    ensure!(policy.conditions.len() == 1, "an AlertPolicy holds exactly one condition (OpenSLO v1)");
    let c = &policy.conditions[0];
    let (meta, cond) = docs
        .conditions
        .get(&c.condition_ref)
        .with_context(|| format!("AlertCondition {} is not defined", c.condition_ref))?;
    ensure!(cond.condition.kind == "burnrate", "condition {} must be kind burnrate", c.condition_ref);
    ensure!(cond.condition.op == "gt", "condition {} must use op gt", c.condition_ref);
    ensure!(cond.condition.threshold > 0.0, "condition {} threshold must be positive", c.condition_ref);
    ensure!(
        matches!(cond.severity.as_str(), "page" | "ticket"),
        "condition {} severity must be page or ticket",
        c.condition_ref
    );
    let long_seconds = duration::parse(&cond.condition.lookback_window)?;
    let short_seconds = duration::parse(annotation(meta, ANN_SHORT_WINDOW)?)?;
    ensure!(
        short_seconds < long_seconds,
        "condition {}: the short window must be shorter than lookbackWindow",
        c.condition_ref
    );
    let for_seconds = match &cond.condition.alert_after {
        Some(d) => duration::parse(d)?,
        None => 0,
    };
    Ok(Tier {
        policy: name.to_string(),
        severity: cond.severity.clone(),
        burn_rate: cond.condition.threshold,
        long_seconds,
        short_seconds,
        for_seconds,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const EXAMPLE: &str = r#"
apiVersion: openslo/v1
kind: Service
metadata:
  name: shop
  annotations:
    task-manager.io/runbook-base-url: https://example.invalid/runbooks/
    task-manager.io/slo-dashboard-url: /d/slos
spec:
  description: a shop
---
apiVersion: openslo/v1
kind: AlertCondition
metadata:
  name: fast-burn
  annotations: {task-manager.io/short-window: 5m}
spec:
  severity: page
  condition: {kind: burnrate, op: gt, threshold: 14.4, lookbackWindow: 1h, alertAfter: 2m}
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: fast}
spec:
  conditions: [{conditionRef: fast-burn}]
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: availability
  displayName: Availability
  annotations:
    task-manager.io/alert-name-prefix: ShopAvailability
    task-manager.io/bad-events: of requests failed
    task-manager.io/page-min-bad-events: "20"
spec:
  service: shop
  indicator:
    metadata: {name: availability}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource: {type: Prometheus, spec: {query: 'sum(rate(errors_total[{{.window}}]))'}}
        total:
          metricSource: {type: Prometheus, spec: {query: 'sum(rate(requests_total[{{.window}}]))'}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
  alertPolicies: [{alertPolicyRef: fast}]
"#;

    pub fn example() -> Vec<Slo> {
        load_texts(&[("example".into(), EXAMPLE.into())]).unwrap()
    }

    #[test]
    fn resolves_an_slo_with_its_tier() {
        let slos = example();
        assert_eq!(slos.len(), 1);
        let s = &slos[0];
        assert_eq!(s.error_budget(), 0.001);
        assert_eq!(s.period_seconds, 30 * 86_400);
        assert_eq!(s.page_min_bad_events, 20);
        assert_eq!(s.indicator, Indicator::Bad("sum(rate(errors_total[{{.window}}]))".into()));
        assert_eq!(
            s.tiers,
            vec![Tier {
                policy: "fast".into(),
                severity: "page".into(),
                burn_rate: 14.4,
                long_seconds: 3_600,
                short_seconds: 300,
                for_seconds: 120
            }]
        );
    }

    #[test]
    fn rejects_missing_placeholder_and_bad_references() {
        let no_window = EXAMPLE.replace("[{{.window}}]))'}}\n        total", "[5m]))'}}\n        total");
        assert!(load_texts(&[("x".into(), no_window)]).is_err());
        let bad_ref = EXAMPLE.replace("alertPolicyRef: fast}", "alertPolicyRef: slow}");
        assert!(load_texts(&[("x".into(), bad_ref)]).is_err());
        let bad_version = EXAMPLE.replacen("openslo/v1", "openslo/v1alpha", 1);
        assert!(load_texts(&[("x".into(), bad_version)]).is_err());
    }

    #[test]
    fn rejects_policies_with_two_conditions_or_no_short_window() {
        let two = EXAMPLE.replace(
            "conditions: [{conditionRef: fast-burn}]",
            "conditions: [{conditionRef: fast-burn}, {conditionRef: fast-burn}]",
        );
        let err = load_texts(&[("x".into(), two)]).unwrap_err();
        assert!(format!("{err:#}").contains("exactly one condition"), "{err:#}");
        let no_short = EXAMPLE.replace("annotations: {task-manager.io/short-window: 5m}", "annotations: {}");
        let err = load_texts(&[("x".into(), no_short)]).unwrap_err();
        assert!(format!("{err:#}").contains("short-window"), "{err:#}");
        let too_long = EXAMPLE.replace("short-window: 5m", "short-window: 2h");
        assert!(load_texts(&[("x".into(), too_long)]).is_err());
    }
}
