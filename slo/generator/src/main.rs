//! `task-manager-slo`: turns the OpenSLO specs in `slo/` into the Prometheus rule file
//! `alerts/slo.rules.yml` (recording rules and multiwindow multi-burn-rate alerts).
//!
//! - `generate` writes the rule file (`--window-scale 1/30 --out DIR/slo.rules.yml` writes
//!   a test-sized copy for end-to-end checks);
//! - `check` exits 1 when the committed file differs from what `generate` would write.

mod duration;
mod rules;
mod spec;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "task-manager-slo", version, about = "Generate Prometheus SLO rules from OpenSLO specs")]
struct Cli {
    /// Directory holding the OpenSLO YAML files.
    #[arg(long, global = true, default_value = "slo")]
    slo_dir: PathBuf,
    /// The generated rule file.
    #[arg(long, global = true, default_value = "alerts/slo.rules.yml")]
    out: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the rule file.
    Generate {
        /// Scale every range, `for:` and interval by this factor (`1/30` turns 1h into 2m)
        /// for end-to-end tests; never commit a scaled file.
        #[arg(long, default_value = "1", value_parser = duration::parse_scale)]
        window_scale: f64,
    },
    /// Exit non-zero when the rule file is missing or stale.
    Check,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("task-manager-slo: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let slos = spec::load_dir(&cli.slo_dir)?;
    rules::validate(&slos)?;
    match cli.command {
        Command::Generate { window_scale } => {
            let text = rules::render(&slos, rules::Options { window_scale });
            if let Some(parent) = cli.out.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&cli.out, text).with_context(|| format!("writing {}", cli.out.display()))?;
            println!("wrote {} ({} SLOs)", cli.out.display(), slos.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            let want = rules::render(&slos, rules::Options::default());
            match stale(&cli.out, &want)? {
                None => {
                    println!("{} is up to date ({} SLOs)", cli.out.display(), slos.len());
                    Ok(ExitCode::SUCCESS)
                }
                Some(why) => {
                    eprintln!(
                        "{} is stale: {why}\nrun `cargo run -p task-manager-slo -- generate` and commit the result",
                        cli.out.display()
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

/// Describes how `path` differs from `want`, or `None` when it is identical.
fn stale(path: &Path, want: &str) -> Result<Option<String>> {
    let have = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some("the file is missing".into())),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if have == want {
        return Ok(None);
    }
    let line = have
        .lines()
        .zip(want.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
    Ok(Some(format!("first difference at line {}", line + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_reports_missing_changed_and_identical_files() {
        let dir = std::env::temp_dir().join(format!("tm-slo-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("rules.yml");
        assert_eq!(stale(&f, "a\n").unwrap().as_deref(), Some("the file is missing"));
        std::fs::write(&f, "a\nb\n").unwrap();
        assert_eq!(stale(&f, "a\nb\n").unwrap(), None);
        assert_eq!(stale(&f, "a\nc\n").unwrap().as_deref(), Some("first difference at line 2"));
        assert_eq!(stale(&f, "a\nb\nc\n").unwrap().as_deref(), Some("first difference at line 3"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
