//! The command line: `serve` (default), `migrate`, `user create`, `backup`, `--version`.

use std::{io::IsTerminal, net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc};

use clap::{Parser, Subcommand};

use crate::{
    config::{Config, FlagOverrides, LogFormat},
    lifecycle::shutdown_signal,
    startup::{open_state, Application},
    telemetry::{self, metrics::Metrics},
};

fn long_version() -> &'static str {
    Box::leak(format!("{} (commit {})", crate::VERSION, crate::GIT_COMMIT).into_boxed_str())
}

#[derive(Parser, Debug)]
#[command(name = "task-manager", about = "A multi-user task manager: REST API, web UI and metrics in one binary.", version = long_version())]
struct Cli {
    /// TOML configuration file (settings from the environment and flags win over it).
    #[arg(long, env = "TM_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Address to serve the API and UI on [default: 127.0.0.1:8080].
    #[arg(long, global = true)]
    listen: Option<SocketAddr>,
    /// Separate address for /metrics.
    #[arg(long, global = true)]
    metrics_listen: Option<SocketAddr>,
    /// sqlite://… or postgres://… (prefer the DATABASE_URL environment variable: flags show in `ps`).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// auto, json or pretty.
    #[arg(long, global = true, value_parser = parse_log_format)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Option<Command>,
}

fn parse_log_format(s: &str) -> Result<LogFormat, String> {
    match s {
        "auto" => Ok(LogFormat::Auto),
        "json" => Ok(LogFormat::Json),
        "pretty" => Ok(LogFormat::Pretty),
        _ => Err("expected auto, json or pretty".into()),
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the API, the web UI and the metrics (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Write an online backup of the SQLite database (the service may keep running):
    /// into the backup directory, keeping the newest `backup_keep`, or to `--to`.
    Backup {
        /// Write exactly this file instead (it must not exist).
        #[arg(long)]
        to: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create an account. The password is read from standard input (first line) or
    /// asked for when standard input is a terminal; it is never a flag.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin: bool,
        #[arg(long, default_value = "UTC")]
        time_zone: String,
    },
}

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    let flags = FlagOverrides {
        listen: cli.listen,
        metrics_listen: cli.metrics_listen,
        database_url: cli.database_url.clone(),
        log_format: cli.log_format,
    };
    let config = match Config::load(cli.config.as_deref(), flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("task-manager: {e:#}");
            return ExitCode::from(2);
        }
    };
    let metrics = Arc::new(Metrics::new(config.zone.as_deref()));
    let guard = match telemetry::init(&config, &metrics) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("task-manager: telemetry: {e:#}");
            return ExitCode::from(2);
        }
    };
    tracing::debug!(span_export = guard.exporting(), "telemetry ready");
    if !guard.exporting() {
        tracing::info!("span export off (OTEL_EXPORTER_OTLP_ENDPOINT is not set)");
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config, metrics).await,
        Command::Migrate => migrate(config, metrics).await,
        Command::User { command: UserCommand::Create { email, name, admin, time_zone } } => {
            create_user(config, metrics, &email, &name, admin, &time_zone).await
        }
        Command::Backup { to } => backup(config, metrics, to).await,
    };
    guard.shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "task-manager failed");
            eprintln!("task-manager: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config, metrics: Arc<Metrics>) -> anyhow::Result<()> {
    let app = Application::build(config, metrics).await?;
    tracing::info!(address = %app.local_addr(), metrics = ?app.metrics_addr(), version = crate::VERSION, "serving");
    app.run_until_stopped(shutdown_signal()).await
}

async fn migrate(config: Config, metrics: Arc<Metrics>) -> anyhow::Result<()> {
    let state = open_state(config, metrics).await?;
    state.db.close().await;
    tracing::info!("migrations applied");
    Ok(())
}

async fn backup(config: Config, metrics: Arc<Metrics>, to: Option<PathBuf>) -> anyhow::Result<()> {
    let (dir, keep) = (config.backup_dir.clone(), config.backup_keep);
    let state = open_state(config, metrics).await?;
    let result = match to {
        Some(path) => crate::db::backup::write(&state.db, &path).await.map(|()| path),
        None => crate::db::backup::run(&state.db, &dir, keep).await,
    };
    state.db.close().await;
    println!("backup written to {}", result?.display());
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        anyhow::ensure!(first == second, "the passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

async fn create_user(
    config: Config,
    metrics: Arc<Metrics>,
    email: &str,
    name: &str,
    admin: bool,
    time_zone: &str,
) -> anyhow::Result<()> {
    let password = read_password()?;
    let state = open_state(config, metrics).await?;
    let result = crate::api::auth::create_user(&state, email, &password, name, Some(time_zone), admin).await;
    state.db.close().await;
    match result {
        Ok(user) => {
            println!("created user {} <{}>{}", user.id, user.email, if admin { " (admin)" } else { "" });
            Ok(())
        }
        Err(crate::error::AppError::Unprocessable(errors)) => {
            let msgs: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
            anyhow::bail!("invalid account: {}", msgs.join("; "))
        }
        Err(e) => anyhow::bail!("{e}"),
    }
}
