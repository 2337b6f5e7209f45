//! The test command installs every tool before the first suite that needs it. A fresh
//! machine once failed `cargo test` because `kubernetes-validate` was installed only by
//! the deployment suite, which runs later; the tools folder of a warm machine hid it.
//!
//! `ensure_test_tools` (scripts/lib/tools.sh) is the one up-front list. These checks read
//! the suites and tests: every tool they install with a `scripts/lib/tools.sh` helper, and
//! every program they start by name, must be on that list (or be part of the base system),
//! and scripts/test.sh must install the list before its first suite.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Programs every machine has (Debian's essential and important packages, the toolchain).
const BASE_SYSTEM: &[&str] = &["sh", "bash", "id", "kill", "chmod", "runuser", "ip", "cargo"];
/// The helpers of scripts/lib/tools.sh; `apt_retry` is tests/deploy's retrying wrapper.
const HELPERS: &[&str] = &["apt_retry", "apt", "pip", "pymod", "npm", "cargo_bin", "helm", "chromium"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `ensure_<helper> <first argument>` calls in `text`, as (helper, argument). Helpers
/// without arguments (helm, chromium) give an empty argument; arguments built at run time
/// (`{module}`, `$x`) are left out.
fn ensure_calls(text: &str) -> Vec<(String, String)> {
    let mut calls = Vec::new();
    for (at, _) in text.match_indices("ensure_") {
        let rest = &text[at + "ensure_".len()..];
        let Some(helper) = HELPERS.iter().find(|h| {
            rest.starts_with(**h) && rest[h.len()..].starts_with(|c: char| c.is_whitespace() || c == '"' || c == ';')
        }) else {
            continue;
        };
        let helper = if *helper == "apt_retry" { "apt" } else { helper };
        let after = &rest[rest.find(|c: char| c.is_whitespace() || c == '"' || c == ';').unwrap()..];
        let arg: String = after
            .trim_start_matches([' ', '\t', '"'])
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | ';' | '&' | '\\' | ')'))
            .collect();
        let arg = if matches!(helper, "helm" | "chromium") { String::new() } else { arg };
        if arg.starts_with(['{', '$']) || (arg.is_empty() && !matches!(helper, "helm" | "chromium")) {
            continue;
        }
        calls.push((helper.to_string(), arg));
    }
    calls
}

/// The body of `ensure_test_tools` in scripts/lib/tools.sh.
fn up_front_list() -> String {
    let tools = std::fs::read_to_string(repo().join("scripts/lib/tools.sh")).unwrap();
    let start = tools.find("ensure_test_tools() {").expect("scripts/lib/tools.sh defines ensure_test_tools");
    let body = &tools[start..];
    body[..body.find("\n}").unwrap()].to_string()
}

/// The programs the up-front list makes available: the commands it checks for, and the
/// ones a helper without arguments installs.
fn up_front_programs(calls: &[(String, String)]) -> BTreeSet<String> {
    let mut programs: BTreeSet<String> = calls
        .iter()
        .filter(|(h, _)| matches!(h.as_str(), "apt" | "pip" | "cargo_bin"))
        .map(|(_, cmd)| cmd.clone())
        .collect();
    for (helper, _) in calls {
        match helper.as_str() {
            "helm" => programs.extend(["helm".to_string()]),
            "chromium" => programs.extend(["chromium".to_string(), "chromedriver".to_string()]),
            _ => {}
        }
    }
    programs
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "sh" || e == "py") {
            out.push(path);
        }
    }
}

/// Files scripts/test.sh does not run: the image build is the deployment suite's opt-in
/// full profile (TM_IMAGE_BUILD=1), and this file quotes the patterns it looks for.
const NOT_IN_THE_TEST_COMMAND: &[&str] = &["tests/deploy/image_build.sh", "tests/ops/tools.rs"];

/// What scripts/test.sh runs: its own suites, the Rust tests of every workspace member
/// that has tool-calling tests, and the chaos lab the chaos suite drives.
fn suite_files() -> Vec<PathBuf> {
    let mut files = vec![repo().join("scripts/test.sh")];
    for dir in ["tests", "chaos/tests", "chaos/src/lab"] {
        files_under(&repo().join(dir), &mut files);
    }
    files.retain(|f| !NOT_IN_THE_TEST_COMMAND.iter().any(|n| f.ends_with(n)));
    files
}

/// `Command::new("program")` with a literal program name, and the lab's list of
/// required programs (`for tool in [...]` in chaos/src/lab/mod.rs).
fn started_programs(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .match_indices("Command::new(\"")
        .map(|(at, m)| text[at + m.len()..].split('"').next().unwrap().to_string())
        .collect();
    if let Some(at) = text.find("for tool in [") {
        let list = &text[at + "for tool in [".len()..];
        let list = &list[..list.find(']').unwrap()];
        found.extend(list.split(',').map(|t| t.trim().trim_matches('"').to_string()).filter(|t| !t.is_empty()));
    }
    found
}

#[test]
fn every_tool_a_suite_installs_is_installed_before_the_first_suite() {
    let listed: BTreeSet<(String, String)> = ensure_calls(&up_front_list()).into_iter().collect();
    assert!(listed.len() > 10, "ensure_test_tools lists too little: {listed:?}");
    let mut missing = Vec::new();
    for file in suite_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for call in ensure_calls(&text) {
            if !listed.contains(&call) {
                missing.push(format!("{}: ensure_{} {}", file.strip_prefix(repo()).unwrap().display(), call.0, call.1));
            }
        }
    }
    assert!(missing.is_empty(), "installed by a suite or test but not by ensure_test_tools:\n{}", missing.join("\n"));
}

#[test]
fn every_program_a_test_starts_is_installed_up_front() {
    let programs = up_front_programs(&ensure_calls(&up_front_list()));
    let mut missing = Vec::new();
    for file in suite_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for program in started_programs(&text) {
            if !programs.contains(&program) && !BASE_SYSTEM.contains(&program.as_str()) {
                missing.push(format!("{}: {program}", file.strip_prefix(repo()).unwrap().display()));
            }
        }
    }
    assert!(missing.is_empty(), "started by a test but not installed by ensure_test_tools:\n{}", missing.join("\n"));
}

#[test]
fn the_test_command_installs_the_tools_before_its_first_suite() {
    let script = std::fs::read_to_string(repo().join("scripts/test.sh")).unwrap();
    let install =
        script.lines().position(|l| l.trim() == "ensure_test_tools").expect("scripts/test.sh runs ensure_test_tools");
    let first_suite = script.lines().position(|l| l.starts_with("suite ")).expect("scripts/test.sh runs suites");
    assert!(install < first_suite, "ensure_test_tools runs after the first suite (line {})", first_suite + 1);
}

#[test]
fn the_reader_finds_helper_calls_and_started_programs() {
    let calls = ensure_calls(
        "ensure_apt_retry promtool prometheus\n\"source scripts/lib/tools.sh && ensure_pip kubernetes-validate x\"\n\
         ensure_helm\nfn ensure_chromium() {}\nensure_pymod {module} '{spec}'\n(ensure_apt \"$@\")\n(ensure_pymod aiosmtpd)",
    );
    assert_eq!(
        calls,
        [
            ("apt".into(), "promtool".into()),
            ("pip".into(), "kubernetes-validate".into()),
            ("helm".into(), String::new()),
            ("pymod".into(), "aiosmtpd".into())
        ]
    );
    let started = started_programs("Command::new(\"haproxy\"); for tool in [\"ip\", \"amtool\"] {");
    assert_eq!(started, ["haproxy", "ip", "amtool"]);
}
