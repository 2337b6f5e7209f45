//! The fields the Chaos Mesh `chaos-mesh.org/v1alpha1` API documents for PodChaos,
//! NetworkChaos and StressChaos: required fields, enums (`mode`, `action`, `direction`),
//! duration and percentage formats, and no field it does not know. Used to check the
//! generated manifests without a cluster.

use serde_json::{Map, Value};

pub const MODES: [&str; 5] = ["one", "all", "fixed", "fixed-percent", "random-max-percent"];
pub const POD_ACTIONS: [&str; 3] = ["pod-kill", "pod-failure", "container-kill"];
pub const NETWORK_ACTIONS: [&str; 7] = ["netem", "delay", "loss", "duplicate", "corrupt", "partition", "bandwidth"];
pub const DIRECTIONS: [&str; 3] = ["to", "from", "both"];
const SELECTOR_FIELDS: [&str; 9] = [
    "namespaces",
    "nodes",
    "pods",
    "nodeSelectors",
    "fieldSelectors",
    "labelSelectors",
    "annotationSelectors",
    "podPhaseSelectors",
    "expressionSelectors",
];

/// A Go `time.ParseDuration` string (`30s`, `1m30s`, `100ms`).
pub fn is_go_duration(s: &str) -> bool {
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        if num_len == 0 || rest[..num_len].parse::<f64>().is_err() {
            return false;
        }
        rest = &rest[num_len..];
        let unit =
            ["ns", "us", "µs", "ms", "s", "m", "h"].iter().filter(|u| rest.starts_with(*u)).max_by_key(|u| u.len());
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

fn is_percentage(s: &str) -> bool {
    s.parse::<f64>().is_ok_and(|v| (0.0..=100.0).contains(&v))
}

struct Errors<'a> {
    kind: &'a str,
    name: String,
    list: Vec<String>,
}

impl Errors<'_> {
    fn push(&mut self, msg: String) {
        self.list.push(format!("{} {}: {msg}", self.kind, self.name));
    }

    fn only(&mut self, path: &str, obj: &Map<String, Value>, allowed: &[&str]) {
        for k in obj.keys() {
            if !allowed.contains(&k.as_str()) {
                self.push(format!("{path}.{k} is not a field of the {} API", self.kind));
            }
        }
    }

    fn required(&mut self, path: &str, obj: &Map<String, Value>, fields: &[&str]) {
        for f in fields {
            if !obj.contains_key(*f) {
                self.push(format!("{path}.{f} is required"));
            }
        }
    }

    fn one_of(&mut self, path: &str, v: Option<&Value>, allowed: &[&str]) {
        if let Some(v) = v {
            match v.as_str() {
                Some(s) if allowed.contains(&s) => {}
                _ => self.push(format!("{path} is {v}, not one of {}", allowed.join(", "))),
            }
        }
    }

    fn duration(&mut self, path: &str, v: Option<&Value>) {
        if let Some(v) = v {
            if !v.as_str().is_some_and(is_go_duration) {
                self.push(format!("{path} is {v}, not a duration such as 30s or 1m30s"));
            }
        }
    }

    fn selector(&mut self, path: &str, v: Option<&Value>) {
        let Some(v) = v else { return };
        let Some(sel) = v.as_object() else {
            return self.push(format!("{path} must be an object"));
        };
        self.only(path, sel, &SELECTOR_FIELDS);
        for map in ["nodeSelectors", "labelSelectors", "fieldSelectors", "annotationSelectors"] {
            if let Some(m) = sel.get(map) {
                if !m.as_object().is_some_and(|m| m.values().all(Value::is_string)) {
                    self.push(format!("{path}.{map} must map strings to strings"));
                }
            }
        }
        if let Some(ns) = sel.get("namespaces") {
            if !ns.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
                self.push(format!("{path}.namespaces must be a list of strings"));
            }
        }
    }

    /// `mode`, `value` and `selector`, shared by every kind and by NetworkChaos' target.
    fn pod_selection(&mut self, path: &str, obj: &Map<String, Value>) {
        self.required(path, obj, &["mode", "selector"]);
        self.one_of(&format!("{path}.mode"), obj.get("mode"), &MODES);
        self.selector(&format!("{path}.selector"), obj.get("selector"));
        let mode = obj.get("mode").and_then(Value::as_str).unwrap_or("");
        let value = obj.get("value");
        let value = value.and_then(Value::as_str);
        let positive = value.is_some_and(|v| v.parse::<u32>().is_ok_and(|n| n > 0));
        let percent = value.is_some_and(is_percentage);
        match mode {
            "fixed" if !positive => {
                self.push(format!("{path}.value must be a positive integer as a string for mode fixed"));
            }
            "fixed-percent" | "random-max-percent" if !percent => {
                self.push(format!("{path}.value must be a percentage (0-100) as a string for mode {mode}"));
            }
            _ => {}
        }
    }
}

