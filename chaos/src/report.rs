//! The report people read: one self-contained HTML page per run with the verdict, the
//! figures against the pass criteria, the SLI time series as inline SVG charts (faults
//! shaded), the hypothesis before and after, the timeline and the alerts.

use std::fmt::Write as _;

use crate::journal::{Journal, Status};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One line of a chart: name, colour, (x, y) points.
pub type Line<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

/// A line chart: x in seconds from `t0`, one or more series, fault spans shaded.
pub struct Chart<'a> {
    pub title: &'a str,
    pub unit: &'a str,
    pub series: Vec<Line<'a>>,
    pub spans: &'a [(f64, f64, String)],
}

impl Chart<'_> {
    pub fn svg(&self) -> String {
        let (w, h, l, r, t, b) = (760.0, 220.0, 56.0, 12.0, 24.0, 28.0);
        let xs = self.series.iter().flat_map(|s| s.2.iter().map(|p| p.0));
        let xmax = xs.fold(1.0_f64, f64::max);
        let ymax = self.series.iter().flat_map(|s| s.2.iter().map(|p| p.1)).fold(0.0_f64, f64::max);
        let ymax = if ymax <= 0.0 { 1.0 } else { nice(ymax * 1.1) };
        let x = |v: f64| l + v / xmax * (w - l - r);
        let y = |v: f64| t + (1.0 - v / ymax) * (h - t - b);
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
            esc(self.title)
        );
        let _ = write!(
            s,
            "<text x=\"{l}\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{} ({})</text>",
            esc(self.title),
            esc(self.unit)
        );
        for (a, bnd, label) in self.spans {
            let (x0, x1) = (x(a.max(0.0)), x(bnd.min(xmax)));
            let _ = write!(
                s,
                "<rect x=\"{x0:.1}\" y=\"{t}\" width=\"{:.1}\" height=\"{}\" fill=\"#f4a261\" opacity=\"0.25\"><title>{}</title></rect>",
                (x1 - x0).max(2.0),
                h - t - b,
                esc(label)
            );
        }
        for i in 0..=4 {
            let v = ymax * i as f64 / 4.0;
            let _ = write!(
                s,
                "<line x1=\"{l}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
                w - r,
                l - 4.0,
                y(v) + 3.0,
                fmt_num(v),
                y = y(v)
            );
        }
        let step = nice(xmax / 8.0).max(1.0);
        let mut tx = 0.0;
        while tx <= xmax {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}s</text>",
                x(tx),
                h - 10.0,
                tx as i64
            );
            tx += step;
        }
        for (i, (name, colour, pts)) in self.series.iter().enumerate() {
            let d: Vec<String> = pts.iter().map(|(a, v)| format!("{:.1},{:.1}", x(*a), y(*v))).collect();
            let _ = write!(
                s,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\" points=\"{}\"/>",
                d.join(" ")
            );
            let _ = write!(
                s,
                "<rect x=\"{}\" y=\"6\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{}\" y=\"15\" font-size=\"11\">{}</text>",
                w - 300.0 + i as f64 * 100.0,
                w - 286.0 + i as f64 * 100.0,
                esc(name)
            );
        }
        s.push_str("</svg>");
        s
    }
}

fn nice(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * p {
            return m * p;
        }
    }
    10.0 * p
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn fmt_value(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(v) if unit.is_empty() && v < 1.0 && v > 0.0 => format!("{:.4} %", v * 100.0),
        Some(v) => format!("{}{unit}", fmt_num(v)),
        None => "not measured".into(),
    }
}

