use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use task_manager_chaos::experiment::{self, Experiment};
use task_manager_chaos::journal::{Journal, Status};
use task_manager_chaos::kubernetes::{self, Cluster};
use task_manager_chaos::lab::{self, LabConfig};
use task_manager_chaos::{hpa, report, runner};

/// Chaos drills for task-manager: run experiment files against the lab or a cluster.
#[derive(Parser)]
#[command(name = "task-manager-chaos", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Target {
    Lab,
    Kubernetes,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Profile {
    Ci,
    Full,
}

#[derive(clap::Args, Clone)]
struct ClusterArgs {
    /// Namespace of the release.
    #[arg(long, default_value = "task-manager")]
    namespace: String,
    /// Helm release name.
    #[arg(long, default_value = "task-manager")]
    release: String,
    /// Cluster zone names for the experiments' zones a, b and c.
    #[arg(long, value_delimiter = ',', default_value = "eu-west-1a,eu-west-1b,eu-west-1c")]
    zones: Vec<String>,
    /// The database endpoint's host name (NetworkChaos external target).
    #[arg(long, default_value = "task-manager.abcdefghijkl.eu-west-1.rds.amazonaws.com")]
    database_host: String,
    /// The RDS instance identifier (forced failover).
    #[arg(long, default_value = "production-task-manager")]
    database_instance: String,
    /// The SMTP relay's host name.
    #[arg(long, default_value = "email-smtp.eu-west-1.amazonaws.com")]
    smtp_host: String,
}

