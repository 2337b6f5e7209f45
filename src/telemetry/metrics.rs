//! The Prometheus registry and every metric the service exports. `docs/metrics.md`
//! documents each one; a test keeps the two in step. Labels take values from small
//! fixed sets only (route templates, operation names, outcomes), never ids or paths.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Request latency buckets: 5 ms … 10 s, including the 200 ms objective.
pub const HTTP_BUCKETS: &[f64] =
    &[0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
/// Database buckets: 0.5 ms … 5 s, including the 50 ms database objective.
pub const DB_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

pub struct Metrics {
    pub registry: Registry,
    /// Unix time (s) the registry was built, at process start: the last success of a
    /// job that has not succeeded yet.
    pub started_at: i64,
    pub http_duration: HistogramVec,
    pub http_requests: IntCounterVec,
    pub http_active: IntGaugeVec,
    pub db_duration: HistogramVec,
    pub db_connections: IntGaugeVec,
    pub db_connections_max: IntGauge,
    pub db_wait: Histogram,
    pub ready: IntGauge,
    pub tasks_created: IntCounter,
    pub tasks_completed: IntCounter,
    pub users_registered: IntCounter,
    pub tasks_open: IntGauge,
    pub tasks_overdue: IntGauge,
    pub login_attempts: IntCounterVec,
    pub job_runs: IntCounterVec,
    pub job_duration: HistogramVec,
    pub job_last_success: IntGaugeVec,
    pub spans_dropped: IntCounter,
    pub emails: IntCounterVec,
    pub email_duration: Histogram,
    pub outbox_pending: IntGauge,
    pub outbox_oldest_age: IntGauge,
    pub notifications_dead: IntGauge,
    pub reminder_delay: Histogram,
    pub reminders: IntCounterVec,
    pub webhook_deliveries: IntCounterVec,
    pub webhook_duration: Histogram,
    pub attachment_uploads: IntCounterVec,
    pub attachment_upload_bytes: IntCounter,
    pub attachment_downloads: IntCounterVec,
    pub attachment_download_bytes: IntCounter,
    pub attachment_orphans_removed: IntCounter,
}

/// Notification kinds and e-mail outcomes: the label values of `task_manager_emails_total`.
pub const EMAIL_KINDS: &[&str] = &["assigned", "due_soon", "digest", "comment"];
pub const EMAIL_OUTCOMES: &[&str] = &["sent", "failed", "undeliverable"];
/// Outcomes of attachment uploads and downloads.
pub const UPLOAD_OUTCOMES: &[&str] = &["stored", "too_large", "failed"];
pub const DOWNLOAD_OUTCOMES: &[&str] = &["served", "failed"];
/// Outcomes of due-soon reminders against their objective: the reminder SLI counts
/// `on_time` as good and every other outcome as bad.
pub const REMINDER_OUTCOMES: &[&str] = &["on_time", "late", "missed", "dead", "undeliverable"];

fn reg<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: T) -> T {
    r.register(Box::new(c.clone())).expect("metric names are unique");
    c
}