/// Every problem of one Chaos Mesh object (empty when it matches the documented API).
pub fn check(doc: &Value) -> Vec<String> {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("(no kind)");
    let name = doc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("(no name)").to_string();
    let mut e = Errors { kind, name: name.clone(), list: Vec::new() };
    if doc.get("apiVersion").and_then(Value::as_str) != Some("chaos-mesh.org/v1alpha1") {
        e.push("apiVersion must be chaos-mesh.org/v1alpha1".into());
    }
    let valid_name = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !valid_name {
        e.push("metadata.name must be a DNS label (lowercase letters, digits, dashes; at most 63)".into());
    }
    let Some(spec) = doc.get("spec").and_then(Value::as_object) else {
        e.push("spec is required".into());
        return e.list;
    };
    e.duration("spec.duration", spec.get("duration"));
    e.pod_selection("spec", spec);
    match kind {
        "PodChaos" => {
            e.only(
                "spec",
                spec,
                &["action", "mode", "value", "selector", "containerNames", "gracePeriod", "duration", "remoteCluster"],
            );
            e.required("spec", spec, &["action"]);
            e.one_of("spec.action", spec.get("action"), &POD_ACTIONS);
            if spec.get("action").and_then(Value::as_str) == Some("container-kill")
                && !spec.contains_key("containerNames")
            {
                e.push("spec.containerNames is required for action container-kill".into());
            }
            if let Some(g) = spec.get("gracePeriod") {
                if g.as_i64().is_none_or(|g| g < 0) {
                    e.push("spec.gracePeriod must be a non-negative integer".into());
                }
            }
        }
        "NetworkChaos" => {
            e.only(
                "spec",
                spec,
                &[
                    "action",
                    "mode",
                    "value",
                    "selector",
                    "duration",
                    "direction",
                    "target",
                    "externalTargets",
                    "device",
                    "delay",
                    "loss",
                    "duplicate",
                    "corrupt",
                    "bandwidth",
                    "targetDevice",
                    "remoteCluster",
                ],
            );
            e.required("spec", spec, &["action"]);
            e.one_of("spec.action", spec.get("action"), &NETWORK_ACTIONS);
            e.one_of("spec.direction", spec.get("direction"), &DIRECTIONS);
            if let Some(t) = spec.get("target") {
                match t.as_object() {
                    Some(t) => {
                        e.only("spec.target", t, &["mode", "value", "selector"]);
                        e.pod_selection("spec.target", t);
                    }
                    None => e.push("spec.target must be an object".into()),
                }
            }
            if let Some(x) = spec.get("externalTargets") {
                if !x.as_array().is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string)) {
                    e.push("spec.externalTargets must be a non-empty list of host names or CIDRs".into());
                }
                if spec.get("direction").and_then(Value::as_str) == Some("from") {
                    e.push("spec.externalTargets works only with direction to (or both without a target)".into());
                }
            }
            let action = spec.get("action").and_then(Value::as_str).unwrap_or("");
            match action {
                "delay" => match spec.get("delay").and_then(Value::as_object) {
                    Some(d) => {
                        e.only("spec.delay", d, &["latency", "jitter", "correlation", "reorder"]);
                        e.required("spec.delay", d, &["latency"]);
                        e.duration("spec.delay.latency", d.get("latency"));
                        e.duration("spec.delay.jitter", d.get("jitter"));
                        if d.get("correlation").is_some_and(|c| !c.as_str().is_some_and(is_percentage)) {
                            e.push("spec.delay.correlation must be a percentage string".into());
                        }
                    }
                    None => e.push("spec.delay is required for action delay".into()),
                },
                "loss" => match spec.get("loss").and_then(Value::as_object) {
                    Some(l) => {
                        e.only("spec.loss", l, &["loss", "correlation"]);
                        e.required("spec.loss", l, &["loss"]);
                        for f in ["loss", "correlation"] {
                            if l.get(f).is_some_and(|v| !v.as_str().is_some_and(is_percentage)) {
                                e.push(format!("spec.loss.{f} must be a percentage string (\"10\")"));
                            }
                        }
                    }
                    None => e.push("spec.loss is required for action loss".into()),
                },
                "partition" if !spec.contains_key("target") && !spec.contains_key("externalTargets") => {
                    e.push("a partition needs spec.target or spec.externalTargets".into());
                }
                _ => {}
            }
        }
        "StressChaos" => {
            e.only(
                "spec",
                spec,
                &[
                    "mode",
                    "value",
                    "selector",
                    "stressors",
                    "stressngStressors",
                    "containerNames",
                    "duration",
                    "remoteCluster",
                ],
            );
            match spec.get("stressors").and_then(Value::as_object) {
                Some(s) => {
                    e.only("spec.stressors", s, &["cpu", "memory"]);
                    if let Some(cpu) = s.get("cpu").and_then(Value::as_object) {
                        e.only("spec.stressors.cpu", cpu, &["workers", "load", "options"]);
                        e.required("spec.stressors.cpu", cpu, &["workers"]);
                        if cpu.get("workers").is_some_and(|w| w.as_u64().is_none_or(|w| w < 1)) {
                            e.push("spec.stressors.cpu.workers must be an integer >= 1".into());
                        }
                        if cpu.get("load").is_some_and(|l| l.as_u64().is_none_or(|l| l > 100)) {
                            e.push("spec.stressors.cpu.load must be an integer 0-100".into());
                        }
                    }
                    if let Some(mem) = s.get("memory").and_then(Value::as_object) {
                        e.only("spec.stressors.memory", mem, &["workers", "size", "oomScoreAdj", "options"]);
                        e.required("spec.stressors.memory", mem, &["workers"]);
                    }
                }
                None if spec.contains_key("stressngStressors") => {}
                None => e.push("spec.stressors (or stressngStressors) is required".into()),
            }
        }
        other => e.push(format!("kind {other} is not one this checker knows")),
    }
    e.list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        for ok in ["30s", "1m30s", "100ms", "1.5h", "0s"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "30", "s", "30 s", "1d", "thirty"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }
}