impl ClusterArgs {
    fn cluster(&self) -> anyhow::Result<Cluster> {
        let zones: [String; 3] =
            self.zones.clone().try_into().map_err(|_| anyhow::anyhow!("--zones needs three names"))?;
        Ok(Cluster {
            namespace: self.namespace.clone(),
            release: self.release.clone(),
            zones,
            database_host: self.database_host.clone(),
            smtp_host: self.smtp_host.clone(),
            database_instance: self.database_instance.clone(),
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Check experiment files (default: every file in chaos/experiments).
    Validate { files: Vec<PathBuf> },
    /// Run one experiment; writes journal.json and report.html into --out.
    Run {
        experiment: PathBuf,
        #[arg(long, value_enum, default_value = "lab")]
        target: Target,
        /// Show what would happen; inject nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        lab_dir: Option<PathBuf>,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Kubernetes target: the service's URL (probes) and the cluster's Prometheus.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base_url: String,
        #[arg(long, default_value = "http://127.0.0.1:9090")]
        prometheus_url: String,
    },
    /// Run every experiment of a profile against the lab; ends with "N passed, M failed".
    Suite {
        #[arg(long, value_enum, default_value = "ci")]
        profile: Profile,
        #[arg(long, default_value = "chaos/reports")]
        out: PathBuf,
        #[arg(long)]
        lab_dir: Option<PathBuf>,
        /// Build the lab first and remove it afterwards.
        #[arg(long)]
        with_lab: bool,
    },
    /// The lab: the whole stack on this machine.
    Lab {
        #[command(subcommand)]
        command: LabCommand,
    },
    /// Chaos Mesh manifests for a cluster.
    Kubernetes {
        #[command(subcommand)]
        command: KubeCommand,
    },
    /// Prints the chart's HPA settings as the lab applies them.
    Hpa {
        #[arg(long, default_value_t = 0.1)]
        time_scale: f64,
    },
}

#[derive(Subcommand)]
enum LabCommand {
    Up {
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Initial replicas (default: the chart's minReplicas).
        #[arg(long)]
        replicas: Option<u32>,
        /// Multiplies the HPA's windows and periods.
        #[arg(long, default_value_t = 0.1)]
        time_scale: f64,
        /// How zones are separated (loopback is the fallback where namespaces are missing).
        #[arg(long, value_enum)]
        network: Option<lab::net::Network>,
    },
    Down {
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    Status {
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    #[command(hide = true)]
    Supervise {
        #[arg(long)]
        dir: PathBuf,
    },
    #[command(hide = true)]
    DbEndpoint {
        #[arg(long)]
        listen: String,
        #[arg(long)]
        state: PathBuf,
    },
    #[command(hide = true)]
    Burn {
        #[arg(long, default_value_t = 100)]
        load: u32,
    },
}

#[derive(Subcommand)]
enum KubeCommand {
    /// Writes chaos/kubernetes/<experiment>.yaml and rbac.yaml (with --check: fails when
    /// the files there differ from what would be generated).
    Generate {
        #[arg(long, default_value = "chaos/kubernetes")]
        out: PathBuf,
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn experiments_dir() -> PathBuf {
    repo_root().join("chaos/experiments")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { files } => {
            let files = if files.is_empty() {
                experiment::load_dir(&experiments_dir())?.into_iter().map(|(p, _)| p).collect()
            } else {
                files
            };
            let mut bad = 0;
            for f in &files {
                match Experiment::load(f) {
                    Ok(e) => println!("ok    {} ({})", f.display(), e.title),
                    Err(e) => {
                        bad += 1;
                        println!("FAIL  {e:#}");
                    }
                }
            }
            anyhow::ensure!(bad == 0, "{bad} invalid experiment file(s)");
        }
        Command::Run { experiment, target, dry_run, out, lab_dir, cluster, base_url, prometheus_url } => {
            let e = Experiment::load(&experiment)?;
            let out = out.unwrap_or_else(|| {
                PathBuf::from("chaos/reports").join(format!("{}-{}", e.id, chrono::Utc::now().format("%Y%m%dT%H%M%S")))
            });
            let lab_dir = lab_dir.unwrap_or_else(lab::default_dir);
            let j = match target {
                Target::Lab => run_lab(&e, &lab_dir, dry_run).await?,
                Target::Kubernetes => {
                    kubernetes::run::run(&e, &cluster.cluster()?, dry_run, &base_url, &prometheus_url).await?
                }
            };
            write_outputs(&j, &out)?;
            let code = summarise(&j, &out);
            std::process::exit(code);
        }
        Command::Suite { profile, out, lab_dir, with_lab } => {
            let lab_dir = lab_dir.unwrap_or_else(lab::default_dir);
            if with_lab {
                lab::up(LabConfig::new(lab_dir.clone(), repo_root())?).await?;
            }
            let name = if profile == Profile::Ci { "ci" } else { "full" };
            let mut passed = 0;
            let mut failed = 0;
            for (_, e) in experiment::load_dir(&experiments_dir())? {
                if !e.profiles.iter().any(|p| p == name) {
                    continue;
                }
                println!("== {} ({})", e.title, e.id);
                let dir = out.join(&e.id);
                match run_lab(&e, &lab_dir, false).await {
                    Ok(j) => {
                        write_outputs(&j, &dir)?;
                        match summarise(&j, &dir) {
                            0 => passed += 1,
                            _ if j.status == Status::Skipped => println!("(skipped, not counted)"),
                            _ => failed += 1,
                        }
                    }
                    Err(err) => {
                        println!("FAIL  {}: {err:#}", e.id);
                        failed += 1;
                    }
                }
            }
            if with_lab {
                lab::down(&lab_dir).await?;
            }
            println!("{passed} passed, {failed} failed");
            std::process::exit(if failed == 0 { 0 } else { 1 });
        }
        Command::Lab { command } => match command {
            LabCommand::Up { dir, replicas, time_scale, network } => {
                let mut cfg = LabConfig::new(dir.unwrap_or_else(lab::default_dir), repo_root())?;
                cfg.replicas = replicas;
                cfg.time_scale = time_scale;
                cfg.network = network.unwrap_or(cfg.network);
                lab::up(cfg).await?;
            }
            LabCommand::Down { dir } => lab::down(&dir.unwrap_or_else(lab::default_dir)).await?,
            LabCommand::Status { dir } => {
                let cfg = LabConfig::load(&dir.unwrap_or_else(lab::default_dir))?;
                lab::print_status(&lab::client_status(&cfg).await.context("the lab's supervisor is not answering")?);
            }
            LabCommand::Supervise { dir } => lab::supervisor::run(LabConfig::load(&dir)?).await?,
            LabCommand::DbEndpoint { listen, state } => lab::proxy::serve(&listen, state).await?,
            LabCommand::Burn { load } => lab::replica::burn(load),
        },
        Command::Kubernetes { command: KubeCommand::Generate { out, check, cluster } } => {
            let experiments: Vec<Experiment> =
                experiment::load_dir(&experiments_dir())?.into_iter().map(|(_, e)| e).collect();
            let cluster = cluster.cluster()?;
            if check {
                let tmp = std::env::temp_dir().join(format!("tm-chaos-k8s-{}", std::process::id()));
                let files = kubernetes::generate(&cluster, &experiments, &tmp)?;
                let mut stale = Vec::new();
                for f in &files {
                    let name = f.file_name().unwrap_or_default();
                    if std::fs::read(f).ok() != std::fs::read(out.join(name)).ok() {
                        stale.push(out.join(name).display().to_string());
                    }
                }
                let _ = std::fs::remove_dir_all(&tmp);
                anyhow::ensure!(
                    stale.is_empty(),
                    "stale (run `task-manager-chaos kubernetes generate`): {}",
                    stale.join(", ")
                );
                println!("{} manifests up to date", files.len());
            } else {
                for f in kubernetes::generate(&cluster, &experiments, &out)? {
                    println!("wrote {}", f.display());
                }
            }
        }
        Command::Hpa { time_scale } => {
            let c = hpa::ChartSettings::from_values_file(&repo_root().join("helm/task-manager/values.yaml"))?;
            println!("{}", serde_json::to_string_pretty(&c)?);
            println!(
                "lab behaviour (x{time_scale}):\n{}",
                serde_json::to_string_pretty(&c.behavior().scaled(time_scale))?
            );
        }
    }
    Ok(())
}

async fn run_lab(e: &Experiment, lab_dir: &Path, dry_run: bool) -> anyhow::Result<Journal> {
    let mut j = Journal {
        experiment: Some(e.clone()),
        target: "lab".into(),
        dry_run,
        started_at: task_manager_chaos::lab::supervisor::now(),
        ..Default::default()
    };
    j.plan = e
        .method
        .iter()
        .map(|s| {
            format!(
                "at {}{}: {}",
                s.at,
                s.lasts.map(|l| format!(" for {l}")).unwrap_or_default(),
                serde_json::to_string(&s.action).unwrap_or_default()
            )
        })
        .collect();
    if dry_run {
        j.notes.push("dry run: no load, no fault; the plan only".into());
        j.ended_at = j.started_at;
        return Ok(j);
    }
    runner::run_lab(e, lab_dir, &mut j).await?;
    Ok(j)
}

fn write_outputs(j: &Journal, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("journal.json"), serde_json::to_vec_pretty(j)?)?;
    std::fs::write(out.join("report.html"), report::html(j))?;
    Ok(())
}

/// Prints the verdict and figures; the exit code is 0 only for a completed drill.
fn summarise(j: &Journal, out: &Path) -> i32 {
    let status = serde_json::to_value(j.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    println!("status: {status}{}", if j.dry_run { " (dry run)" } else { "" });
    for p in &j.plan {
        println!("  plan: {p}");
    }
    for n in &j.notes {
        println!("  note: {n}");
    }
    for m in &j.measures {
        println!(
            "  {} {:?} = {} ({})",
            if m.passed { "pass" } else { "FAIL" },
            m.measure,
            m.value.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into()),
            m.detail
        );
    }
    for a in j.activities.iter().filter(|a| !a.ok) {
        println!("  FAILED {} {}: {}", a.kind, a.name, a.output);
    }
    println!("  journal: {}/journal.json, report: {}/report.html", out.display(), out.display());
    if j.status == Status::Completed {
        0
    } else {
        1
    }
}
