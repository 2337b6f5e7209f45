//! Renders resolved SLOs as one Prometheus rule file.
//!
//! Per SLO, three groups:
//! - `slo-<name>`: `slo:sli_bad:rate<w>`, `slo:sli_total:rate<w>` (events per second)
//!   and `slo:sli_error:ratio_rate<w>` for the windows up to 6h, then the alerts: one
//!   `<Prefix>BurnRatePage` and one `<Prefix>BurnRateTicket` rule, each the OR of its
//!   burn-rate tiers (long AND short window above `burn rate × error budget`; page tiers
//!   also need the long window's bad-event rate to burn that fast against the SLO period's
//!   average traffic, so a few errors in a quiet night do not page while a total outage
//!   at any traffic does), labelled with the tier's `long_window` and `short_window`; and
//!   `SloSignalMissing` (the SLI's series are gone: a renamed metric or label) and, for
//!   SLOs that always have traffic, `SloNoTraffic`;
//! - `slo-<name>-increase` (every 5 minutes): `slo:sli_bad:increase5m` and
//!   `slo:sli_total:increase5m`;
//! - `slo-<name>-long`: the 1d, 3d and SLO-period windows from those recorded increases
//!   (`sum_over_time`, never a 30-day range over raw series), the Sloth/Pyrra-style
//!   metadata (`slo:objective:ratio`, `slo:error_budget:ratio`, `slo:time_period:days`,
//!   `slo:current_burn_rate:ratio`, `slo:period_burn_rate:ratio`,
//!   `slo:error_budget_remaining:ratio`) and the budget tickets `SloErrorBudgetLow`
//!   (below 25 % left) and `SloErrorBudgetExhausted`.
//!
//! Recording-rule names always carry the nominal window (`rate1h`); with a window scale
//! below 1 the PromQL ranges, `for:` and the long group's interval shrink while the names
//! stay, so a test-sized rule file behaves like the real one, only faster.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::duration;
use crate::spec::{Indicator, Slo, Tier, WINDOW_PLACEHOLDER, WINDOW_SECONDS_PLACEHOLDER};

/// Windows every SLO records, in seconds: 5m 30m 1h 2h 6h 1d 3d (plus the SLO period).
pub const WINDOWS: [u64; 7] = [300, 1_800, 3_600, 7_200, 21_600, 86_400, 259_200];
/// Windows longer than this go into the slower `-long` group.
const SHORT_GROUP_MAX: u64 = 21_600;
/// Evaluation interval of the long-window group (before scaling).
const LONG_GROUP_INTERVAL: u64 = 60;
/// Step of the recorded increases the long windows are summed from.
const INCREASE_STEP: u64 = 300;
/// Budget left below which a ticket is opened.
const BUDGET_LOW: f64 = 0.25;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Multiplies every range, `for:` and interval (1 for the real rules).
    pub window_scale: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options { window_scale: 1.0 }
    }
}

/// Renders the rule file for `slos`.
pub fn render(slos: &[Slo], opts: Options) -> String {
    let mut out = String::new();
    out.push_str("# Generated from slo/*.yaml by `cargo run -p task-manager-slo -- generate`. Do not edit:\n");
    out.push_str("# change the OpenSLO specs and regenerate (`task-manager-slo check` fails when stale).\n");
    if opts.window_scale != 1.0 {
        let _ = writeln!(
            out,
            "# TEST-SIZED: every range, for: and interval is scaled by {} (names keep the nominal window).",
            opts.window_scale
        );
    }
    out.push_str("groups:\n");
    for slo in slos {
        render_slo(&mut out, slo, opts);
    }
    out
}

fn windows(slo: &Slo) -> BTreeSet<u64> {
    let mut set: BTreeSet<u64> = WINDOWS.into_iter().collect();
    set.insert(slo.period_seconds);
    for t in &slo.tiers {
        set.insert(t.long_seconds);
        set.insert(t.short_seconds);
    }
    set
}