/// The HTML page for one journal.
pub fn html(j: &Journal) -> String {
    let title = j.experiment.as_ref().map(|e| e.title.clone()).unwrap_or_default();
    let t0 = j.load_started_at;
    let mut out = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>{0}: chaos drill report</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:800px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:4px 6px;text-align:left;font-size:13px}}\
         .pass{{color:#1a7f37;font-weight:bold}}.fail{{color:#c62828;font-weight:bold}}pre{{white-space:pre-wrap;font-size:12px}}</style>\
         <h1>{0}</h1>",
        esc(&title)
    );
    let verdict = match j.status {
        Status::Completed => "<span class=\"pass\">PASSED</span> (completed: the hypothesis held and every criterion was met)",
        Status::Failed => "<span class=\"fail\">FAILED</span> (a criterion was not met or the hypothesis deviated)",
        Status::Aborted => "<span class=\"fail\">ABORTED</span> (an abort condition fired or the drill was interrupted; faults rolled back)",
        Status::Skipped => "<span class=\"fail\">NOT RUN</span>",
    };
    let _ = write!(
        out,
        "<p><b>Verdict:</b> {verdict}. Target: {}{}.</p>",
        esc(&j.target),
        if j.dry_run { " (dry run)" } else { "" }
    );
    if let Some(e) = &j.experiment {
        let _ = write!(out, "<p>{}</p>", esc(&e.description));
    }
    for n in &j.notes {
        let _ = write!(out, "<p><i>{}</i></p>", esc(n));
    }
    if !j.plan.is_empty() {
        let _ = write!(out, "<h2>Plan</h2><pre>{}</pre>", esc(&j.plan.join("\n")));
    }
    if let Some(a) = &j.aborted {
        let _ =
            write!(out, "<p class=\"fail\">Aborted at {:.0} s: {} (value {:.1})</p>", a.at - t0, esc(&a.name), a.value);
    }
    if !j.measures.is_empty() {
        out.push_str(
            "<h2>Figures</h2><table><tr><th>measure</th><th>value</th><th>bound</th><th>result</th><th>how</th></tr>",
        );
        for m in &j.measures {
            let unit = m.measure.unit();
            let bound = match (m.min, m.max) {
                (Some(a), Some(b)) => format!("{} – {}", fmt_value(Some(a), unit), fmt_value(Some(b), unit)),
                (Some(a), None) => format!("≥ {}", fmt_value(Some(a), unit)),
                (None, Some(b)) => format!("≤ {}", fmt_value(Some(b), unit)),
                _ => String::new(),
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                serde_json::to_value(m.measure).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
                fmt_value(m.value, unit),
                bound,
                if m.passed { "pass" } else { "fail" },
                if m.passed { "pass" } else { "fail" },
                esc(&m.detail)
            );
        }
        out.push_str("</table>");
    }
    // Charts.
    let spans: Vec<(f64, f64, String)> = fault_spans(j);
    let mut by_second: std::collections::BTreeMap<i64, (f64, f64, Vec<f64>)> = Default::default();
    for s in &j.samples {
        let e = by_second.entry((s.sent_at - t0).floor() as i64).or_default();
        if s.ok() {
            e.0 += 1.0;
        } else {
            e.1 += 1.0;
        }
        e.2.push(s.latency_ms);
    }
    if !by_second.is_empty() {
        let ok: Vec<(f64, f64)> = by_second.iter().map(|(k, v)| (*k as f64, v.0)).collect();
        let failed: Vec<(f64, f64)> = by_second.iter().map(|(k, v)| (*k as f64, v.1)).collect();
        let p99: Vec<(f64, f64)> = by_second
            .iter()
            .map(|(k, v)| {
                let mut l = v.2.clone();
                l.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                (*k as f64, l[((l.len() as f64 * 0.99).ceil() as usize).clamp(1, l.len()) - 1])
            })
            .collect();
        out.push_str(
            "<h2>Service level indicators</h2><p>Shaded: faults in place. Time from the start of the load.</p>",
        );
        out.push_str(
            &Chart {
                title: "Client requests per second",
                unit: "req/s",
                series: vec![("succeeded", "#1a7f37", ok), ("failed", "#c62828", failed)],
                spans: &spans,
            }
            .svg(),
        );
        out.push_str(
            &Chart { title: "Client p99 latency", unit: "ms", series: vec![("p99", "#1f6feb", p99)], spans: &spans }
                .svg(),
        );
    }
    if !j.series.is_empty() {
        let pts = |f: &dyn Fn(&crate::journal::SeriesPoint) -> Option<f64>| -> Vec<(f64, f64)> {
            j.series.iter().filter_map(|p| f(p).map(|v| (p.t - t0, v))).collect()
        };
        out.push_str(
            &Chart {
                title: "Replicas",
                unit: "count",
                series: vec![
                    ("desired", "#6f42c1", pts(&|p| Some(p.desired as f64))),
                    ("ready", "#1a7f37", pts(&|p| Some(p.ready as f64))),
                    ("running", "#999", pts(&|p| Some(p.active as f64))),
                ],
                spans: &spans,
            }
            .svg(),
        );
        out.push_str(
            &Chart {
                title: "CPU of the replicas (mean, of the request)",
                unit: "%",
                series: vec![("cpu", "#d97706", pts(&|p| p.cpu_percent_of_request))],
                spans: &spans,
            }
            .svg(),
        );
        out.push_str(
            &Chart {
                title: "Server-side API 5xx ratio (Prometheus, 10 s)",
                unit: "ratio",
                series: vec![("5xx ratio", "#c62828", pts(&|p| p.server_error_ratio))],
                spans: &spans,
            }
            .svg(),
        );
    }
    for (name, probes) in [("before", &j.steady_state.before), ("after", &j.steady_state.after)] {
        if probes.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "<h2>Steady state {name}</h2><table><tr><th>probe</th><th>value</th><th>tolerance</th><th>result</th></tr>"
        );
        for p in probes {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                esc(&p.name),
                p.value.map(fmt_num).unwrap_or_else(|| esc(p.error.as_deref().unwrap_or("-"))),
                esc(&p.tolerance),
                if p.within { "pass" } else { "fail" },
                if p.within { "within" } else { "deviated" }
            );
        }
        out.push_str("</table>");
    }
    if !j.activities.is_empty() {
        out.push_str(
            "<h2>Timeline</h2><table><tr><th>at</th><th>kind</th><th>action</th><th>took</th><th>output</th></tr>",
        );
        for a in &j.activities {
            let _ = write!(
                out,
                "<tr><td>{:.1} s</td><td>{}</td><td>{}</td><td>{:.1} s</td><td class=\"{}\">{}</td></tr>",
                a.start - t0,
                esc(&a.kind),
                esc(&a.name),
                a.end - a.start,
                if a.ok { "" } else { "fail" },
                esc(&a.output)
            );
        }
        out.push_str("</table>");
    }
    let alerts: Vec<_> = j.lab_after.iter().flat_map(|s| s.alerts.iter()).filter(|a| a.at >= t0).collect();
    if !alerts.is_empty() {
        out.push_str(
            "<h2>Alerts delivered by Alertmanager</h2><p>Routed by the project's <code>alerts/alertmanager.yml</code> \
             (grouping waits scaled like the SLO windows).</p>\
             <table><tr><th>at</th><th>alert</th><th>status</th><th>receiver</th></tr>",
        );
        for a in alerts {
            let _ = write!(
                out,
                "<tr><td>{:.0} s</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                a.at - t0,
                esc(&a.alertname),
                esc(&a.status),
                esc(&a.receiver)
            );
        }
        out.push_str("</table>");
    }
    let l = &j.ledger;
    let _ = write!(
        out,
        "<h2>Ledger</h2><p>{} writes acknowledged to the client; {} found in the database; {} lost{}.</p>",
        l.acknowledged,
        l.found,
        l.lost.len(),
        l.error.as_ref().map(|e| format!(" (database not readable: {})", esc(e))).unwrap_or_default()
    );
    if let Some(r) = &j.reminders {
        let outbox: Vec<String> = r.outbox.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let _ = write!(
            out,
            "<h2>Reminders</h2><p>{} reminders fell due ({} while the SMTP relay was down); the relay received {} \
             of them ({} lost, {} duplicate copies, {} other messages). Outbox: {}. {} failed attempts were \
             retried. Waited {:.0} s for the outbox after the load stopped.{}</p>",
            r.due,
            r.due_during_outage,
            r.received,
            r.lost.len(),
            r.duplicates,
            r.unmatched,
            esc(&outbox.join(", ")),
            r.retried_attempts,
            r.waited_seconds,
            r.error.as_ref().map(|e| format!(" Not readable: {}.", esc(e))).unwrap_or_default()
        );
    }
    out.push_str("</html>\n");
    out
}

