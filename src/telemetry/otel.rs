//! OpenTelemetry tracing. Every span gets a W3C trace context (so logs and error
//! bodies carry a trace id even without an exporter). When
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, finished spans go through a bounded queue to a
//! background task that exports them in batches over OTLP (gRPC or HTTP/protobuf): a
//! slow or dead collector costs a dropped span, counted, never a slower request or
//! unbounded memory. With no endpoint, no exporter task exists.

use std::{sync::Arc, time::Duration};

use opentelemetry::{trace::TracerProvider as _, KeyValue};
use opentelemetry_sdk::{
    error::OTelSdkResult,
    trace::{Sampler, SdkTracerProvider, SpanData, SpanExporter, SpanProcessor, Tracer},
    Resource,
};
use prometheus::IntCounter;
use tokio::sync::Notify;

use super::metrics::Metrics;
use crate::config::Config;

static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether spans leave this process. Spans that only exist to be exported (one per
/// database query) are skipped when they do not: building them cost a cached GET about
/// 7 % of its instructions. The request's own span stays, for the trace id in logs and
/// error bodies.
pub fn exporting() -> bool {
    EXPORTING.load(std::sync::atomic::Ordering::Relaxed)
}

/// Queue and batch sizes of the span export, from the standard `OTEL_BSP_*` variables
/// (queue 2048 spans, batches of 512, every second, 5 s export timeout by default).
#[derive(Debug, Clone, Copy)]
pub struct SpanExportSettings {
    pub queue: usize,
    pub batch: usize,
    pub interval: Duration,
    pub timeout: Duration,
}

impl Default for SpanExportSettings {
    fn default() -> Self {
        Self { queue: 2048, batch: 512, interval: Duration::from_secs(1), timeout: Duration::from_secs(5) }
    }
}

impl SpanExportSettings {
    pub fn from_env() -> Self {
        Self::from_vars(env)
    }

    /// Unset, unparsable and zero values keep the default.
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let d = Self::default();
        let number = |name: &str| var(name).and_then(|v| v.trim().parse::<u64>().ok()).filter(|n| *n > 0);
        let queue = number("OTEL_BSP_MAX_QUEUE_SIZE").map_or(d.queue, |n| n as usize);
        Self {
            queue,
            // The specification: a batch larger than the queue is the queue.
            batch: number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE").map_or(d.batch, |n| n as usize).min(queue),
            interval: number("OTEL_BSP_SCHEDULE_DELAY").map_or(d.interval, Duration::from_millis),
            timeout: number("OTEL_BSP_EXPORT_TIMEOUT").map_or(d.timeout, Duration::from_millis),
        }
    }
}

/// Keeps the tracer provider alive; `shutdown` flushes what is queued.
pub struct TracingGuard {
    provider: SdkTracerProvider,
    tracer: Tracer,
    exporter_task: Option<tokio::task::JoinHandle<()>>,
    stop: Arc<Notify>,
}

impl TracingGuard {
    pub fn tracer(&self) -> Tracer {
        self.tracer.clone()
    }

    /// True when spans leave the process (an OTLP endpoint is configured).
    pub fn exporting(&self) -> bool {
        self.exporter_task.is_some()
    }

    /// Exports what is still queued (bounded by the export timeout) and stops.
    pub async fn shutdown(mut self) {
        self.stop.notify_one();
        if let Some(task) = self.exporter_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(6), task).await;
        }
    }
}