fn render_slo(out: &mut String, slo: &Slo, opts: Options) {
    let scaled = |s: u64| duration::format(duration::scale(s, opts.window_scale));
    let sel = format!("{{slo=\"{}\"}}", slo.name);
    let (short, long): (Vec<u64>, Vec<u64>) = windows(slo).into_iter().partition(|w| *w <= SHORT_GROUP_MAX);
    let labels = meta_labels(slo);
    let budget = slo.error_budget();

    // The alerts close the first group, after the recording rules they read, so they see
    // this evaluation's short-window ratios (rules of one group run in order); the
    // long-window ratios come from the other group and may be one evaluation older.
    let _ = writeln!(out, "  - name: slo-{}", slo.name);
    out.push_str("    rules:\n");
    record_windows(out, slo, &short, opts);
    alerts(out, slo, opts);
    signal_alerts(out, slo, opts);

    let _ = writeln!(out, "  - name: slo-{}-increase", slo.name);
    let _ = writeln!(out, "    interval: {}", scaled(INCREASE_STEP));
    out.push_str("    rules:\n");
    let step = scaled(INCREASE_STEP);
    // Events, not events per second: rate() becomes increase(), and a query that divides
    // by the window's seconds (a probe's sample count) divides by 1.
    let (bad, total) = event_queries(slo, &step, 1);
    let as_increase = |q: &str| q.replace("rate(", "increase(");
    rule(out, "record", "slo:sli_bad:increase5m", &as_increase(&bad), None, &labels, None);
    rule(out, "record", "slo:sli_total:increase5m", &as_increase(&total), None, &labels, None);

    let _ = writeln!(out, "  - name: slo-{}-long", slo.name);
    let _ = writeln!(out, "    interval: {}", scaled(LONG_GROUP_INTERVAL));
    out.push_str("    rules:\n");
    let step_seconds = duration::scale(INCREASE_STEP, opts.window_scale);
    for &w in &long {
        let name = duration::format(w);
        let range = scaled(w);
        // Increases of one step each: their sum over the window is the window's events;
        // divided by the time they cover it is a rate, also while the window is not full.
        for kind in ["bad", "total"] {
            let expr = format!(
                "sum_over_time(slo:sli_{kind}:increase5m{sel}[{range}])\n/\n(count_over_time(slo:sli_{kind}:increase5m{sel}[{range}]) * {step_seconds})"
            );
            rule(out, "record", &format!("slo:sli_{kind}:rate{name}"), &expr, None, &labels, None);
        }
        let ratio = format!("slo:sli_bad:rate{name}{sel}\n/\nslo:sli_total:rate{name}{sel}");
        rule(out, "record", &format!("slo:sli_error:ratio_rate{name}"), &ratio, None, &labels, None);
    }
    let period = duration::format(slo.period_seconds);
    // Metadata in the shape Sloth and Pyrra dashboards read (one series per SLO and namespace
    // where it depends on traffic).
    rule(out, "record", "slo:objective:ratio", &format!("vector({})", slo.target), None, &labels, None);
    rule(out, "record", "slo:error_budget:ratio", &format!("vector({budget})"), None, &labels, None);
    let days = slo.period_seconds as f64 / 86_400.0;
    rule(out, "record", "slo:time_period:days", &format!("vector({days})"), None, &labels, None);
    let current = format!("slo:sli_error:ratio_rate5m{sel} / {budget}");
    rule(out, "record", "slo:current_burn_rate:ratio", &current, None, &labels, None);
    let period_burn = format!("slo:sli_error:ratio_rate{period}{sel} / {budget}");
    rule(out, "record", "slo:period_burn_rate:ratio", &period_burn, None, &labels, None);
    let remaining = format!("1 - slo:sli_error:ratio_rate{period}{sel} / {budget}");
    rule(out, "record", "slo:error_budget_remaining:ratio", &remaining, None, &labels, None);
    budget_alerts(out, slo, opts);
}

/// The bad and total queries of `slo` over `range` (`seconds` long, for queries that
/// count samples and divide by the window), bad falling back to zero.
fn event_queries(slo: &Slo, range: &str, seconds: u64) -> (String, String) {
    let fill = |q: &str| q.replace(WINDOW_PLACEHOLDER, range).replace(WINDOW_SECONDS_PLACEHOLDER, &seconds.to_string());
    let total = fill(&slo.total_query);
    let bad = match &slo.indicator {
        // A selector of bad events matches nothing until the first one happens:
        // fall back to zero so the ratio exists whenever there is traffic.
        Indicator::Bad(q) => format!("({})\nor\n0 * ({})", fill(q), total),
        Indicator::Good(q) => {
            format!("clamp_min(\n  ({})\n  -\n  ({}),\n  0\n)", total, fill(q))
        }
    };
    (bad, total)
}

