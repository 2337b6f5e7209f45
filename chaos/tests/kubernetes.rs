//! The Kubernetes target, checked without a cluster: the generated manifests are up to
//! date, every Chaos Mesh object matches the fields the v1alpha1 API documents, and the
//! built-in objects pass `kubernetes-validate` (PyPI; installed by scripts/lib/tools.sh when
//! missing, so this test does not depend on another suite having run first).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use task_manager_chaos::experiment;
use task_manager_chaos::kubernetes::{self, schema, Cluster};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split("\n---\n")
        .filter(|d| d.lines().any(|l| !l.starts_with('#') && !l.trim().is_empty() && l != "---"))
        .map(|d| serde_norway::from_str::<Value>(d.trim_start_matches("---\n")).unwrap())
        .collect()
}

fn chaos_docs() -> Vec<Value> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(root().join("kubernetes")).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap() != "rbac.yaml" {
            all.extend(docs(&p));
        }
    }
    all
}

#[test]
fn the_checked_in_manifests_are_what_the_experiments_generate() {
    let experiments: Vec<_> =
        experiment::load_dir(&root().join("experiments")).unwrap().into_iter().map(|(_, e)| e).collect();
    let tmp = tempfile::tempdir().unwrap();
    let files = kubernetes::generate(&Cluster::default(), &experiments, tmp.path()).unwrap();
    assert_eq!(files.len(), experiments.len() + 1);
    for f in files {
        let name = f.file_name().unwrap();
        let checked_in = std::fs::read_to_string(root().join("kubernetes").join(name)).unwrap_or_default();
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            checked_in,
            "chaos/kubernetes/{} is stale: run `task-manager-chaos kubernetes generate`",
            name.to_string_lossy()
        );
    }
}

#[test]
fn every_chaos_mesh_object_matches_the_documented_api() {
    let all = chaos_docs();
    let mut kinds: Vec<&str> = all.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds, ["NetworkChaos", "PodChaos", "StressChaos"]);
    for d in &all {
        let problems = schema::check(d);
        assert!(problems.is_empty(), "{problems:#?}");
    }
    // Zones are chosen through node selectors on the standard zone label.
    let zoned = all.iter().filter(|d| d.pointer("/spec/selector/nodeSelectors/topology.kubernetes.io~1zone").is_some());
    assert!(zoned.count() >= 4);
}

#[test]
fn the_checker_refuses_what_chaos_mesh_would_refuse() {
    let all = chaos_docs();
    let find = |kind: &str, action: Option<&str>| {
        all.iter().find(|d| d["kind"] == kind && action.is_none_or(|a| d["spec"]["action"] == a)).unwrap().clone()
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut d = find("PodChaos", None);
                d["spec"]["mode"] = "some".into();
                d
            },
            "spec.mode is \"some\", not one of one, all, fixed",
        ),
        (
            {
                let mut d = find("PodChaos", None);
                d["spec"]["action"] = "explode".into();
                d
            },
            "spec.action is \"explode\"",
        ),
        (
            {
                let mut d = find("PodChaos", None);
                d["spec"].as_object_mut().unwrap().remove("selector");
                d
            },
            "spec.selector is required",
        ),
        (
            {
                let mut d = find("NetworkChaos", Some("delay"));
                d["spec"]["duration"] = "20".into();
                d
            },
            "spec.duration is \"20\", not a duration",
        ),
        (
            {
                let mut d = find("NetworkChaos", Some("delay"));
                d["spec"]["delay"].as_object_mut().unwrap().remove("latency");
                d
            },
            "spec.delay.latency is required",
        ),
        (
            {
                let mut d = find("NetworkChaos", Some("loss"));
                d["spec"]["loss"]["loss"] = "ten".into();
                d
            },
            "spec.loss.loss must be a percentage",
        ),
        (
            {
                let mut d = find("NetworkChaos", Some("partition"));
                d["spec"]["direction"] = "sideways".into();
                d
            },
            "spec.direction is \"sideways\"",
        ),
        (
            {
                let mut d = find("NetworkChaos", Some("partition"));
                d["spec"]["colour"] = "red".into();
                d
            },
            "spec.colour is not a field of the NetworkChaos API",
        ),
        (
            {
                let mut d = find("StressChaos", None);
                d["spec"]["stressors"]["cpu"].as_object_mut().unwrap().remove("workers");
                d
            },
            "spec.stressors.cpu.workers is required",
        ),
        (
            {
                let mut d = find("PodChaos", None);
                d["spec"]["mode"] = "fixed".into();
                d
            },
            "spec.value must be a positive integer",
        ),
        (
            {
                let mut d = find("PodChaos", None);
                d["metadata"]["name"] = "Zone_A".into();
                d
            },
            "metadata.name must be a DNS label",
        ),
    ];
    for (doc, expected) in cases {
        let problems = schema::check(&doc).join("\n");
        assert!(problems.contains(expected), "expected {expected:?} in:\n{problems}");
    }
}

/// The validator in the tools' virtual environment, installed there with the project's
/// installer when missing; fails loudly if it cannot be.
fn kubernetes_validate() -> PathBuf {
    let out = Command::new("bash")
        .current_dir(root().parent().unwrap())
        .args(["-c", "source scripts/lib/tools.sh && ensure_pip kubernetes-validate kubernetes-validate && echo \"$TM_VENV/bin/kubernetes-validate\""])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "kubernetes-validate could not be installed with scripts/lib/tools.sh:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The installer's own output comes first; the path is the last line.
    PathBuf::from(String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().trim())
}

#[test]
fn the_built_in_objects_pass_kubernetes_validate() {
    let tool = kubernetes_validate();
    let rbac = root().join("kubernetes/rbac.yaml");
    let out = Command::new(&tool).args(["-k", "1.29.0", "--strict"]).arg(&rbac).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // And it can fail: a Role rule with a misspelt field.
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, std::fs::read_to_string(&rbac).unwrap().replacen("verbs:", "verb:", 1)).unwrap();
    let out = Command::new(&tool).args(["-k", "1.29.0", "--strict"]).arg(&bad).output().unwrap();
    assert!(!out.status.success(), "kubernetes-validate accepted a misspelt field");
}