impl Metrics {
    pub fn new(zone: Option<&str>) -> Self {
        let r = Registry::new();
        let http_labels = &["http_request_method", "http_route", "http_response_status_code"];
        let m = Metrics {
            started_at: crate::domain::now_millis() / 1000,
            http_duration: reg(
                &r,
                HistogramVec::new(
                    HistogramOpts::new("http_server_request_duration_seconds", "Duration of HTTP server requests.")
                        .buckets(HTTP_BUCKETS.to_vec()),
                    http_labels,
                )
                .unwrap(),
            ),
            http_requests: reg(
                &r,
                IntCounterVec::new(Opts::new("http_server_requests_total", "HTTP requests answered."), http_labels)
                    .unwrap(),
            ),
            http_active: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new("http_server_active_requests", "HTTP requests being served."),
                    &["http_request_method"],
                )
                .unwrap(),
            ),
            db_duration: reg(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "db_client_operation_duration_seconds",
                        "Duration of named database operations.",
                    )
                    .buckets(DB_BUCKETS.to_vec()),
                    &["db_operation_name", "outcome"],
                )
                .unwrap(),
            ),
            db_connections: reg(
                &r,
                IntGaugeVec::new(Opts::new("db_client_connections_usage", "Pool connections by state."), &["state"])
                    .unwrap(),
            ),
            db_connections_max: reg(
                &r,
                IntGauge::new("db_client_connections_max", "Largest number of pool connections.").unwrap(),
            ),
            db_wait: reg(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "db_client_connections_wait_duration_seconds",
                        "Time spent waiting for a pool connection.",
                    )
                    .buckets(DB_BUCKETS.to_vec()),
                )
                .unwrap(),
            ),
            ready: reg(&r, IntGauge::new("task_manager_ready", "1 while readiness answers 200.").unwrap()),
            tasks_created: reg(&r, IntCounter::new("task_manager_tasks_created_total", "Tasks created.").unwrap()),
            tasks_completed: reg(
                &r,
                IntCounter::new("task_manager_tasks_completed_total", "Tasks moved to done.").unwrap(),
            ),
            users_registered: reg(
                &r,
                IntCounter::new("task_manager_users_registered_total", "Accounts created.").unwrap(),
            ),
            tasks_open: reg(&r, IntGauge::new("task_manager_tasks_open", "Tasks not done.").unwrap()),
            tasks_overdue: reg(
                &r,
                IntGauge::new("task_manager_tasks_overdue", "Open tasks past their due time.").unwrap(),
            ),
            login_attempts: reg(
                &r,
                IntCounterVec::new(Opts::new("task_manager_login_attempts_total", "Sign-in attempts."), &["outcome"])
                    .unwrap(),
            ),
            job_runs: reg(
                &r,
                IntCounterVec::new(
                    Opts::new("task_manager_job_runs_total", "Scheduled job runs."),
                    &["job", "outcome"],
                )
                .unwrap(),
            ),
            job_duration: reg(
                &r,
                HistogramVec::new(
                    HistogramOpts::new("task_manager_job_duration_seconds", "Duration of scheduled job runs.")
                        .buckets(vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0]),
                    &["job"],
                )
                .unwrap(),
            ),
            job_last_success: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "task_manager_job_last_success_timestamp_seconds",
                        "Unix time of the last successful run.",
                    ),
                    &["job"],
                )
                .unwrap(),
            ),
            spans_dropped: reg(
                &r,
                IntCounter::new("task_manager_otel_spans_dropped_total", "Spans dropped before export.").unwrap(),
            ),
            emails: reg(
                &r,
                IntCounterVec::new(
                    Opts::new("task_manager_emails_total", "E-mails by kind and delivery outcome."),
                    &["kind", "outcome"],
                )
                .unwrap(),
            ),
            email_duration: reg(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new("task_manager_email_send_duration_seconds", "Time to hand one e-mail to SMTP.")
                        .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
                )
                .unwrap(),
            ),
            outbox_pending: reg(
                &r,
                IntGauge::new("task_manager_outbox_pending", "Notifications waiting in the outbox.").unwrap(),
            ),
            outbox_oldest_age: reg(
                &r,
                IntGauge::new(
                    "task_manager_outbox_oldest_pending_age_seconds",
                    "Age of the oldest pending notification.",
                )
                .unwrap(),
            ),
            notifications_dead: reg(
                &r,
                IntGauge::new("task_manager_notifications_dead", "Notifications given up after every attempt.")
                    .unwrap(),
            ),
            reminder_delay: reg(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "task_manager_reminder_delay_seconds",
                        "Due-soon reminders: from their scheduled time to sending.",
                    )
                    .buckets(vec![5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0]),
                )
                .unwrap(),
            ),
            reminders: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "task_manager_reminders_total",
                        "Due-soon reminders by outcome against the 2-minute objective.",
                    ),
                    &["outcome"],
                )
                .unwrap(),
            ),
            webhook_deliveries: reg(
                &r,
                IntCounterVec::new(
                    Opts::new("task_manager_webhook_deliveries_total", "Webhook delivery attempts by outcome."),
                    &["outcome"],
                )
                .unwrap(),
            ),
            webhook_duration: reg(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "task_manager_webhook_delivery_duration_seconds",
                        "Time from sending a webhook request to its answer.",
                    )
                    .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
                )
                .unwrap(),
            ),
            attachment_uploads: reg(
                &r,
                IntCounterVec::new(
                    Opts::new("task_manager_attachment_uploads_total", "Attachment uploads by outcome."),
                    &["outcome"],
                )
                .unwrap(),
            ),
            attachment_upload_bytes: reg(
                &r,
                IntCounter::new("task_manager_attachment_upload_bytes_total", "Bytes of attachments stored.").unwrap(),
            ),
            attachment_downloads: reg(
                &r,
                IntCounterVec::new(
                    Opts::new("task_manager_attachment_downloads_total", "Attachment downloads by outcome."),
                    &["outcome"],
                )
                .unwrap(),
            ),
            attachment_download_bytes: reg(
                &r,
                IntCounter::new("task_manager_attachment_download_bytes_total", "Bytes of attachments served.")
                    .unwrap(),
            ),
            attachment_orphans_removed: reg(
                &r,
                IntCounter::new(
                    "task_manager_attachment_orphans_removed_total",
                    "Attachment files or rows removed by the cleanup sweep.",
                )
                .unwrap(),
            ),
            registry: r,
        };
        let info = IntGaugeVec::new(
            Opts::new("task_manager_build_info", "Build and placement of this replica; always 1."),
            &["version", "commit", "zone"],
        )
        .unwrap();
        info.with_label_values(&[crate::VERSION, crate::GIT_COMMIT, zone.unwrap_or("")]).set(1);
        reg(&m.registry, info);
        #[cfg(target_os = "linux")]
        m.registry
            .register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))
            .expect("process collector registers once");
        // Series with known label values exist from the start, so rates and alerts
        // see a zero instead of nothing.
        for outcome in ["success", "failure", "throttled"] {
            m.login_attempts.with_label_values(&[outcome]).inc_by(0);
        }
        for kind in EMAIL_KINDS {
            for outcome in EMAIL_OUTCOMES {
                m.emails.with_label_values(&[kind, outcome]).inc_by(0);
            }
        }
        for outcome in REMINDER_OUTCOMES {
            m.reminders.with_label_values(&[outcome]).inc_by(0);
        }
        for outcome in ["delivered", "failed", "refused"] {
            m.webhook_deliveries.with_label_values(&[outcome]).inc_by(0);
        }
        for outcome in UPLOAD_OUTCOMES {
            m.attachment_uploads.with_label_values(&[outcome]).inc_by(0);
        }
        for outcome in DOWNLOAD_OUTCOMES {
            m.attachment_downloads.with_label_values(&[outcome]).inc_by(0);
        }
        for state in ["used", "idle"] {
            m.db_connections.with_label_values(&[state]).set(0);
        }
        m
    }

    /// Records one finished HTTP request.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.http_duration.with_label_values(&labels).observe(seconds);
        self.http_requests.with_label_values(&labels).inc();
    }

    /// Registers a job's series before its first run. Its last success starts at the
    /// process start, so `time() - last success` measures staleness from start: a job,
    /// or a whole scheduler, that never runs after a rollout shows as stale instead of
    /// having no series to alert on.
    pub fn declare_job(&self, job: &str) {
        for outcome in ["ok", "error", "skipped"] {
            self.job_runs.with_label_values(&[job, outcome]).inc_by(0);
        }
        self.job_last_success.with_label_values(&[job]).set(self.started_at);
    }

    /// The text exposition served at `/metrics`.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf).expect("text encoding cannot fail");
        String::from_utf8(buf).expect("exposition is UTF-8")
    }
}

/// HTTP methods outside the standard set share one label value, so a client cannot
/// create series by inventing methods.
pub fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "_OTHER",
    }
}
