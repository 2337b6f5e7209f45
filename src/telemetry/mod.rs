//! Telemetry: the `tracing` subscriber (JSON lines or pretty), OpenTelemetry trace
//! context for every span, the Prometheus registry (`metrics`) and the HTTP layer that
//! records RED metrics and server spans (`http`).

pub mod http;
pub mod metrics;
mod otel;

use std::io::IsTerminal;

use opentelemetry::trace::TraceContextExt;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};

use crate::config::{Config, LogFormat};
pub use otel::{exporting, SpanExportSettings, TracingGuard};

/// The configured filter, quieting html5ever (the HTML parser under the Markdown
/// sanitiser and the importers): it warns about every malformed tag of user content,
/// so anyone could fill the logs. Its errors still show; a directive naming it in
/// `log_level` wins.
fn log_filter(configured: EnvFilter) -> EnvFilter {
    if configured.to_string().contains("html5ever") {
        return configured;
    }
    configured.add_directive("html5ever=error".parse().expect("a valid directive"))
}

/// Installs the global subscriber. Returns the guard that flushes and shuts the span
/// exporter down when dropped. Call once, from `main`.
pub fn init(config: &Config, metrics: &std::sync::Arc<metrics::Metrics>) -> anyhow::Result<TracingGuard> {
    let guard = otel::init(config, metrics.clone())?;
    let filter = log_filter(EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&config.log_level))?);
    let json = match config.log_format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let fmt = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .fmt_fields(NoSpanFields)
            .event_format(JsonWithTrace)
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer().with_writer(std::io::stderr).boxed()
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(
            // The attributes this layer adds by default (source location, thread, target,
            // busy/idle time) are not in the semantic conventions of server or client
            // spans; each costs an allocation per span and bytes per export, and the
            // busy/idle clock reads run on every poll of an instrumented future.
            tracing_opentelemetry::layer()
                .with_tracer(guard.tracer())
                .with_location(false)
                .with_threads(false)
                .with_target(false)
                .with_tracked_inactivity(false),
        )
        .with(fmt)
        .try_init()?;
    Ok(guard)
}

/// The current span's trace id as 32 hex digits, when a trace is active.
pub fn current_trace_id() -> Option<String> {
    let ctx = tracing::Span::current().context();
    let span = ctx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

fn current_span_id() -> Option<String> {
    let ctx = tracing::Span::current().context();
    let span = ctx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.span_id().to_string())
}

/// Span fields as the fmt layer keeps them: not at all. The layer formats every
/// span's fields when the span opens and on each `record`, for event formats that
/// print them; `JsonWithTrace` does not (lines carry trace and span ids instead), and
/// the formatting cost more than the rest of a cached GET.
struct NoSpanFields;

impl<'writer> tracing_subscriber::fmt::FormatFields<'writer> for NoSpanFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        _writer: tracing_subscriber::fmt::format::Writer<'writer>,
        _fields: R,
    ) -> std::fmt::Result {
        Ok(())
    }
}

/// JSON event format: timestamp, level, target, message and fields, plus the trace and
/// span ids of the request the line belongs to, so logs join traces.
struct JsonWithTrace;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for JsonWithTrace
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = serde_json::Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        let meta = event.metadata();
        let mut line = serde_json::Map::new();
        line.insert("timestamp".into(), chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true).into());
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        if let Some(t) = current_trace_id() {
            line.insert("trace_id".into(), t.into());
        }
        if let Some(s) = current_span_id() {
            line.insert("span_id".into(), s.into());
        }
        line.extend(fields);
        writeln!(writer, "{}", serde_json::Value::Object(line))
    }
}

struct JsonVisitor<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl tracing::field::Visit for JsonVisitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::{layer::SubscriberExt, EnvFilter, Layer};

    struct Targets(Arc<Mutex<Vec<String>>>);

    impl<S: tracing::Subscriber> Layer<S> for Targets {
        fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
            self.0.lock().unwrap().push(event.metadata().target().to_owned());
        }
    }

    #[test]
    fn html5ever_warnings_are_filtered_out() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let filter = super::log_filter(EnvFilter::new("info"));
        let subscriber = tracing_subscriber::registry().with(Targets(seen.clone()).with_filter(filter));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "html5ever::tree_builder", "foster parenting not implemented");
            tracing::error!(target: "html5ever::tree_builder", "a real failure");
            tracing::warn!(target: "task_manager::api", "kept");
        });
        assert_eq!(*seen.lock().unwrap(), ["html5ever::tree_builder", "task_manager::api"]);
    }
}