/// `/d/<uid>?var-namespace=<the alert's>&from=now-<range>&to=now`: on-call lands on the
/// alert's namespace with its whole long window in view.
fn dashboard_link(slo: &Slo, range_seconds: u64) -> String {
    let sep = if slo.dashboard_url.contains('?') { '&' } else { '?' };
    format!(
        "{}{sep}var-namespace={{{{ $labels.namespace }}}}&from=now-{}&to=now",
        slo.dashboard_url,
        duration::format(range_seconds)
    )
}

fn annotations(slo: &Slo, alert: &str, summary: &str, description: &str, range_seconds: u64) -> String {
    format!(
        "      annotations:\n        summary: {}\n        description: {}\n        runbook_url: {}\n        dashboard_url: {}\n",
        quote(summary),
        quote(description),
        quote(&format!("{}{alert}.md", slo.runbook_base_url)),
        quote(&dashboard_link(slo, range_seconds))
    )
}

fn alert_labels(slo: &Slo, severity: &str) -> String {
    format!(
        "      labels:\n        severity: {severity}\n        service: {}\n        slo: {}\n",
        slo.service, slo.name
    )
}

/// No data is not health: the SLI's series vanish when a metric or label is renamed, and
/// every burn-rate alert of the SLO goes silent with them.
fn signal_alerts(out: &mut String, slo: &Slo, opts: Options) {
    let scaled = |s: u64| duration::format(duration::scale(s, opts.window_scale));
    let sel = format!("{{slo=\"{}\"}}", slo.name);
    let expr = format!("absent(slo:sli_total:rate5m{sel})");
    let summary = format!("{}: the SLI has no data", slo.display_name);
    let description = format!(
        "No series of slo:sli_total:rate5m{sel} for 15 minutes (value {{{{ $value }}}}): the SLI's query matches nothing, \
         so every burn-rate alert of the {} SLO is blind. A renamed metric or label, a broken scrape or a missing deployment.",
        slo.name
    );
    let labels = alert_labels(slo, "ticket");
    let ann = annotations(slo, "SloSignalMissing", &summary, &description, 21_600);
    rule(out, "alert", "SloSignalMissing", &expr, Some(&scaled(900)), &labels, Some(&ann));
    if slo.expect_traffic {
        let expr = format!("slo:sli_total:rate1h{sel} == 0");
        let summary = format!("{}: no events for an hour", slo.display_name);
        let description = format!(
            "The {} SLI counted {{{{ $value }}}} events per second over the last hour in namespace {{{{ $labels.namespace }}}} \
             although its synthetic probe keeps it busy: the probe, the route or the SLI's labels are broken.",
            slo.name
        );
        let ann = annotations(slo, "SloNoTraffic", &summary, &description, 21_600);
        rule(out, "alert", "SloNoTraffic", &expr, Some(&scaled(900)), &labels, Some(&ann));
    }
}

fn budget_alerts(out: &mut String, slo: &Slo, opts: Options) {
    let scaled = |s: u64| duration::format(duration::scale(s, opts.window_scale));
    let sel = format!("{{slo=\"{}\"}}", slo.name);
    let period = duration::format(slo.period_seconds);
    let labels = alert_labels(slo, "ticket");
    let expr =
        format!("slo:error_budget_remaining:ratio{sel} < {BUDGET_LOW}\nand\nslo:error_budget_remaining:ratio{sel} > 0");
    let summary = format!("{}: less than {} of the error budget left", slo.display_name, percent(BUDGET_LOW));
    let description = format!(
        "{{{{ $value | humanizePercentage }}}} of the {period} error budget of {} is left in namespace {{{{ $labels.namespace }}}}. \
         Slow down risky changes and plan reliability work before it is gone.",
        slo.name
    );
    let ann = annotations(slo, "SloErrorBudgetLow", &summary, &description, slo.period_seconds);
    rule(out, "alert", "SloErrorBudgetLow", &expr, Some(&scaled(3_600)), &labels, Some(&ann));
    let expr = format!("slo:error_budget_remaining:ratio{sel} <= 0");
    let summary = format!("{}: the error budget is exhausted", slo.display_name);
    let description = format!(
        "The {period} error budget of {} is spent in namespace {{{{ $labels.namespace }}}} ({{{{ $value | humanizePercentage }}}} left): \
         the objective is missed. Freeze feature releases until it recovers (docs/monitoring.md).",
        slo.name
    );
    let ann = annotations(slo, "SloErrorBudgetExhausted", &summary, &description, slo.period_seconds);
    rule(out, "alert", "SloErrorBudgetExhausted", &expr, Some(&scaled(900)), &labels, Some(&ann));
}

