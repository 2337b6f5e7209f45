use super::*;

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments")
}

fn minimal() -> String {
    std::fs::read_to_string(dir().join("01-replica-kill.yaml")).unwrap()
}

fn error_of(text: &str) -> String {
    format!("{:#}", Experiment::parse(text).unwrap_err())
}

#[test]
fn every_drill_of_the_catalogue_has_a_valid_file() {
    let all = load_dir(&dir()).unwrap();
    let ids: Vec<&str> = all.iter().map(|(_, e)| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "replica-kill",
            "zone-loss",
            "zone-partition",
            "database-latency-loss",
            "database-failover",
            "zone-power-interruption",
            "scale-out",
            "scale-out-zone-loss",
            "no-flapping",
            "rolling-restart",
            "smtp-outage"
        ]
    );
    let ci: Vec<&str> =
        all.iter().filter(|(_, e)| e.profiles.iter().any(|p| p == "ci")).map(|(_, e)| e.id.as_str()).collect();
    assert_eq!(ci, ["replica-kill", "database-failover", "scale-out", "rolling-restart"]);
    for (path, e) in &all {
        assert!(
            e.pass.iter().any(|c| c.measure == Measure::LostWrites),
            "{}: no lost-writes criterion",
            path.display()
        );
        assert!(!e.abort.is_empty(), "{}: no abort condition", path.display());
    }
}

#[test]
fn the_issues_pass_criteria_are_in_the_files() {
    let all = load_dir(&dir()).unwrap();
    let bound = |id: &str, m: Measure| {
        let e = &all.iter().find(|(_, e)| e.id == id).unwrap().1;
        let c = e.pass.iter().find(|c| c.measure == m).unwrap();
        (c.min, c.max)
    };
    assert_eq!(bound("replica-kill", Measure::Availability), (Some(0.9999), None));
    assert_eq!(bound("rolling-restart", Measure::Availability), (Some(0.9999), None));
    assert_eq!(bound("zone-loss", Measure::Availability), (Some(0.999), None));
    assert_eq!(bound("database-failover", Measure::WriteRecoverySeconds), (None, Some(30.0)));
    assert_eq!(bound("no-flapping", Measure::EarlyScaleDowns), (None, Some(0.0)));
    assert_eq!(bound("database-latency-loss", Measure::AlertDelaySeconds), (None, Some(180.0)));
}

#[test]
fn durations() {
    assert_eq!(Span::parse("500ms").unwrap().0, Duration::from_millis(500));
    assert_eq!(Span::parse("2m").unwrap().0, Duration::from_secs(120));
    assert_eq!(Span::parse("1.5s").unwrap().0, Duration::from_millis(1500));
    assert!(Span::parse("10").unwrap_err().contains("no unit"));
    assert!(Span::parse("soon").unwrap_err().contains("not a duration"));
    assert_eq!(Span::parse("90s").unwrap().to_string(), "90s");
    assert_eq!(Span::parse("120s").unwrap().to_string(), "2m");
}

#[test]
fn unknown_keys_and_actions_are_refused_by_name() {
    let e = error_of(&minimal().replace("duration: 35s", "duration: 35s\ncolour: red"));
    assert!(e.contains("unknown field `colour`"), "{e}");
    let e = error_of(&minimal().replace("type: kill-replica", "type: kill-everything"));
    assert!(e.contains("unknown variant `kill-everything`"), "{e}");
    let e = error_of(&minimal().replace("duration: 35s", "duration: 35"));
    assert!(e.contains("no unit"), "{e}");
}

#[test]
fn semantic_problems_say_what_and_where() {
    let e = error_of(&minimal().replace("zone: b", "zone: q"));
    assert!(e.contains("method[0] (kill-replica): zone \"q\" is not one of a, b, c"), "{e}");
    let e = error_of(&minimal().replace("at: 8s", "at: 40s"));
    assert!(e.contains("method[0] (kill-replica): ends at 40s which is after the drill's duration 35s"), "{e}");
    let e = error_of(&minimal().replace("min: 0.9999", "min: 99.99"));
    assert!(e.contains("pass[1] (availability): min is a share"), "{e}");
    let e = error_of(&minimal().replace("tolerance: {min: 3}", "tolerance: {}"));
    assert!(e.contains("(ready replicas): tolerance needs min and/or max"), "{e}");
    let e = error_of(&minimal().replace("http: /healthz/ready", "http: healthz"));
    assert!(e.contains("http path \"healthz\" must start with /"), "{e}");
    let e = error_of(&minimal().replace("profiles: [ci, full]", "profiles: [nightly]"));
    assert!(e.contains("profiles[0]: \"nightly\" is not a profile"), "{e}");
    let e = error_of(
        &minimal().replace("{measure: availability, min: 0.9999}", "{measure: availability, min: 0.9999, step: 3}"),
    );
    assert!(e.contains("step 3 does not exist (the method has 1)"), "{e}");
    let e = error_of(&minimal().replace("count: 1", "count: 0"));
    assert!(e.contains("count must be at least 1"), "{e}");
}

#[test]
fn tolerances() {
    let t = Tolerance { min: Some(200.0), max: Some(200.0) };
    assert!(t.holds(200.0) && !t.holds(503.0));
    assert_eq!(t.to_string(), "= 200");
    assert!(Tolerance { min: None, max: Some(0.001) }.holds(0.0));
}
