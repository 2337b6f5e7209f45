//! Typed configuration: built-in defaults, then an optional TOML file, then the
//! environment (`TM_*`, plus the conventional `DATABASE_URL`), then command-line flags.
//! Later sources win. Secrets are `SecretString`, so `Debug` and logs never show them,
//! and each secret can also be read from a file (`*_FILE`) as Kubernetes mounts them.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use figment::{
    providers::{Env, Format, Serialized, Toml},
    Figment,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON lines when standard error is not a terminal, human-readable when it is.
    #[default]
    Auto,
    Json,
    Pretty,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS: only for a relay on the same host or inside the cluster (port 25).
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address of the API and web UI listener.
    pub listen: SocketAddr,
    /// When set, `/metrics` is served only on this address.
    pub metrics_listen: Option<SocketAddr>,
    /// Base URL people reach the service at (links in e-mails, CSRF origin check).
    pub public_url: String,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Requests served at once; beyond it new requests get 503 at once (health checks
    /// excepted), so an overload cannot grow memory without bound.
    pub max_concurrent_requests: usize,
    /// Imports (JSON, Todoist, Trello) converted and written at once; beyond it 503
    /// with `Retry-After`, so imports cannot take every core or the database writer.
    pub max_concurrent_imports: usize,
    /// Once the first bytes of a request arrive, its headers must be complete within
    /// this time, or the connection is closed (slow-header clients hold no descriptor).
    #[serde(with = "humantime_serde")]
    pub http_header_read_timeout: Duration,
    /// A kept-alive connection with no request for this long is closed. Longer than the
    /// load balancer's idle timeout (60 s on an ALB), so the balancer closes first.
    #[serde(with = "humantime_serde")]
    pub http_idle_timeout: Duration,
    /// Connections open at once on the API listener; beyond it new connections wait
    /// to be accepted. Keep it below the process's descriptor limit.
    pub http_max_connections: usize,
    /// After SIGTERM, how long new requests are still served (readiness already 503)
    /// so a load balancer can stop sending before the listener closes.
    #[serde(with = "humantime_serde")]
    pub drain_delay: Duration,
    /// After the listener closes, how long in-flight requests may take to finish.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,

    pub database_url: SecretString,
    /// File holding the database URL (a mounted Kubernetes secret); wins over `database_url`.
    pub database_url_file: Option<PathBuf>,
    pub db_max_connections: u32,
    #[serde(with = "humantime_serde")]
    pub db_acquire_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub db_statement_timeout: Duration,

    pub registration_enabled: bool,
    /// Mark the session cookie `Secure` (serve over HTTPS).
    pub cookie_secure: bool,
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// Failed sign-ins allowed per account from one client address within `login_window`;
    /// past it that address gets 429 for that account. Past it from any addresses, the
    /// account is slowed down (see `login_slowdown`), never locked.
    pub login_max_failures: u32,
    #[serde(with = "humantime_serde")]
    pub login_window: Duration,
    /// Failed sign-ins allowed per client address, across accounts, within `login_window`.
    pub login_address_max_failures: u32,
    /// Once an account has `login_max_failures` failures in the window, one attempt per
    /// this interval is let through, doubling with each further failure...
    #[serde(with = "humantime_serde")]
    pub login_slowdown: Duration,
    /// ...up to this interval: a stranger can slow the owner down, not lock them out.
    #[serde(with = "humantime_serde")]
    pub login_slowdown_max: Duration,
    /// Sign-up attempts accepted per client address within `registration_window`.
    pub registration_max_per_address: u32,
    #[serde(with = "humantime_serde")]
    pub registration_window: Duration,
    /// Proxies in front of the service that append to `X-Forwarded-For` (1 behind an AWS
    /// ALB). The client address is the entry that many places from the right, so a
    /// client cannot choose its own by sending the header. 0: the socket peer.
    pub trusted_proxy_hops: usize,
    /// Deprecated: `true` is read as `trusted_proxy_hops = 1` when that is 0.
    pub trust_forwarded_for: bool,
    /// argon2id hashes computed at once (19 MiB each); 0 means one per CPU core.
    pub password_hashing_concurrency: usize,
    /// How long a sign-in or sign-up waits for a hashing slot before it gets 503.
    #[serde(with = "humantime_serde")]
    pub password_hashing_wait: Duration,
    /// How long a replica may reuse an API token lookup. Changes made through this
    /// replica take effect at once; changes made through another one within this
    /// time. Zero disables the cache.
    #[serde(with = "humantime_serde")]
    pub token_cache_ttl: Duration,

    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info,sqlx=warn`.
    pub log_level: String,
    /// `deployment.environment` on traces and logs.
    pub environment: String,
    /// Availability zone this replica runs in (telemetry and `build_info`).
    pub zone: Option<String>,
    pub pod_name: Option<String>,

    /// Cron schedule (6 fields, seconds first) of the open/overdue task gauges; empty disables.
    pub schedule_metrics_refresh: String,
    /// Cron schedule of the cleanup of expired sessions, tokens and idempotency keys.
    pub schedule_cleanup: String,
    /// Cron schedule of the outbox sender (delivers pending e-mails).
    pub schedule_outbox: String,
    /// Cron schedule of the due-soon reminder scan.
    pub schedule_due_soon: String,
    /// Cron schedule of the daily digest scan (sends those whose local time has come).
    pub schedule_digest: String,
    /// Cron schedule of the SQLite online backup (ignored on PostgreSQL).
    pub schedule_backup: String,
    /// Directory of the SQLite backups.
    pub backup_dir: PathBuf,
    /// Backups kept; older ones are deleted after each backup.
    pub backup_keep: usize,

    /// Largest attachment accepted, in bytes (25 MiB by default).
    pub attachment_max_bytes: u64,
    /// Attachment bytes one account may store in total; 0 for no quota.
    pub attachment_quota_per_user: u64,
    /// Attachment bytes one project may hold in total; 0 for no quota.
    pub attachment_quota_per_project: u64,
    /// How long one upload may take, instead of `request_timeout`: a 25 MiB file over a
    /// slow link needs minutes, not seconds.
    #[serde(with = "humantime_serde")]
    pub attachment_upload_timeout: Duration,
    /// Directory of the local attachment store, used when no S3 bucket is set.
    pub attachments_dir: PathBuf,
    /// S3 bucket of the attachments; when set, files go there instead of `attachments_dir`.
    /// Credentials and region come from the standard AWS environment (IRSA included).
    pub attachments_s3_bucket: Option<String>,
    /// An S3-compatible server to use instead of AWS, e.g. `http://minio:9000`.
    pub attachments_s3_endpoint: Option<String>,

    /// SMTP relay host; without it notifications are recorded as undeliverable.
    pub smtp_host: Option<String>,
    /// Port; defaults to 587 (starttls), 465 (implicit) or 25 (none).
    pub smtp_port: Option<u16>,
    pub smtp_tls: SmtpTls,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<SecretString>,
    /// File holding the SMTP password; wins over `smtp_password`.
    pub smtp_password_file: Option<PathBuf>,
    /// Sender of every e-mail, e.g. `Tasks <tasks@example.com>`.
    pub smtp_from: String,
    #[serde(with = "humantime_serde")]
    pub smtp_timeout: Duration,
    /// Directory whose `<name>.hbs` files replace the built-in e-mail templates.
    pub email_templates_dir: Option<PathBuf>,
    /// Let webhooks reach loopback, private and link-local addresses (only for an
    /// administrator who knows the receiver is inside the network on purpose).
    pub webhook_allow_private_targets: bool,
    /// Time limit of one webhook request.
    #[serde(with = "humantime_serde")]
    pub webhook_timeout: Duration,
    /// Delivery attempts before a notification or webhook delivery is given up.
    pub notify_max_attempts: u32,
    /// First retry delay; doubled per attempt (with jitter) up to `notify_retry_max`.
    #[serde(with = "humantime_serde")]
    pub notify_retry_base: Duration,
    #[serde(with = "humantime_serde")]
    pub notify_retry_max: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: ([127, 0, 0, 1], 8080).into(),
            metrics_listen: None,
            public_url: "http://127.0.0.1:8080".into(),
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 1024,
            max_concurrent_imports: 2,
            http_header_read_timeout: Duration::from_secs(10),
            http_idle_timeout: Duration::from_secs(75),
            http_max_connections: 4096,
            drain_delay: Duration::ZERO,
            shutdown_grace: Duration::from_secs(20),
            database_url: SecretString::from("sqlite://./data/task-manager.db"),
            database_url_file: None,
            db_max_connections: 10,
            db_acquire_timeout: Duration::from_secs(5),
            db_statement_timeout: Duration::from_secs(10),
            registration_enabled: true,
            cookie_secure: false,
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            login_max_failures: 5,
            login_window: Duration::from_secs(15 * 60),
            login_address_max_failures: 20,
            login_slowdown: Duration::from_secs(1),
            login_slowdown_max: Duration::from_secs(60),
            registration_max_per_address: 10,
            registration_window: Duration::from_secs(3600),
            trusted_proxy_hops: 0,
            trust_forwarded_for: false,
            password_hashing_concurrency: 0,
            password_hashing_wait: Duration::from_secs(2),
            token_cache_ttl: Duration::from_secs(5),
            log_format: LogFormat::Auto,
            log_level: "info".into(),
            environment: "development".into(),
            zone: None,
            pod_name: None,
            schedule_metrics_refresh: "*/30 * * * * *".into(),
            schedule_cleanup: "0 17 * * * *".into(),
            schedule_outbox: "*/5 * * * * *".into(),
            schedule_due_soon: "0 * * * * *".into(),
            schedule_digest: "0 */15 * * * *".into(),
            schedule_backup: "0 30 3 * * *".into(),
            backup_dir: PathBuf::from("./data/backups"),
            backup_keep: 7,
            attachment_max_bytes: 25 * 1024 * 1024,
            attachment_upload_timeout: Duration::from_secs(10 * 60),
            attachment_quota_per_user: 2 * 1024 * 1024 * 1024,
            attachment_quota_per_project: 10 * 1024 * 1024 * 1024,
            attachments_dir: PathBuf::from("./data/attachments"),
            attachments_s3_bucket: None,
            attachments_s3_endpoint: None,
            smtp_host: None,
            smtp_port: None,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_password_file: None,
            smtp_from: "task-manager <noreply@localhost>".into(),
            smtp_timeout: Duration::from_secs(10),
            email_templates_dir: None,
            webhook_allow_private_targets: false,
            webhook_timeout: Duration::from_secs(10),
            notify_max_attempts: 10,
            notify_retry_base: Duration::from_secs(30),
            notify_retry_max: Duration::from_secs(3600),
        }
    }
}