fn meta_labels(slo: &Slo) -> String {
    format!("      labels:\n        slo: {}\n        service: {}\n", slo.name, slo.service)
}

fn record_windows(out: &mut String, slo: &Slo, windows: &[u64], opts: Options) {
    let sel = format!("{{slo=\"{}\"}}", slo.name);
    let labels = meta_labels(slo);
    for &w in windows {
        let name = duration::format(w);
        let seconds = duration::scale(w, opts.window_scale);
        let (bad, total) = event_queries(slo, &duration::format(seconds), seconds);
        rule(out, "record", &format!("slo:sli_bad:rate{name}"), &bad, None, &labels, None);
        rule(out, "record", &format!("slo:sli_total:rate{name}"), &total, None, &labels, None);
        let ratio = format!("slo:sli_bad:rate{name}{sel}\n/\nslo:sli_total:rate{name}{sel}");
        rule(out, "record", &format!("slo:sli_error:ratio_rate{name}"), &ratio, None, &labels, None);
    }
}

fn alerts(out: &mut String, slo: &Slo, opts: Options) {
    let scaled = |s: u64| duration::format(duration::scale(s, opts.window_scale));
    let sel = format!("{{slo=\"{}\"}}", slo.name);
    let budget = slo.error_budget();
    for severity in ["page", "ticket"] {
        let tiers: Vec<&Tier> = slo.tiers.iter().filter(|t| t.severity == severity).collect();
        let Some(first) = tiers.first() else { continue };
        let guard = severity == "page";
        let period = duration::format(slo.period_seconds);
        // One rule per severity: the tiers are OR-ed and tell themselves apart by their
        // long_window / short_window labels.
        let mut branches = Vec::new();
        let mut tier_texts = Vec::new();
        for t in &tiers {
            let long = duration::format(t.long_seconds);
            let short = duration::format(t.short_seconds);
            let threshold = format!("({} * {budget})", t.burn_rate);
            let mut cond = format!(
                "  slo:sli_error:ratio_rate{long}{sel} > {threshold}\n  and\n  slo:sli_error:ratio_rate{short}{sel} > {threshold}"
            );
            if guard {
                // Relative traffic guard: the long window's bad events must burn the budget
                // this fast even against the period's average traffic. A total outage
                // passes at any traffic; a few errors in a quiet hour of a busy service do not.
                let _ = write!(
                    cond,
                    "\n  and\n  slo:sli_bad:rate{long}{sel} >= {threshold} * slo:sli_total:rate{period}{sel}"
                );
                if slo.page_min_bad_events > 0 {
                    let _ = write!(
                        cond,
                        "\n  and\n  slo:sli_bad:rate{long}{sel} * {} >= {}",
                        duration::scale(t.long_seconds, opts.window_scale),
                        slo.page_min_bad_events
                    );
                }
            }
            branches.push(format!(
                "label_replace(label_replace(\n{cond},\n  \"long_window\", \"{long}\", \"\", \"\"), \"short_window\", \"{short}\", \"\", \"\")"
            ));
            tier_texts.push(format!(
                "{long} and {short} above {} ({}x, budget gone in {:.0}h)",
                percent(t.burn_rate * budget),
                t.burn_rate,
                slo.period_seconds as f64 / t.burn_rate / 3_600.0
            ));
        }
        let expr = branches.join("\nor\n");
        let alert = format!("{}BurnRate{}", slo.alert_prefix, capitalize(severity));
        let alert_labels = alert_labels(slo, severity);
        let guard_text = match (guard, slo.page_min_bad_events) {
            (false, _) => String::new(),
            (true, 0) => format!(
                " A page also needs the long window's failures to burn that fast against the average traffic of the last {period}."
            ),
            (true, n) => format!(
                " A page also needs the long window's failures to burn that fast against the average traffic of the last {period}, and at least {n} bad events."
            ),
        };
        let summary = format!(
            "{}: error budget burning too fast ({{{{ $labels.long_window }}}} and {{{{ $labels.short_window }}}} windows)",
            slo.display_name
        );
        let description = format!(
            "{{{{ $value | humanizePercentage }}}} {} over the last {{{{ $labels.long_window }}}} in namespace {{{{ $labels.namespace }}}} \
             (and over the last {{{{ $labels.short_window }}}}). The error budget is {} of events ({} objective over {}); \
             this {severity} fires when {}.{guard_text}",
            slo.bad_events,
            percent(budget),
            percent(slo.target),
            duration::format(slo.period_seconds),
            tier_texts.join(", or ")
        );
        let widest = tiers.iter().map(|t| t.long_seconds).max().unwrap_or(3_600);
        let annotations = annotations(slo, &alert, &summary, &description, widest);
        let for_ = (first.for_seconds > 0).then(|| scaled(first.for_seconds));
        rule(out, "alert", &alert, &expr, for_.as_deref(), &alert_labels, Some(&annotations));
    }
}

