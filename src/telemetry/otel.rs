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
use tokio::sync::{mpsc, Notify};

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

/// Queue and batch sizes of the span export.
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
        let settings = SpanExportSettings::default();
        let (tx, rx) = mpsc::channel(settings.queue);
        exporter_task =
            Some(tokio::spawn(export_loop(exporter, rx, settings, metrics.spans_dropped.clone(), stop.clone())));
        provider = provider.with_span_processor(BoundedQueue { tx, dropped: metrics.spans_dropped.clone() });
        EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let provider = provider.build();
    let tracer = provider.tracer("task-manager");
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    Ok(TracingGuard { provider, tracer, exporter_task, stop })
}

/// Hands finished spans to the export task without ever waiting.
#[derive(Debug)]
struct BoundedQueue {
    tx: mpsc::Sender<SpanData>,
    dropped: IntCounter,
}

impl SpanProcessor for BoundedQueue {
    fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        if self.tx.try_send(span).is_err() {
            self.dropped.inc();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

async fn export_loop(
    exporter: opentelemetry_otlp::SpanExporter,
    mut rx: mpsc::Receiver<SpanData>,
    settings: SpanExportSettings,
    dropped: IntCounter,
    stop: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(settings.batch);
    let mut stopping = false;
    loop {
        let deadline = tokio::time::sleep(settings.interval);
        tokio::pin!(deadline);
        while batch.len() < settings.batch {
            tokio::select! {
                span = rx.recv() => match span {
                    Some(s) => batch.push(s),
                    None => { stopping = true; break; }
                },
                _ = &mut deadline => break,
                _ = stop.notified() => {
                    stopping = true;
                    while let Ok(s) = rx.try_recv() { batch.push(s); }
                    break;
                }
            }
        }
        if !batch.is_empty() {
            let n = batch.len() as u64;
            let spans = std::mem::replace(&mut batch, Vec::with_capacity(settings.batch));
            match tokio::time::timeout(settings.timeout, exporter.export(spans)).await {
                Ok(Ok(())) => {}
                _ => dropped.inc_by(n),
            }
        }
        if stopping {
            return;
        }
    }
}