/// Values given on the command line; only the ones present override.
#[derive(Debug, Default, Serialize)]
pub struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

impl Config {
    /// Loads the layered configuration. `file` comes from `--config` or `TM_CONFIG`.
    pub fn load(file: Option<&std::path::Path>, flags: FlagOverrides) -> anyhow::Result<Self> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            anyhow::ensure!(path.exists(), "configuration file {} not found", path.display());
            figment = figment.merge(Toml::file(path));
        }
        let figment = figment
            .merge(Env::prefixed("TM_").ignore(&["config"]))
            .merge(Env::raw().only(&["database_url", "database_url_file"]))
            .merge(Serialized::globals(flags));
        let mut config: Config = figment.extract().context("invalid configuration")?;
        if let Some(path) = &config.database_url_file {
            let url = std::fs::read_to_string(path)
                .with_context(|| format!("reading database URL from {}", path.display()))?;
            config.database_url = SecretString::from(url.trim().to_owned());
        }
        if let Some(path) = &config.smtp_password_file {
            let password = std::fs::read_to_string(path)
                .with_context(|| format!("reading the SMTP password from {}", path.display()))?;
            config.smtp_password = Some(SecretString::from(password.trim_end_matches(['\r', '\n']).to_owned()));
        }
        Ok(config)
    }

    /// Proxy hops to trust in `X-Forwarded-For`, honouring the deprecated boolean.
    pub fn proxy_hops(&self) -> usize {
        if self.trusted_proxy_hops == 0 && self.trust_forwarded_for {
            1
        } else {
            self.trusted_proxy_hops
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.expose_secret().starts_with("sqlite:")
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_sqlite_on_loopback() {
        figment::Jail::expect_with(|_| {
            let c = Config::load(None, FlagOverrides::default()).unwrap();
            assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
            assert!(c.is_sqlite());
            assert_eq!(c.shutdown_grace, Duration::from_secs(20));
            Ok(())
        });
    }

    #[test]
    fn environment_beats_file_and_flags_beat_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("tm.toml", "listen = \"127.0.0.1:1000\"\ndb_max_connections = 3\ndrain_delay = \"2s\"")?;
            jail.set_env("TM_LISTEN", "127.0.0.1:2000");
            jail.set_env("TM_DRAIN_DELAY", "5s");
            let c = Config::load(Some("tm.toml".as_ref()), FlagOverrides::default()).unwrap();
            assert_eq!(c.listen.to_string(), "127.0.0.1:2000");
            assert_eq!(c.db_max_connections, 3);
            assert_eq!(c.drain_delay, Duration::from_secs(5));
            let flags = FlagOverrides { listen: Some("127.0.0.1:3000".parse().unwrap()), ..Default::default() };
            let c = Config::load(Some("tm.toml".as_ref()), flags).unwrap();
            assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
            Ok(())
        });
    }

    #[test]
    fn secrets_never_show_in_debug_and_can_come_from_a_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("db-url", "postgres://app:hunter2@db/tm\n")?;
            jail.set_env("DATABASE_URL_FILE", "db-url");
            let c = Config::load(None, FlagOverrides::default()).unwrap();
            assert_eq!(c.database_url.expose_secret(), "postgres://app:hunter2@db/tm");
            assert!(!format!("{c:?}").contains("hunter2"));
            Ok(())
        });
    }
}