impl Drop for TracingGuard {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` as the specification defines them.
fn sampler() -> Sampler {
    let ratio = env("OTEL_TRACES_SAMPLER_ARG").and_then(|a| a.parse::<f64>().ok()).unwrap_or(1.0).clamp(0.0, 1.0);
    match env("OTEL_TRACES_SAMPLER").as_deref() {
        Some("always_on") => Sampler::AlwaysOn,
        Some("always_off") => Sampler::AlwaysOff,
        Some("traceidratio") => Sampler::TraceIdRatioBased(ratio),
        Some("parentbased_always_off") => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        Some("parentbased_traceidratio") => Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio))),
        _ => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
    }
}

fn resource(config: &Config) -> Resource {
    let mut attrs = vec![
        KeyValue::new("service.version", crate::VERSION),
        KeyValue::new("deployment.environment", config.environment.clone()),
        KeyValue::new("deployment.environment.name", config.environment.clone()),
    ];
    if let Some(zone) = &config.zone {
        attrs.push(KeyValue::new("cloud.availability_zone", zone.clone()));
    }
    if let Some(pod) = &config.pod_name {
        attrs.push(KeyValue::new("k8s.pod.name", pod.clone()));
    }
    let mut builder = Resource::builder().with_attributes(attrs);
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read by the builder's
    // detectors; only fill the name when neither gives one.
    let named = env("OTEL_SERVICE_NAME").is_some()
        || env("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|a| a.contains("service.name="));
    if !named {
        builder = builder.with_service_name("task-manager");
    }
    builder.build()
}

pub(super) fn init(config: &Config, metrics: Arc<Metrics>) -> anyhow::Result<TracingGuard> {
    let resource = resource(config);
    let mut provider = SdkTracerProvider::builder().with_sampler(sampler()).with_resource(resource.clone());
    let stop = Arc::new(Notify::new());
    let mut exporter_task = None;
    if env("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some() {
        let protocol = env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .unwrap_or_else(|| "grpc".into());
        let mut exporter = match protocol.as_str() {
            "http/protobuf" => opentelemetry_otlp::SpanExporter::builder().with_http().build()?,
            "grpc" => opentelemetry_otlp::SpanExporter::builder().with_tonic().build()?,
            other => anyhow::bail!("OTEL_EXPORTER_OTLP_PROTOCOL={other} is not supported (use grpc or http/protobuf)"),
        };
        exporter.set_resource(&resource);
        let settings = SpanExportSettings::from_env();
        let queue = Arc::new(SpanQueue::new(settings, metrics.spans_dropped.clone()));
        exporter_task = Some(tokio::spawn(export_loop(exporter, queue.clone(), settings, stop.clone())));
        provider = provider.with_span_processor(BoundedQueue(queue));
        EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let provider = provider.build();
    let tracer = provider.tracer("task-manager");
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    Ok(TracingGuard { provider, tracer, exporter_task, stop })
}

/// Finished spans waiting for export. A request only takes a short lock to append;
/// the export task is woken once per full batch (and by its timer), not per span,
/// which a channel would do.
#[derive(Debug)]
struct SpanQueue {
    spans: std::sync::Mutex<Vec<SpanData>>,
    capacity: usize,
    batch: usize,
    full_batch: Notify,
    dropped: IntCounter,
}

impl SpanQueue {
    fn new(settings: SpanExportSettings, dropped: IntCounter) -> Self {
        Self {
            spans: std::sync::Mutex::new(Vec::with_capacity(settings.batch)),
            capacity: settings.queue,
            batch: settings.batch,
            full_batch: Notify::new(),
            dropped,
        }
    }

    fn push(&self, span: SpanData) {
        let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        if spans.len() >= self.capacity {
            drop(spans);
            self.dropped.inc();
            return;
        }
        spans.push(span);
        let wake = spans.len() == self.batch;
        drop(spans);
        if wake {
            self.full_batch.notify_one();
        }
    }

    /// Everything queued so far.
    fn take(&self) -> Vec<SpanData> {
        std::mem::take(&mut *self.spans.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Hands finished spans to the export task without ever waiting for it.
#[derive(Debug)]
struct BoundedQueue(Arc<SpanQueue>);

impl SpanProcessor for BoundedQueue {
    fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        self.0.push(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Exports a batch when one is full or the interval has passed, whichever comes first;
/// on stop, exports what is left. A failed or timed-out export counts its spans as
/// dropped: they are not retried, so a dead collector cannot grow memory.
async fn export_loop(
    exporter: opentelemetry_otlp::SpanExporter,
    queue: Arc<SpanQueue>,
    settings: SpanExportSettings,
    stop: Arc<Notify>,
) {
    loop {
        let stopping = tokio::select! {
            _ = queue.full_batch.notified() => false,
            _ = tokio::time::sleep(settings.interval) => false,
            _ = stop.notified() => true,
        };
        let mut spans = queue.take();
        while !spans.is_empty() {
            let rest = spans.split_off(spans.len().min(settings.batch));
            let n = spans.len() as u64;
            match tokio::time::timeout(settings.timeout, exporter.export(spans)).await {
                Ok(Ok(())) => {}
                _ => queue.dropped.inc_by(n),
            }
            spans = rest;
        }
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_settings_follow_the_bsp_variables() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let s = SpanExportSettings::from_vars(vars(&[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "400"),
            ("OTEL_BSP_SCHEDULE_DELAY", "250"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "junk"),
        ]));
        assert_eq!((s.queue, s.batch), (100, 100), "a batch is never larger than the queue");
        assert_eq!(s.interval, Duration::from_millis(250));
        assert_eq!(s.timeout, Duration::from_secs(5), "an unparsable value keeps the default");
        let d = SpanExportSettings::from_vars(vars(&[("OTEL_BSP_MAX_QUEUE_SIZE", "0")]));
        assert_eq!((d.queue, d.batch, d.interval), (2048, 512, Duration::from_secs(1)));
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let dropped = IntCounter::new("dropped", "test").unwrap();
        let settings = SpanExportSettings { queue: 3, batch: 2, ..Default::default() };
        let queue = SpanQueue::new(settings, dropped.clone());
        for _ in 0..5 {
            queue.push(span());
        }
        assert_eq!((queue.take().len(), dropped.get()), (3, 2));
        queue.push(span());
        assert_eq!(queue.take().len(), 1, "taking frees the queue");
    }

    fn span() -> SpanData {
        use opentelemetry::trace::{SpanContext, SpanKind, Status};
        SpanData {
            span_context: SpanContext::empty_context(),
            parent_span_id: opentelemetry::trace::SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "test".into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes: vec![],
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        }
    }
}