/// Spans (seconds from the load's start) during which a fault was in place.
fn fault_spans(j: &Journal) -> Vec<(f64, f64, String)> {
    let t0 = j.load_started_at;
    let end = j.method_ended_at.unwrap_or(j.ended_at) - t0;
    j.activities
        .iter()
        .filter(|a| a.kind == "action" && a.ok)
        .map(|a| {
            let revert = j.activities.iter().find(|r| r.kind == "revert" && r.step == a.step).map(|r| r.start - t0);
            let stop = revert.unwrap_or(if a.end - a.start > 1.0 { a.end - t0 } else { a.start - t0 + 1.0 });
            (a.start - t0, stop.min(end.max(stop)), a.name.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_their_series_and_fault_spans() {
        let spans = vec![(2.0, 4.0, "kill-replica".to_string())];
        let svg = Chart {
            title: "t",
            unit: "ms",
            series: vec![("p99", "#000", vec![(0.0, 1.0), (5.0, 3.0)])],
            spans: &spans,
        }
        .svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<polyline") && svg.contains("kill-replica"));
        assert_eq!(nice(7.3), 10.0);
        assert_eq!(nice(0.23), 0.25);
    }

    #[test]
    fn the_report_shows_the_verdict_and_escapes_text() {
        let j = Journal { status: Status::Failed, notes: vec!["<b>".into()], ..Default::default() };
        let h = html(&j);
        assert!(h.contains("FAILED") && h.contains("&lt;b&gt;"));
    }
}