/// Checks what the rule shape needs: tiers of one severity share their `for:`.
pub fn validate(slos: &[Slo]) -> anyhow::Result<()> {
    for slo in slos {
        for severity in ["page", "ticket"] {
            let mut fors = slo.tiers.iter().filter(|t| t.severity == severity).map(|t| t.for_seconds);
            if let Some(f) = fors.next() {
                anyhow::ensure!(
                    fors.all(|g| g == f),
                    "SLO {}: all {severity} tiers need the same alertAfter (they become one alert rule)",
                    slo.name
                );
            }
        }
    }
    Ok(())
}

fn rule(
    out: &mut String,
    kind: &str,
    name: &str,
    expr: &str,
    for_: Option<&str>,
    labels: &str,
    annotations: Option<&str>,
) {
    let _ = writeln!(out, "      - {kind}: {name}");
    out.push_str("        expr: |\n");
    for line in expr.lines() {
        let _ = writeln!(out, "          {line}");
    }
    if let Some(f) = for_ {
        let _ = writeln!(out, "        for: {f}");
    }
    // `labels` / `annotations` come pre-indented for a list item at depth 3.
    for block in [Some(labels), annotations].into_iter().flatten() {
        for line in block.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// `0.0144` → `1.44%`, without float noise or trailing zeros.
fn percent(ratio: f64) -> String {
    let s = format!("{:.4}", ratio * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::tests::example;
    use serde_norway::Value;

    fn rules_of(text: &str) -> Vec<Value> {
        let doc: Value = serde_norway::from_str(text).expect("generated YAML parses");
        doc["groups"].as_sequence().unwrap().iter().flat_map(|g| g["rules"].as_sequence().unwrap().clone()).collect()
    }

    #[test]
    fn records_every_window_and_the_budget() {
        let text = render(&example(), Options::default());
        let records: Vec<String> =
            rules_of(&text).iter().filter_map(|r| r["record"].as_str().map(String::from)).collect();
        for w in ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"] {
            for prefix in ["slo:sli_bad:rate", "slo:sli_total:rate", "slo:sli_error:ratio_rate"] {
                assert!(records.contains(&format!("{prefix}{w}")), "missing {prefix}{w}");
            }
        }
        assert!(records.contains(&"slo:error_budget_remaining:ratio".to_string()));
        assert!(text.contains("1 - slo:sli_error:ratio_rate30d{slo=\"availability\"} / 0.001"));
        assert!(
            text.contains("(sum(rate(errors_total[5m])))\n          or\n          0 * (sum(rate(requests_total[5m])))")
        );
    }

    #[test]
    fn page_alert_needs_both_windows_and_the_traffic_guard() {
        let text = render(&example(), Options::default());
        let alert = rules_of(&text).into_iter().find(|r| r["alert"].is_string()).unwrap();
        assert_eq!(alert["alert"].as_str(), Some("ShopAvailabilityBurnRatePage"));
        let expr = alert["expr"].as_str().unwrap();
        assert!(expr.contains("slo:sli_error:ratio_rate1h{slo=\"availability\"} > (14.4 * 0.001)"));
        assert!(expr.contains("slo:sli_error:ratio_rate5m{slo=\"availability\"} > (14.4 * 0.001)"));
        assert!(expr.contains("slo:sli_bad:rate1h{slo=\"availability\"} * 3600 >= 20"));
        assert!(expr.contains("\"long_window\", \"1h\", \"\", \"\"), \"short_window\", \"5m\""));
        assert_eq!(alert["for"].as_str(), Some("2m"));
        assert_eq!(alert["labels"]["severity"].as_str(), Some("page"));
        let desc = alert["annotations"]["description"].as_str().unwrap();
        assert!(desc.contains("fires when 1h and 5m above 1.44% (14.4x, budget gone in 50h)"), "{desc}");
        assert_eq!(
            alert["annotations"]["runbook_url"].as_str(),
            Some("https://example.invalid/runbooks/ShopAvailabilityBurnRatePage.md")
        );
    }

    #[test]
    fn page_guard_is_relative_to_the_average_traffic() {
        let text = render(&example(), Options::default());
        assert!(text.contains(
            "slo:sli_bad:rate1h{slo=\"availability\"} >= (14.4 * 0.001) * slo:sli_total:rate30d{slo=\"availability\"}"
        ));
    }

    #[test]
    fn long_windows_sum_recorded_increases_never_raw_30d_ranges() {
        let text = render(&example(), Options::default());
        assert!(!text.contains("[30d]))"), "a 30-day range over raw series");
        assert!(text.contains("interval: 5m"));
        assert!(text.contains("sum(increase(errors_total[5m]))"));
        assert!(text.contains(
            "sum_over_time(slo:sli_bad:increase5m{slo=\"availability\"}[30d])\n          /\n          (count_over_time(slo:sli_bad:increase5m{slo=\"availability\"}[30d]) * 300)"
        ));
        for name in ["slo:time_period:days", "slo:current_burn_rate:ratio", "slo:period_burn_rate:ratio"] {
            assert!(text.contains(&format!("record: {name}")), "{name}");
        }
    }

    #[test]
    fn no_data_and_budget_alerts_are_generated_per_slo() {
        let mut slos = example();
        let text = render(&slos, Options::default());
        assert!(text.contains("absent(slo:sli_total:rate5m{slo=\"availability\"})"));
        assert!(text.contains("alert: SloErrorBudgetLow") && text.contains("alert: SloErrorBudgetExhausted"));
        assert!(!text.contains("alert: SloNoTraffic"));
        slos[0].expect_traffic = true;
        let text = render(&slos, Options::default());
        assert!(text.contains("slo:sli_total:rate1h{slo=\"availability\"} == 0"));
    }

    #[test]
    fn window_scale_shrinks_ranges_but_keeps_names() {
        let text = render(&example(), Options { window_scale: 1.0 / 30.0 });
        assert!(text.contains("record: slo:sli_bad:rate1h"));
        assert!(text.contains("sum(rate(errors_total[2m]))"));
        assert!(text.contains("sum(rate(errors_total[10s]))"));
        assert!(text.contains("slo:sli_bad:rate1h{slo=\"availability\"} * 120 >= 20"));
        assert!(text.contains("for: 4s"));
        assert!(text.contains("interval: 2s"));
        assert!(!text.contains("[1h]"));
    }

    #[test]
    fn tiers_of_one_severity_must_share_their_for() {
        let mut slos = example();
        assert!(validate(&slos).is_ok());
        let mut second = slos[0].tiers[0].clone();
        second.long_seconds = 21_600;
        second.short_seconds = 1_800;
        second.for_seconds = 900;
        slos[0].tiers.push(second);
        assert!(validate(&slos).is_err());
    }

    #[test]
    fn formats_percentages_without_noise() {
        assert_eq!(percent(14.4 * 0.001), "1.44%");
        assert_eq!(percent(0.999), "99.9%");
        assert_eq!(percent(6.0 * 0.01), "6%");
    }
}
